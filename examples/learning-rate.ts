// Reading and changing hyperparameters mid-run, and the wrappers people train with, on a noisy
// least-squares fit: log the learning rate a schedule gives, cut it by hand, inject b1, skip a
// NaN batch, accumulate gradients. Each claim is checked in the program, which throws if one fails.
//
//   npm run example:learning-rate
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  adam,
  adamw,
  applyIfFinite,
  chain,
  clip,
  clipByGlobalNorm,
  getHyperparam,
  injectHyperparams,
  kernelPath,
  multiSteps,
  reduceOnPlateau,
  setHyperparam,
  sgd,
  trainStep,
  treeDispose,
  valueAndGrad,
  warmupCosineDecaySchedule,
  type GradientTransformation,
  type Params,
} from 'tfjs-optax';

await tf.setBackend('wasm');

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

// y = x . [1, -2, 3] + 0.5 with a little noise; 256 rows, 8 batches of 32.
const X = tf.randomNormal([256, 3], 0, 1, 'float32', 1);
const Y = tf.tidy(() => tf.add(tf.add(tf.matMul(X, tf.tensor2d([1, -2, 3], [3, 1])), 0.5), tf.randomNormal([256, 1], 0, 0.01, 'float32', 2)));
const batch = (k: number) => [tf.slice(X, [32 * (k % 8), 0], [32, 3]), tf.slice(Y, [32 * (k % 8), 0], [32, 1])];
const lossOf = (p: { w: tf.Tensor; b: tf.Tensor }, x: tf.Tensor, y: tf.Tensor) =>
  tf.losses.meanSquaredError(y, tf.add(tf.matMul(x, p.w), p.b)) as tf.Scalar;

/** Trains `steps` steps (from `first` on), calling `each(step, state)` before each; returns the last loss. */
function train<S>(tx: GradientTransformation<S>, params: Params, state: S, first: number, steps: number, each?: (k: number, s: S) => S) {
  let loss = NaN;
  for (let k = first; k < first + steps; k++) {
    if (each) state = each(k, state);
    const [x, y] = batch(k);
    const { value, grads } = valueAndGrad((p: { w: tf.Tensor; b: tf.Tensor }) => lossOf(p, x, y))(params as { w: tf.Tensor; b: tf.Tensor });
    loss = value.dataSync()[0];
    ({ params, state } = trainStep(tx, params, state, grads));
    tf.dispose([x, y, value]);
  }
  return { params, state, loss };
}

const fresh = (): Params => ({ w: tf.zeros([3, 1]), b: tf.zeros([1]) });

// 1. The state holds the learning rate the next step uses: log it, and change it by hand.
const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.1, warmupSteps: 20, decaySteps: 300 });
const tx = chain(clipByGlobalNorm(1), adamw(schedule, { weightDecay: 1e-4 }));
let params = fresh();
let state = tx.init(params);
getHyperparam(state, 'learningRate'); // the rate the next step uses (log it)
const logged: number[] = [];
({ params, state } = train(tx, params, state, 0, 150, (k, s) => {
  logged.push(getHyperparam(s, 'learningRate'));
  if (k % 50 === 0) console.log(`step ${String(k).padStart(3)}: learningRate ${getHyperparam(s, 'learningRate').toFixed(5)}`);
  return s;
}));
check(logged.every((lr, k) => lr === schedule(k)), 'after k updates the state holds schedule(k), on the fused path too');
state = setHyperparam(state, 'learningRate', 1e-4); // a new state; the next step uses 1e-4
const w0 = Array.from((params as { w: tf.Tensor }).w.dataSync());
({ params, state } = train(tx, params, state, 150, 1));
const moved = Math.max(...Array.from((params as { w: tf.Tensor }).w.dataSync()).map((v, i) => Math.abs(v - w0[i])));
check(moved <= 1.1e-4 && moved > 0, `the step after setHyperparam moved w by at most the rate set (${moved.toExponential(2)})`);
check(getHyperparam(state, 'learningRate') === schedule(151), 'then the schedule takes over again');
getHyperparam(state, 'weightDecay'); // any hyperparameter, found anywhere in the state
treeDispose([params, state]);

// 2. Options that are plain numbers can be injected, scheduled and set too.
const injected = injectHyperparams(adamw)({ learningRate: schedule, weightDecay: 1e-2, b1: 0.9 });
params = fresh();
let injectedState = injected.init(params);
({ params, state: injectedState } = train(injected, params, injectedState, 0, 100));
injectedState = setHyperparam(injectedState, 'b1', 0.95); // used from the next update on
({ params, state: injectedState } = train(injected, params, injectedState, 100, 100));
check(getHyperparam(injectedState, 'b1') === 0.95 && kernelPath(injected) === 'wasm-simd', 'injectHyperparams(adamw): b1 set to 0.95, still on the fused kernel');
treeDispose([params, injectedState]);
const clipped = injectHyperparams((h: { lr: number; maxDelta: number }) => chain(clip(h.maxDelta), sgd(h.lr)))({ lr: 0.1, maxDelta: 1 });
params = fresh();
const clippedState = setHyperparam(clipped.init(params), 'maxDelta', 0.5);
check(getHyperparam(clippedState, 'maxDelta') === 0.5 && getHyperparam(clippedState, 'lr') === 0.1, 'a factory of one object: its numbers are hyperparameters too');
treeDispose([params, clippedState]);

// 3. Skip a NaN batch, and accumulate 4 micro-batches per update, still fused.
const robust = applyIfFinite(multiSteps(chain(clipByGlobalNorm(1), adamw(0.05)), { everyK: 4 }), { maxConsecutiveErrors: 5 });
params = fresh();
let s3 = robust.init(params);
const before = tf.memory().numTensors;
let first = NaN;
let last = NaN;
for (let k = 0; k < 400; k++) {
  const [x, y] = batch(k);
  const { value, grads } = valueAndGrad((p: { w: tf.Tensor; b: tf.Tensor }) => lossOf(p, x, y))(params as { w: tf.Tensor; b: tf.Tensor });
  const g = k === 123 ? { w: tf.fill([3, 1], NaN), b: (grads as { b: tf.Tensor }).b } : grads;
  if (k === 123) (grads as { w: tf.Tensor }).w.dispose();
  ({ params, state: s3 } = trainStep(robust, params, s3, g));
  last = value.dataSync()[0];
  if (k === 0) first = last;
  tf.dispose([x, y, value]);
}
check(s3.totalNotfinite === 1 && Number.isFinite(last) && last < first / 1000, `one NaN batch skipped; the loss still fell from ${first.toFixed(2)} to ${last.toExponential(2)}`);
check(tf.memory().numTensors === before, 'tf.memory().numTensors unchanged over 400 wrapped steps');
check(kernelPath(robust) === 'wasm-simd', "applyIfFinite(multiSteps(chain(clip, adamw))) runs the fused kernel");
treeDispose([params, s3]);

// 4. Halve the step when the loss stops improving: reduceOnPlateau reads the loss from extra.value.
const plateau = chain(adam(0.3), reduceOnPlateau({ patience: 5, factor: 0.5, accumulationSize: 8 })); // one evaluation per epoch of 8 batches
params = fresh();
let plateauState = plateau.init(params);
for (let k = 0; k < 480; k++) {
  const [x, y] = batch(k);
  const { value: loss, grads } = valueAndGrad((p: { w: tf.Tensor; b: tf.Tensor }) => lossOf(p, x, y))(params as { w: tf.Tensor; b: tf.Tensor });
  ({ params, state: plateauState } = trainStep(plateau, params, plateauState, grads, { extra: { value: loss } }));
  tf.dispose([x, y, loss]);
}
check(getHyperparam(plateauState, 'scale') < 1, `reduceOnPlateau cut the scale to ${getHyperparam(plateauState, 'scale')} as the epoch loss stalled at adam(0.3)'s noise (best ${getHyperparam(plateauState, 'bestValue').toExponential(2)})`);
treeDispose([params, plateauState, X, Y]);
