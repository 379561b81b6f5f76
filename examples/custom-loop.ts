// A custom training loop over a tfjs-layers model's weights with trainStep: the model does the
// forward pass, tfjs-optax the optimizer step, in place on the model's variables. Saves the
// optimizer state mid-run and shows that resuming from it gives the same weights as going on.
// Run: npm run example:custom-loop
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adam, chain, clipByGlobalNorm, cosineDecaySchedule, loadState, modelParams, saveState, trainStep, treeDispose, valueAndGrad } from 'tfjs-optax';

const STEPS = 600;
const BATCH = 64;

await tf.setBackend('wasm');

// y = sin(3x) + x/2 on [-2, 2], learned by a small MLP.
const xs = tf.tidy(() => tf.reshape(tf.linspace(-2, 2, 512), [512, 1]));
const ys = tf.tidy(() => tf.add(tf.sin(tf.mul(xs, 3)), tf.mul(xs, 0.5)));
const model = tf.sequential();
model.add(tf.layers.dense({ units: 32, inputShape: [1], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
model.add(tf.layers.dense({ units: 32, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));

const params = modelParams(model); // { 'dense_Dense1/kernel': tf.Variable, ... }
const tx = chain(clipByGlobalNorm(1), adam(cosineDecaySchedule({ initValue: 0.03, decaySteps: STEPS, alpha: 0.01 })));
let state = tx.init(params);

/** The batch of step k: every 8th point from offset k % 8, spread over the whole range (reproducible). */
function batch(k: number): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const rows = tf.tensor1d(Array.from({ length: BATCH }, (_, j) => (k % 8) + 8 * j), 'int32');
    return [tf.gather(xs, rows), tf.gather(ys, rows)];
  });
}

function step(k: number): number {
  const [x, y] = batch(k);
  const lossAndGrads = valueAndGrad((_p: typeof params) => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar);
  const { value, grads } = lossAndGrads(params);
  ({ state } = trainStep(tx, params, state, grads)); // writes into the model's variables
  const loss = value.dataSync()[0];
  tf.dispose([x, y, value]);
  return loss;
}

const fullLoss = () => tf.tidy(() => tf.losses.meanSquaredError(ys, model.predict(xs) as tf.Tensor).dataSync()[0]);
console.log(`fitting y = sin(3x) + x/2 with a 1-32-32-1 MLP (tfjs-layers), ${STEPS} steps of batch ${BATCH}, ` +
  `clip + adam with cosine decay; backend ${tf.getBackend()}`);
console.log(`step    0: loss ${fullLoss().toFixed(5)}`);
const tensors = tf.memory().numTensors;
const dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-loop-'));
let snapshot: tf.Tensor[] = [];
for (let k = 0; k < STEPS; k++) {
  step(k);
  if ((k + 1) % 100 === 0) console.log(`step ${String(k + 1).padStart(4)}: loss ${fullLoss().toFixed(5)}`);
  if (k + 1 === STEPS / 2) {
    // A checkpoint: the optimizer state (and, to resume, the weights: model.save does those).
    await saveState(state, `file://${join(dir, 'opt')}`, { params }); // any tfjs IOHandler or URL scheme
    snapshot = model.getWeights().map((w) => tf.clone(w));
  }
}
console.log(`tensors: ${tensors} before the loop, ${tf.memory().numTensors - snapshot.length} after ${STEPS} steps (not counting the weights' snapshot)`);

// Resume from the checkpoint: weights back to step 150, state loaded, the same 150 steps again.
const finalWeights = model.getWeights().map((w) => Array.from(w.dataSync()));
model.setWeights(snapshot);
treeDispose(state);
state = await loadState(tx, params, `file://${join(dir, 'opt')}`); // checked against tx.init(params)
for (let k = STEPS / 2; k < STEPS; k++) step(k);
const same = model.getWeights().every((w, i) => Array.from(w.dataSync()).every((v, j) => Object.is(v, finalWeights[i][j])));
console.log(`resumed from the step-${STEPS / 2} checkpoint and ran to ${STEPS}: ${same ? 'the same weights, bit for bit' : 'DIFFERENT weights'}`);
rmSync(dir, { recursive: true, force: true });
tf.dispose(snapshot);
