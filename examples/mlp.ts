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

const FEATURES = 20;
const CLASSES = 3;
const POINTS = 800;
const HIDDEN = 32;
const BATCH = 64;
const EPOCHS = 30;

/** A small seeded PRNG (mulberry32), so every run sees the same data and initial weights. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * 800 points in 20 dimensions. Each class is a mixture of two Gaussian blobs placed at random,
 * so the classes are not linearly separable and a hidden layer helps.
 */
function makeDataset() {
  const rand = rng(42);
  const blobs = Array.from({ length: CLASSES * 2 }, () => Array.from({ length: FEATURES }, () => 0.6 * gaussian(rand)));
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < POINTS; i++) {
    const label = i % CLASSES;
    const blob = blobs[label * 2 + (rand() < 0.5 ? 0 : 1)];
    xs.push(blob.map((m) => m + gaussian(rand)));
    ys.push(label);
  }
  // Shuffle, then split 80/20.
  const order = xs.map((_, i) => i).sort(() => rand() - 0.5);
  const split = Math.floor(POINTS * 0.8);
  const pick = (idx: number[]) =>
    tf.tidy(() => ({
      x: tf.tensor2d(idx.map((i) => xs[i])),
      y: tf.cast(tf.oneHot(tf.tensor1d(idx.map((i) => ys[i]), 'int32'), CLASSES), 'float32'),
    }));
  return { train: pick(order.slice(0, split)), test: pick(order.slice(split)), trainSize: split };
}

type Mlp = { dense1: { kernel: tf.Tensor; bias: tf.Tensor }; dense2: { kernel: tf.Tensor; bias: tf.Tensor } };

function initMlp(seed: number): Mlp {
  const rand = rng(seed);
  const glorot = (fanIn: number, fanOut: number) =>
    tf.tensor2d(
      Array.from({ length: fanIn }, () => Array.from({ length: fanOut }, () => gaussian(rand) * Math.sqrt(2 / (fanIn + fanOut)))),
    );
  return {
    dense1: { kernel: glorot(FEATURES, HIDDEN), bias: tf.zeros([HIDDEN]) },
    dense2: { kernel: glorot(HIDDEN, CLASSES), bias: tf.zeros([CLASSES]) },
  };
}

function logits(p: Mlp, x: tf.Tensor): tf.Tensor {
  const h = tf.relu(tf.add(tf.matMul(x, p.dense1.kernel), p.dense1.bias));
  return tf.add(tf.matMul(h, p.dense2.kernel), p.dense2.bias);
}

function crossEntropy(p: Mlp, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, logits(p, x)) as tf.Scalar;
}

function accuracy(p: Mlp, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits(p, x), 1), tf.argMax(y, 1)), 'float32')).dataSync()[0]);
}

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
