// The training loop in detail, as the guides show it: the step by hand (update, applyUpdates,
// disposeReplaced), trainStep inside tf.tidy, the learning rate of a toTfOptimizer read and
// changed during model.fit, decoupled weight decay against L2, and which kernel runs. Each claim
// is checked in the program, which throws if one fails.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  adam,
  adamw,
  addDecayedWeights,
  applyUpdates,
  chain,
  disposeReplaced,
  kernelPath,
  setKernelMode,
  sgd,
  toTfOptimizer,
  trainStep,
  treeDispose,
  valueAndGrad,
  warmupCosineDecaySchedule,
} from 'tfjs-optax';

await tf.setBackend('wasm');
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

const x = tf.tensor1d([0, 1, 2, 3]);
const y = tf.tensor1d([-1, 1, 3, 5]); // y = 2x - 1
const lossAndGrads = valueAndGrad((p: { w: tf.Tensor; b: tf.Tensor }) => tf.losses.meanSquaredError(y, tf.add(tf.mul(p.w, x), p.b)) as tf.Scalar);
const tx = adam(0.1);
let params = { w: tf.scalar(0), b: tf.scalar(0) };
let state = tx.init(params);
const start = tf.memory().numTensors;

// The step by hand: nothing is disposed for you.
for (let step = 0; step < 300; step++) {
  const { value, grads } = lossAndGrads(params);
  const [updates, nextState] = tx.update(grads, state, params); // updates are deltas to add
  const nextParams = applyUpdates(params, updates);             // params + updates, new tensors
  disposeReplaced([params, state, updates, grads], [nextParams, nextState]);
  [params, state] = [nextParams, nextState];
  value.dispose();
}
check(tf.memory().numTensors === start, 'the step by hand with disposeReplaced leaves the tensor count as it was');

// trainStep inside tf.tidy: what it returns outlives the tidy, what the tidy made (loss, gradients) does not.
for (let step = 0; step < 300; step++) {
  tf.tidy(() => {
    const { grads } = lossAndGrads(params);
    ({ params, state } = trainStep(tx, params, state, grads));
  });
}
check(tf.memory().numTensors === start && !params.w.isDisposed, 'trainStep inside tf.tidy: the new params and state survive, nothing leaks');
check(Math.abs(params.w.dataSync()[0] - 2) < 1e-3 && Math.abs(params.b.dataSync()[0] + 1) < 1e-3, 'both loops fit y = 2x - 1');
treeDispose([params, state]);

// The learning rate of a toTfOptimizer: read it, log it, change it in a callback.
const xs = tf.randomNormal([64, 4], 0, 1, 'float32', 1);
const ys = tf.sum(xs, 1, true);
const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [4] })] });
const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.05, warmupSteps: 8, decaySteps: 64 });
const optimizer = toTfOptimizer(adamw(schedule, { weightDecay: 1e-4 }));
model.compile({ optimizer, loss: 'meanSquaredError' });
const rates: number[] = [];
await model.fit(xs, ys, { epochs: 4, batchSize: 16, verbose: 0, callbacks: { onEpochEnd: () => void rates.push(optimizer.learningRate) } });
check(rates.every((r, i) => r === schedule(4 * (i + 1))), 'optimizer.learningRate is schedule(k) after k steps');
const fixed = toTfOptimizer(adam(0.05));
model.compile({ optimizer: fixed, loss: 'meanSquaredError' });
const lowerAfterEpoch2 = { onEpochEnd: (epoch: number) => void (epoch === 1 && (fixed.learningRate = 0.01)) };
await model.fit(xs, ys, { epochs: 4, batchSize: 16, verbose: 0, callbacks: lowerAfterEpoch2 });
check(fixed.learningRate === 0.01 && fixed.getHyperparam('learningRate') === 0.01, 'a rate set in a callback stays (a constant rate)');
optimizer.dispose();
fixed.dispose();

// Decoupled weight decay is not L2 with Adam; with SGD the two are the same.
const p = { w: tf.tensor1d([1, -2, 3]) };
const g = { w: tf.tensor1d([0.5, 0.1, -0.2]) };
const firstUpdate = (t: ReturnType<typeof chain>) => Array.from(t.update(g, t.init(p), p)[0].w.dataSync());
const decoupled = adamw(0.1, { weightDecay: 0.01 });        // decoupled: p -= lr * (adamDirection + 0.01 * p)
const l2 = chain(addDecayedWeights(0.01), adam(0.1));        // L2: the decay joins the gradient, then Adam rescales it
const l2Sgd = chain(addDecayedWeights(0.01), sgd(0.1));      // L2 with SGD: the same as decoupled decay, for SGD only
const [a, b, c] = [firstUpdate(chain(decoupled)), firstUpdate(l2), firstUpdate(l2Sgd)];
check(a.some((v, i) => Math.abs(v - b[i]) > 1e-4) && c.every((v, i) => Math.abs(v - -0.1 * ([0.5, 0.1, -0.2][i] + 0.01 * [1, -2, 3][i])) < 1e-6), 'adamw differs from Adam + L2; SGD + L2 is -lr * (g + wd * p)');

// Which kernel runs a step, and how to rule the kernels out.
check(kernelPath(adamw(1e-3)) === 'wasm-simd', "kernelPath(adamw) is 'wasm-simd' on the wasm backend");
setKernelMode('composite');     // rule the kernels out (to compare, or to debug); 'auto' is the default
check(kernelPath(adamw(1e-3)) === 'composite', "setKernelMode('composite'): every step runs as tf ops");
setKernelMode('auto');
