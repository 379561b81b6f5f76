import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import {
  adabelief,
  adamaxw,
  addNoise,
  centralize,
  keepParamsNonnegative,
  nadamw,
  noisySgd,
  scaleByBelief,
  scaleBySign,
  scaleByYogi,
  signSgd,
  signum,
  yogi,
  zeroNans,
  adabound,
  ademamix,
  adopt,
  asgd,
  scaleByAdabound,
  scaleByAdemamix,
  scaleByAdopt,
  scaleByAsgd,
  muon,
  prodigy,
  scaleByMuon,
  scaleByShape,
  adadelta,
  adagrad,
  adam,
  adamax,
  adamw,
  addDecayedWeights,
  amsgrad,
  applyEvery,
  applyIfFinite,
  applyUpdates,
  chain,
  clip,
  clipByGlobalNorm,
  disposeReplaced,
  ema,
  flatten,
  freeze,
  identity,
  injectHyperparams,
  masked,
  multiTransform,
  partition,
  setToZero,
  treeMap,
  lbfgs,
  lion,
  lookahead,
  multiSteps,
  namedChain,
  nadam,
  radam,
  reduceOnPlateau,
  rmsprop,
  scale,
  scaleByAdadelta,
  scaleByAdam,
  scaleByAdamax,
  scaleByAmsgrad,
  scaleByBacktrackingLinesearch,
  scaleByLbfgs,
  scaleByZoomLinesearch,
  scaleByLearningRate,
  scaleByLion,
  scaleByRadam,
  scaleByRms,
  scaleByRss,
  scaleBySchedule,
  scaleByStddev,
  scheduleFree,
  scheduleFreeAdamw,
  scheduleFreeSgd,
  sgd,
  trace,
  rprop,
  scaleByRprop,
  adan,
  scaleByAdan,
  optimisticAdam,
  optimisticGradientDescent,
  scaleByOptimisticGradient,
  scaleByFactoredRms,
  scaleBySm3,
  sm3,
  adafactor,
  polyakSgd,
  scaleByPolyak,
  madgrad,
  scaleByMadgrad,
  acprop,
  scaleByAcprop,
  cocob,
  scaleByCocob,
  dog,
  scaleByDog,
  dowg,
  scaleByDowg,
  dadaptAdamw,
  type GradientTransformation,
  type Params,
} from '../src/index.js';
import {
  adaptiveGradClip,
  clipByBlockRms,
  fromage,
  lamb,
  lars,
  normalizeByUpdateNorm,
  novograd,
  scaleByNovograd,
  scaleByParamBlockNorm,
  scaleByParamBlockRms,
  scaleByTrustRatio,
} from '../src/index.js';
import { collectTensors } from '../src/tree/memory.js';
import { expectBitwiseEqual, stateValues } from './helpers.js';
// The exports that are not a transformation or optimizer: one list, the property suite's.
import { OTHER_EXPORTS } from './properties/registry.js';

// Every transformation and optimizer on a tree holding empty leaves (shapes [0] and [0, 3])
// beside a scalar and a vector: the empty leaves keep their shapes, and the other leaves get
// exactly what they get in a tree without the empty ones. Runs on whichever backend and kernel
// path the suite runs on (scripts/test-paths.mjs reruns this file on cpu and composite).

type AnyTx = GradientTransformation<any>;

/** Passes a constant loss as `extra.value`, for transformations that read it. */
function withLoss(tx: AnyTx): AnyTx {
  return { init: tx.init, update: (u, s, p) => tx.update(u, s, p, { value: 1 }) };
}

/**
 * Passes the extra arguments a line search needs: the loss `f(q) = <grad, q - p> + |q - p|^2 / 2`
 * around the current params `p`, whose gradient at `p` is `grad` and value 0. `grad` is the
 * incoming updates (`sign = 1`: for `lbfgs`, which turns them into a descent direction) or their
 * negation (`sign = -1`: a bare line search, given the direction itself).
 */
function withLineSearch(tx: AnyTx, sign: 1 | -1): AnyTx {
  return {
    init: tx.init,
    update: (u, s, p) => {
      const grad = sign === 1 ? u : treeMap((x) => tf.neg(x), u);
      const valueFn = (q: Params) =>
        tf.tidy(() => {
          const [qs, gs, ps] = [q, grad, p].map((t) => treeMap((x) => x, t) as Record<string, tf.Tensor>);
          const terms = Object.keys(qs).sort().map((k) => {
            const d = tf.sub(qs[k], ps[k]);
            return tf.add(tf.sum(tf.mul(gs[k], d)), tf.mul(0.5, tf.sum(tf.square(d))));
          });
          return tf.addN(terms) as tf.Scalar;
        });
      try {
        return tx.update(u, s, p, { value: 0, grad, valueFn });
      } finally {
        if (sign === -1) tf.dispose(treeLeavesOf(grad));
      }
    },
  };
}
function treeLeavesOf(t: Params): tf.Tensor[] {
  return Object.values(t as Record<string, tf.Tensor>);
}

/** Cases whose updates are zeros on some of the three steps (accumulating, skipping). */
const SOME_ZEROS = new Set(['multiSteps', 'applyEvery', 'setToZero', 'adopt', 'scaleByAdopt']);

/**
 * Cases whose state holds one scalar per leaf (NovoGrad's second moment), so an empty leaf has a
 * state entry with a value: those entries (`a`, `b` beside `c`, `d`) must be 0, and the rest of
 * the state must equal the state without empty leaves.
 */
const PER_LEAF_SCALARS = new Set(['scaleByNovograd', 'novograd']);

/** `value` without the empty leaves' entries; their values are pushed to `dropped`. */
function withoutEmptyEntries(value: unknown, dropped: number[]): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutEmptyEntries(v, dropped));
  if (value === null || typeof value !== 'object' || value instanceof tf.Tensor) return value;
  const obj = value as Record<string, unknown>;
  const leafKeys = 'a' in obj && 'b' in obj && 'c' in obj && 'd' in obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (leafKeys && (k === 'a' || k === 'b')) dropped.push(...stateValues(v));
    else out[k] = withoutEmptyEntries(v, dropped);
  }
  return out;
}

const CASES: Array<[name: string, make: () => AnyTx]> = [
  ['identity', () => identity()],
  ['scale', () => scale(-2)],
  ['scaleByLearningRate', () => scaleByLearningRate(0.1)],
  ['scaleBySchedule', () => scaleBySchedule((count) => 0.5 / (count + 1))],
  ['trace', () => trace({ decay: 0.9 })],
  ['trace nesterov', () => trace({ decay: 0.9, nesterov: true })],
  ['scaleByAdam', () => scaleByAdam()],
  ['scaleByAdam nesterov', () => scaleByAdam({ nesterov: true, epsRoot: 1e-8 })],
  ['scaleByRms', () => scaleByRms()],
  ['scaleByStddev', () => scaleByStddev()],
  ['scaleByRss', () => scaleByRss()],
  ['addDecayedWeights', () => addDecayedWeights(0.1)],
  ['clip', () => clip(0.75)],
  ['clipByGlobalNorm', () => clipByGlobalNorm(1)],
  ['sgd', () => sgd(0.1)],
  ['sgd momentum', () => sgd(0.1, { momentum: 0.9 })],
  ['sgd nesterov', () => sgd(0.1, { momentum: 0.9, nesterov: true })],
  ['adagrad', () => adagrad(0.1)],
  ['rmsprop', () => rmsprop(0.01)],
  ['rmsprop centered', () => rmsprop(0.01, { centered: true })],
  ['rmsprop momentum nesterov', () => rmsprop(0.01, { momentum: 0.9, nesterov: true })],
  ['rmsprop eps outside, bias corrected', () => rmsprop(0.01, { epsInSqrt: false, biasCorrection: true })],
  ['rmsprop centered momentum, bias corrected', () => rmsprop(0.01, { centered: true, momentum: 0.5, biasCorrection: true })],
  ['adam', () => adam(0.01)],
  ['nadam', () => nadam(0.01)],
  ['adamw', () => adamw(0.01, { weightDecay: 0.1 })],
  ['adamax', () => adamax(0.01)],
  ['amsgrad', () => amsgrad(0.01)],
  ['radam', () => radam(0.01)],
  ['adadelta', () => adadelta(1, { weightDecay: 0.1 })],
  ['lion', () => lion(0.01)],
  ['scaleByAdamax', () => scaleByAdamax()],
  ['scaleByAmsgrad', () => scaleByAmsgrad()],
  ['scaleByRadam', () => scaleByRadam()],
  ['scaleByAdadelta', () => scaleByAdadelta()],
  ['scaleByLion', () => scaleByLion()],
  ['chain(clipByGlobalNorm, adamw)', () => chain(clipByGlobalNorm(1), adamw(0.01))],
  ['namedChain(clip, adamw)', () => namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(0.01)])],
  ['injectHyperparams(adamw)', () => injectHyperparams(adamw)({ learningRate: (c: number) => 0.01 / (c + 1), weightDecay: 0.1, b1: 0.8 })],
  ['applyIfFinite(chain(clipByGlobalNorm, adam))', () => applyIfFinite(chain(clipByGlobalNorm(1), adam(0.01)), { maxConsecutiveErrors: 1 })],
  ['multiSteps(adam, 2)', () => multiSteps(adam(0.01), { everyK: 2 })],
  ['applyEvery(sgd, 2)', () => chain(sgd(0.1), applyEvery(2))],
  ['flatten(adam)', () => flatten(adam(0.01))],
  ['flatten(rmsprop centered)', () => flatten(rmsprop(0.01, { centered: true }))],
  ['lookahead(sgd momentum)', () => lookahead(sgd(0.1, { momentum: 0.9 }), { syncPeriod: 2 })],
  ['ema', () => ema({ decay: 0.9 })],
  ['reduceOnPlateau', () => withLoss(chain(sgd(0.1), reduceOnPlateau({ patience: 1 })))],
  ['scheduleFree(sgd)', () => scheduleFree(sgd(0.1), { learningRate: 0.1 })],
  ['scheduleFreeAdamw', () => scheduleFreeAdamw(0.01, { weightDecay: 0.1 })],
  ['scheduleFreeSgd', () => scheduleFreeSgd(0.1)],
  ['masked(adam)', () => masked(adam(0.01), (p: Params) => treeMap((x) => x.rank !== 0, p) as never)],
  ['partition(adam, sgd)', () => partition({ big: adam(0.01), small: sgd(0.1) }, (p: Params) => treeMap((x) => (x.rank === 0 ? 'small' : 'big'), p) as never)],
  ['multiTransform(adam, sgd)', () => multiTransform({ big: adam(0.01), small: sgd(0.1) }, (p: Params) => treeMap((x) => (x.rank === 0 ? 'small' : 'big'), p) as never)],
  ['freeze', () => freeze((p: Params) => treeMap((x) => x.rank === 0, p) as never)],
  ['setToZero', () => setToZero()],
  ['scaleByBelief', () => scaleByBelief()],
  ['scaleByBelief nesterov', () => scaleByBelief({ nesterov: true })],
  ['adabelief', () => adabelief(0.01)],
  ['adabelief weightDecay', () => adabelief(0.01, { weightDecay: 0.1 })],
  ['scaleByYogi', () => scaleByYogi({ epsRoot: 1e-8 })],
  ['yogi', () => yogi(0.01)],
  ['adamaxw', () => adamaxw(0.01, { weightDecay: 0.1 })],
  ['nadamw', () => nadamw(0.01, { weightDecay: 0.1 })],
  ['scaleBySign', () => scaleBySign()],
  ['signSgd', () => signSgd(0.1)],
  ['signum', () => signum(0.1)],
  ['addNoise', () => addNoise({ eta: 0.1, gamma: 0.55, seed: 3 })],
  ['noisySgd', () => noisySgd(0.1, { seed: 5 })],
  ['centralize', () => centralize()],
  ['zeroNans', () => zeroNans()],
  ['keepParamsNonnegative', () => chain(sgd(0.5), keepParamsNonnegative())],
  ['scaleByLbfgs', () => scaleByLbfgs({ memorySize: 2 })],
  ['lbfgs', () => withLineSearch(lbfgs(undefined, { memorySize: 2 }), 1)],
  ['scaleByZoomLinesearch', () => withLineSearch(scaleByZoomLinesearch({ maxLinesearchSteps: 10 }), -1)],
  ['scaleByBacktrackingLinesearch', () => withLineSearch(scaleByBacktrackingLinesearch({ maxBacktrackingSteps: 10, storeGrad: true }), -1)],
  // Optimizer zoo: trust ratio, NovoGrad, block norms
  ['scaleByTrustRatio', () => scaleByTrustRatio()],
  ['lamb', () => lamb(0.01, { weightDecay: 0.1 })],
  ['lars', () => lars(0.1, { weightDecay: 0.1, nesterov: true })],
  ['fromage', () => fromage(0.01)],
  ['scaleByNovograd', () => scaleByNovograd({ weightDecay: 0.1 })],
  ['novograd', () => novograd(0.01)],
  ['normalizeByUpdateNorm', () => normalizeByUpdateNorm()],
  ['clipByBlockRms', () => clipByBlockRms(0.5)],
  ['adaptiveGradClip', () => adaptiveGradClip(0.1)],
  ['scaleByParamBlockNorm', () => scaleByParamBlockNorm()],
  ['scaleByParamBlockRms', () => scaleByParamBlockRms()],
  ['adabound', () => adabound(0.01, { weightDecay: 0.1 })],
  ['scaleByAdabound', () => scaleByAdabound(0.01)],
  ['asgd', () => asgd(0.1, { weightDecay: 0.1, t0: 1 })],
  ['scaleByAsgd', () => scaleByAsgd(0.1, { t0: 0 })],
  ['adopt', () => adopt(0.01)],
  ['adopt nesterov', () => adopt(0.01, { nesterov: true, useClipping: false })],
  ['scaleByAdopt', () => scaleByAdopt()],
  ['ademamix', () => ademamix(0.01, { weightDecay: 0.1 })],
  ['prodigy', () => prodigy(1, { weightDecay: 0.1 })],
  ['prodigy safeguardWarmup, masked decay', () => prodigy(0.5, { safeguardWarmup: true, weightDecay: 0.1, mask: (p: Params) => treeMap((x) => x.rank !== 0, p) as never })],
  ['muon', () => muon(0.01, { weightDecay: 0.1 })],
  ['muon adaptive, consistentRms, dion', () => muon(0.01, { adaptive: true, consistentRms: 0.2, nsCoeffs: 'dion' })],
  ['scaleByMuon', () => masked(scaleByMuon(), (p: Params) => treeMap((x) => x.rank === 2, p) as never)],
  ['scaleByShape', () => masked(scaleByShape(), (p: Params) => treeMap((x) => x.rank === 2, p) as never)],
  ['scaleByAdemamix', () => scaleByAdemamix({ b3: (c: number) => 0.9 + 0.01 * c, alpha: (c: number) => c })],
  // Optimizer zoo: rprop, adan, optimistic gradient, adafactor, sm3, polyak
  ['rprop', () => rprop(0.1)],
  ['scaleByRprop', () => scaleByRprop(0.1)],
  ['adan', () => adan(0.01, { weightDecay: 0.1 })],
  ['scaleByAdan', () => scaleByAdan()],
  ['optimisticGradientDescent', () => optimisticGradientDescent(0.1, { alpha: 0.7, beta: 0.1 })],
  ['optimisticAdam', () => optimisticAdam(0.01)],
  ['scaleByOptimisticGradient', () => scaleByOptimisticGradient()],
  ['scaleByFactoredRms', () => scaleByFactoredRms()],
  ['scaleByFactoredRms factored', () => scaleByFactoredRms({ minDimSizeToFactor: 1 })],
  ['sm3', () => sm3(0.1)],
  ['adafactor', () => adafactor(0.1)],
  ['adafactor momentum, weightDecay, factored', () => adafactor(0.1, { momentum: 0.9, weightDecay: 0.01, minDimSizeToFactor: 1 })],
  ['scaleBySm3', () => scaleBySm3({ b2: 0.9 })],
  ['polyakSgd', () => withLoss(polyakSgd(1, { scaling: 0.5 }))],
  ['scaleByPolyak', () => withLoss(scaleByPolyak({ variant: 'sps+' }))],
  // Optax contrib: madgrad, acprop, cocob, dog, dowg, dadaptAdamw
  ['madgrad', () => madgrad(0.01, { weightDecay: 0.1 })],
  ['scaleByMadgrad', () => scaleByMadgrad(0.01)],
  ['acprop', () => acprop(0.01, { weightDecay: 0.1 })],
  ['scaleByAcprop', () => scaleByAcprop()],
  ['cocob', () => cocob(1, { weightDecay: 0.1 })],
  ['scaleByCocob', () => scaleByCocob()],
  ['dog', () => dog(1, { weightDecay: 0.1 })],
  ['scaleByDog', () => scaleByDog({ initStep: ['learningRate', 0.01] })],
  ['dowg', () => dowg()],
  ['scaleByDowg', () => scaleByDowg()],
  ['dadaptAdamw', () => dadaptAdamw(1, { weightDecay: 0.1 })],
];

/**
 * Step `k`'s tree: `c` a scalar and `d` a vector, varied in sign and size (large enough for
 * clip and clipByGlobalNorm to act), and with `empty`, leaves `a` of shape [0] and `b` of
 * shape [0, 3].
 */
function makeTree(k: number, empty: boolean): Params {
  const c = tf.scalar(3 * Math.cos(1 + k));
  const d = tf.tensor1d([-1 + 0.6 * k, 0.5 * Math.sin(2 + k)]);
  return empty ? { a: tf.zeros([0]), b: tf.zeros([0, 3]), c, d } : { c, d };
}

/**
 * A tree's or state's structure with the shapes of its tensors (numbers, such as counts, as `#`;
 * flags, such as DoG's `isInitStep`, as `?`).
 */
function shapes(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v instanceof tf.Tensor ? v.shape : typeof v === 'number' ? '#' : typeof v === 'boolean' ? '?' : v));
}

/**
 * Three steps of `make()` from the params `makeTree(-1, empty)`: every update's values, the final
 * state's values, and per step whether the update and the new state have the gradients' and
 * the initial state's shapes. Checks that each update creates only the tensors it returns and
 * that, with everything disposed, no tensor is left.
 */
function trajectory(make: () => AnyTx, empty: boolean, perLeafScalars = false) {
  const start = tf.memory().numTensors;
  const tx = make();
  let params = makeTree(-1, empty);
  let state = tx.init(params);
  const stateShapes = shapes(state);
  const updates: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const grads = makeTree(k, empty);
    const inputs = collectTensors([params, state, grads]);
    const before = tf.memory().numTensors;
    const [u, s] = tx.update(grads, state, params);
    const created = [...collectTensors([u, s])].filter((t) => !inputs.has(t)).length;
    expect(tf.memory().numTensors - before, `tensors created by update ${k}`).toBe(created);
    expect(shapes(u), `update ${k}`).toBe(shapes(grads));
    expect(shapes(s), `state after update ${k}`).toBe(stateShapes);
    updates.push(stateValues(u));
    const next = applyUpdates<Params>(params, u);
    disposeReplaced([params, state, grads, u], [next, s]);
    params = next;
    state = s;
  }
  const dropped: number[] = [];
  const finalState = stateValues(perLeafScalars ? withoutEmptyEntries(state, dropped) : state);
  expect(dropped.every((x) => x === 0), 'state entries of the empty leaves are 0').toBe(true);
  disposeReplaced([params, state], []);
  expect(tf.memory().numTensors, 'tensors left after disposing everything').toBe(start);
  return { updates, state: finalState };
}

describe('zero-size leaves', () => {
  it('the list below covers every exported transformation and optimizer', () => {
    const covered = new Set(CASES.map(([name]) => name.split(/[ (]/)[0]));
    const missing = Object.keys(api).filter((name) => !covered.has(name) && !OTHER_EXPORTS.has(name));
    expect(missing).toEqual([]);
  });

  it.each(CASES)('%s keeps their shapes, gives the other leaves what it gives them alone, and leaks nothing', (_name, make) => {
    const withEmpty = trajectory(make, true, PER_LEAF_SCALARS.has(_name.split(/[ (]/)[0]));
    const without = trajectory(make, false);
    withEmpty.updates.forEach((u, k) => {
      expect(u.length).toBe(3);
      if (!SOME_ZEROS.has(_name.split(/[ (]/)[0])) expect(u.some((x) => x !== 0), `update ${k} is not all zeros`).toBe(true);
      expectBitwiseEqual(u, without.updates[k]);
    });
    // zeroNans keeps one flag per leaf, empty leaves included: those come first (keys a, b).
    const state = _name === 'zeroNans' ? withEmpty.state.slice(2) : withEmpty.state;
    expectBitwiseEqual(state, without.state);
  });
});
