// Trains the same 2-layer MLP on a synthetic 3-class problem with eight optimizers and prints
// a table of final train loss and test accuracy. Run: npm run example
// With `-- --state-dtype bfloat16` (or int8), the optimizers that keep moments keep them packed
// (the stateDtype option), to compare the final losses with float32's.
// @tensorflow/tfjs brings tfjs-core with its gradients registered; tfjs-optax needs only tfjs-core.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  adagrad,
  adam,
  adamw,
  chain,
  clipByGlobalNorm,
  rmsprop,
  sgd,
  trainStep,
  treeDispose,
  treeMap,
  valueAndGrad,
  warmupCosineDecaySchedule,
  type GradientTransformation,
  type StateDtype,
} from 'tfjs-optax';
import { accuracy, BATCH, CLASSES, crossEntropy, EPOCHS, FEATURES, HIDDEN, initMlp, makeDataset, POINTS, type Mlp } from './mlp-problem.js';

/** Biases are not decayed: the mask is true for the 2-D kernels only. */
const noBiasMask = (p: Mlp) => treeMap((leaf) => leaf.rank === 2, p);

const dtypeAt = process.argv.indexOf('--state-dtype');
const stateDtype = (dtypeAt >= 0 ? process.argv[dtypeAt + 1] : 'float32') as StateDtype;

const stepsPerEpoch = 10;
const totalSteps = EPOCHS * stepsPerEpoch;

const optimizers: Array<[string, GradientTransformation<any>]> = [
  ['sgd', sgd(0.1)],
  ['momentum', sgd(0.05, { momentum: 0.9, stateDtype })],
  ['nesterov', sgd(0.05, { momentum: 0.9, nesterov: true, stateDtype })],
  ['adagrad', adagrad(0.1)],
  ['rmsprop', rmsprop(3e-3)],
  ['adam', adam(3e-3, { stateDtype })],
  ['adamw', adamw(3e-3, { weightDecay: 1e-2, mask: noBiasMask, stateDtype })],
  [
    'clip+adamw+warmup-cosine',
    chain(
      clipByGlobalNorm(1.0),
      adamw(warmupCosineDecaySchedule({ initValue: 0, peakValue: 1e-2, warmupSteps: 30, decaySteps: totalSteps }), {
        weightDecay: 1e-2,
        mask: noBiasMask,
        stateDtype,
      }),
    ),
  ],
];

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const started = performance.now();
  const data = makeDataset();
  console.log(`backend ${tf.getBackend()}: ${data.trainSize} train / ${POINTS - data.trainSize} test points, ` +
    `${FEATURES} features, ${CLASSES} classes; MLP ${FEATURES}-${HIDDEN}-${CLASSES}, batch ${BATCH}, ${EPOCHS} epochs; ` +
    `moments kept in ${stateDtype}\n`);

  const results: Array<{ name: string; loss: number; acc: number; ms: number }> = [];
  for (const [name, tx] of optimizers) {
    const t0 = performance.now();
    let params = initMlp(7);
    let state = tx.init(params);
    for (let epoch = 1; epoch <= EPOCHS; epoch++) {
      for (let b = 0; b < stepsPerEpoch; b++) {
        const [x, y] = tf.tidy(() => [
          tf.slice(data.train.x, [b * BATCH, 0], [BATCH, FEATURES]),
          tf.slice(data.train.y, [b * BATCH, 0], [BATCH, CLASSES]),
        ]);
        const { value, grads } = valueAndGrad((p: Mlp) => crossEntropy(p, x, y))(params);
        ({ params, state } = trainStep(tx, params, state, grads));
        tf.dispose([x, y, value]);
      }
      if (epoch % 10 === 0) {
        const loss = tf.tidy(() => crossEntropy(params, data.train.x, data.train.y).dataSync()[0]);
        console.log(`  ${name.padEnd(26)} epoch ${String(epoch).padStart(2)}  train loss ${loss.toFixed(4)}`);
      }
    }
    const loss = tf.tidy(() => crossEntropy(params, data.train.x, data.train.y).dataSync()[0]);
    results.push({ name, loss, acc: accuracy(params, data.test.x, data.test.y), ms: performance.now() - t0 });
    treeDispose([params, state]);
  }

  console.log('\n| optimizer                  | train loss | test accuracy | time   |');
  console.log('|----------------------------|-----------:|--------------:|-------:|');
  for (const r of results) {
    console.log(`| ${r.name.padEnd(26)} | ${r.loss.toFixed(4).padStart(10)} | ${(100 * r.acc).toFixed(1).padStart(12)}% | ${(r.ms / 1000).toFixed(1).padStart(5)}s |`);
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s, ${tf.memory().numTensors} tensors alive (the 4 dataset tensors)`);
}

await main();
