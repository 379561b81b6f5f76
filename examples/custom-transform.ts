// Writing your own gradient transformation: a learning rate that the gradients wear down,
//   u = -lr * g,  then  lr <- lr / (1 + c * sqrt(|g|)),
// chained behind clipByGlobalNorm(1) and trained on a least-squares fit. The program checks
// its own claims and throws if one fails. Run: npm run example:custom-transform
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { chain, clipByGlobalNorm, trainStep, treeDispose, treeL2Norm, treeLeaves, treeMap, valueAndGrad, type GradientTransformation } from 'tfjs-optax';

// State is a plain object (tensor trees and JS numbers), so it can be logged, compared and saved.
// `learningRate` is the rate the *next* update will use, under the option's name as in the
// library's own transformations, so getHyperparam(state, 'learningRate') will find it; `count`
// is the number of updates done before this one (0 on the first), as everywhere in tfjs-optax.
interface GradDecayedLrState {
  count: number;
  learningRate: number;
}

/** Bad options fail where they are written, naming the option and the value, as the library's do. */
function checkOption(option: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`gradDecayedLearningRate: option '${option}' must be a finite number >= 0, got ${value}`);
  }
  return value;
}

/**
 * `u = -lr * g`, then `lr <- lr / (1 + c * sqrt(|g|))`, where `|g|` is the global L2 norm of the
 * incoming updates (all leaves together). Defaults: `c = 0.1`. State: `{ count, learningRate }`.
 */
function gradDecayedLearningRate(learningRate: number, { c = 0.1 }: { c?: number } = {}): GradientTransformation<GradDecayedLrState> {
  checkOption('learningRate', learningRate);
  checkOption('c', c);
  return {
    init: () => ({ count: 0, learningRate }),
    // Pure: `grads` and `state` are only read (never disposed, mutated or assigned), and the new
    // state is a new object. tf.tidy disposes every intermediate tensor (the norm, the scalars)
    // and keeps the updates it returns, which the caller now owns.
    update: (grads, state) =>
      tf.tidy(() => {
        // |g| is the global L2 norm: it does not depend on how the parameters are split into
        // leaves, and behind clipByGlobalNorm(maxNorm) it is at most maxNorm, so one step divides
        // the rate by at most 1 + c * sqrt(maxNorm). (The mean of |g| would instead shrink as
        // parameters with small gradients are added.) The rate is a JS number, so the norm is
        // read back from the device, once per step: dataSync waits for the device, which is the
        // price of a rate that can be logged, compared and saved as a plain number.
        const norm = treeL2Norm(grads).dataSync()[0];
        const updates = treeMap((g) => tf.mul(g, -state.learningRate), grads);
        const next = { count: state.count + 1, learningRate: state.learningRate / (1 + c * Math.sqrt(norm)) };
        return [updates, next] as tf.TensorContainer; // tf.tidy's types do not know trees
      }) as [typeof grads, GradDecayedLrState],
  };
}

await tf.setBackend('wasm');
for (const [lr, c] of [[-1, 0.1], [0.1, NaN]]) {
  try {
    gradDecayedLearningRate(lr, { c });
    throw new Error(`gradDecayedLearningRate(${lr}, { c: ${c} }) was accepted`);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    console.log(`RangeError: ${err.message}`);
  }
}

// Least squares: y = 2x - 3 sin(3x) + 0.5 (plus a small wiggle no line can fit) on [-1, 1].
const x = tf.linspace(-1, 1, 64);
const features = tf.tidy(() => tf.stack([x, tf.sin(tf.mul(x, 3))], 1)); // [64, 2]
const y = tf.tidy(() => tf.addN([tf.mul(x, 2), tf.mul(tf.sin(tf.mul(x, 3)), -3), tf.fill([64], 0.5), tf.mul(tf.cos(tf.mul(x, 17)), 0.1)]));
const lossAndGrads = valueAndGrad((p: { w: tf.Tensor; b: tf.Tensor }) =>
  tf.losses.meanSquaredError(y, tf.add(tf.squeeze(tf.matMul(features, tf.reshape(p.w, [2, 1]))), p.b)) as tf.Scalar);

const LR0 = 1;
const C = 0.05;
const STEPS = 100;
const tx = chain(clipByGlobalNorm(1), gradDecayedLearningRate(LR0, { c: C }));
let params = { w: tf.tensor1d([0, 0]), b: tf.scalar(0) };
let state = tx.init(params); // [{}, { count: 0, learningRate: 1 }]: a chain's state is its parts' states

// The first update, checked by hand: u = -LR0 * g * min(1, 1 / |g|) on the raw gradients g, and
// the next rate LR0 / (1 + C * sqrt(min(|g|, 1))), the norm this transformation sees after the clip.
const first = lossAndGrads(params);
const [u0, s1] = tx.update(first.grads, state, params);
const g = treeLeaves(first.grads).map((t) => Array.from(t.dataSync()));
const gNorm = Math.hypot(...g.flat());
const expected = g.map((leaf) => leaf.map((v) => -LR0 * v * Math.min(1, 1 / gNorm)));
const got = treeLeaves(u0).map((t) => Array.from(t.dataSync()));
const firstStepOk = got.every((leaf, i) => leaf.every((v, j) => Math.abs(v - expected[i][j]) <= 1e-6 * Math.abs(expected[i][j]) + 1e-7)) &&
  Math.abs(s1[1].learningRate - LR0 / (1 + C * Math.sqrt(Math.min(gNorm, 1)))) <= 1e-6 && s1[1].count === 1;
treeDispose([first, u0]); // update never frees its inputs: the caller does, here and in trainStep
if (state[1].count !== 0 || state[1].learningRate !== LR0) throw new Error('update changed the state it was given');

console.log(`\nclipByGlobalNorm(1) then gradDecayedLearningRate(${LR0}, { c: ${C} }), ${STEPS} steps; |g| before clipping = ${gNorm.toFixed(3)}`);
const tensors = tf.memory().numTensors;
const losses: number[] = [];
const rates = [state[1].learningRate];
for (let k = 1; k <= STEPS; k++) {
  const { value, grads } = lossAndGrads(params);
  losses.push(value.dataSync()[0]);
  value.dispose();
  const show = k === 1 || k % 10 === 0;
  const norm = show ? tf.tidy(() => treeL2Norm(grads).dataSync()[0]) : 0;
  ({ params, state } = trainStep(tx, params, state, grads)); // frees the old params and the grads
  rates.push(state[1].learningRate);
  if (show) console.log(`step ${String(k).padStart(3)}: loss ${losses[k - 1].toFixed(5)}, |g| ${norm.toExponential(2)}, next learning rate ${rates[k].toFixed(5)}`);
}
const leaked = tf.memory().numTensors - tensors;

const checks: Array<[string, boolean]> = [
  [`the loss fell from ${losses[0].toFixed(5)} to ${losses[STEPS - 1].toFixed(5)}`, losses[STEPS - 1] < losses[0] / 100],
  [`the learning rate never rose, and fell from ${LR0} to ${rates[STEPS].toFixed(5)}`, rates.every((r, i) => i === 0 || r <= rates[i - 1]) && rates[STEPS] < LR0],
  [`tf.memory().numTensors unchanged over the loop (${tensors} before, ${tensors + leaked} after)`, leaked === 0],
  ['the first update equals -lr0 * clipped g, and the next rate lr0 / (1 + c sqrt(|clipped g|)), computed by hand', firstStepOk],
];
for (const [claim, ok] of checks) {
  if (!ok) throw new Error(`check failed: ${claim}`);
  console.log(`ok: ${claim}`);
}
treeDispose([params, x, features, y]);
