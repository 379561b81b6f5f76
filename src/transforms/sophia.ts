import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, GradientTransformation, Params, StateOf, Updates } from '../types.js';
import { flattenFloatTrees, mapFloatLeavesN, missingParams, stateLike } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkOptions, checkRate, checkTransformation } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { Scratch } from '../internal/scratch.js';
import { declareState, subState } from '../internal/state.js';
import { withGradientsRegistered } from '../tree/grad.js';
import { tidy } from '../tree/tidy.js';
import { lossTensor, requireValueFn } from './line-evaluation.js';
import { noiseSeed } from './noise.js';

// Sophia (sophiaH), as optax.contrib.scale_by_sophia with its default Hessian-diagonal estimator,
// hutchinson_estimator_diag_hessian. The estimator takes a Hessian-vector product of
// `extra.valueFn` (tfjs's gradient of a gradient), so neither is element-wise: both run as tf ops
// on every backend.

/**
 * Options of {@link hutchinsonEstimatorDiagHessian}.
 * @group Transform options and states
 */
export interface HutchinsonOptions {
  /** Seed of the random signs, a whole number in [0, 2^32). Default `0`. */
  seed?: number;
}

/**
 * State of {@link hutchinsonEstimatorDiagHessian}.
 * @group Transform options and states
 */
export interface HutchinsonState {
  /** Estimates made so far; the next one draws its signs from `count + 1` (and the seed). */
  count: number;
}

/** Checks a seed as `addNoise` does: a whole number in [0, 2^32). */
function checkSeed(owner: string, value: unknown): number {
  const seed = checkInteger(owner, 'seed', value, 0);
  return checkNumber(owner, 'seed', seed, { max: 2 ** 32 - 1 });
}

/**
 * The Hessian-vector products `H v` of `valueFn` at the leaves `xs` (tree `unflatten`), one per
 * leaf: the gradient of `<grad f(x), v>`, tfjs's gradient of a gradient. New tensors; nothing else
 * is left behind. Throws the error of `withGradientsRegistered` when no gradient is registered.
 */
function hessianVectorProduct(owner: string, valueFn: (params: Params) => tf.Scalar | number, xs: tf.Tensor[], vs: tf.Tensor[], unflatten: (leaves: tf.Tensor[]) => Params): tf.Tensor[] {
  if (xs.length === 0) return [];
  // Differentiated at copies: a valueFn that closes over the params (the same tensors) sees them
  // as constants, not as the variables (tfjs differentiates by tensor identity).
  return withGradientsRegistered(owner, () =>
    tf.grads((...ys: tf.Tensor[]) => {
      const gs = tf.grads((...zs: tf.Tensor[]) => lossTensor(owner, valueFn(unflatten(zs))))(ys);
      return tf.addN(gs.map((g, i) => tf.sum(tf.mul(g, vs[i])))) as tf.Scalar;
    })(xs.map((x) => tf.clone(x))),
  );
}

/**
 * Hutchinson's estimator of the Hessian's diagonal (optax contrib's
 * `hutchinson_estimator_diag_hessian`, Sophia's default): with `f = extra.valueFn` and `r` a
 * vector of random signs (Rademacher, +1 or -1 with probability 1/2 each),
 *
 *     u = r * (H r)        (H the Hessian of f at params; E[u] = diag(H))
 *
 * `H r` is tfjs's gradient of `<grad f(x), r>`, so `valueFn` must return the loss as a scalar
 * tensor computed with tf ops from its argument, and tfjs's gradients must be registered (with
 * `@tensorflow/tfjs-core` alone, import `@tensorflow/tfjs-core/dist/register_all_gradients`; the
 * error says so). The incoming updates are ignored (only their structure is checked). The signs
 * of the `j`-th non-empty leaf at estimate `t = count + 1` are drawn from
 * `tf.randomUniform(shape, 0, 1, 'float32', s)` (`s` mixed from `seed`, `t` and `j`, as
 * {@link addNoise} does), so a run is reproducible from `seed` on every backend and across a
 * checkpoint; the draws are not JAX's. Needs `params` and `extra.valueFn`. Composite (tf ops) on
 * every backend. Default `seed = 0`. State: `{ count }`.
 * @group Transforms
 */
export function hutchinsonEstimatorDiagHessian(options: HutchinsonOptions = {}): GradientTransformation<HutchinsonState> {
  const owner = ownerOr('hutchinsonEstimatorDiagHessian');
  checkOptions(owner, options, ['seed']);
  const seed = checkSeed(owner, options.seed ?? 0);
  return declareState<HutchinsonState>(owner, { count: 'count' }, {
    init: (params) => {
      flattenFloatTrees(owner, ['params'], [params]);
      return { count: 0 };
    },
    update: <U extends Updates>(updates: U, state: HutchinsonState, params?: Params, extra?: ExtraArgs): [U, HutchinsonState] => {
      if (params === undefined) throw missingParams(owner);
      const valueFn = requireValueFn(owner, extra, 'whose Hessian is estimated', `${owner}:`);
      const [[, xs], def] = flattenFloatTrees(owner, ['updates', 'params'], [updates, params]);
      const t = state.count + 1;
      return tidy(() => {
        let j = 0;
        const signs = xs.map((x) => {
          if (x.size === 0) return tf.zerosLike(x);
          const u = tf.randomUniform(x.shape, 0, 1, 'float32', noiseSeed(seed, t, j++));
          return tf.sub(tf.mul(tf.floor(tf.mul(u, tf.scalar(2))), tf.scalar(2)), tf.scalar(1));
        });
        const hv = hessianVectorProduct(owner, valueFn, xs, signs, (leaves) => def.unflatten(leaves) as Params);
        return [def.unflatten(hv.map((h, i) => tf.mul(h, signs[i]))) as U, { count: t }];
      });
    },
  });
}

/**
 * Options of {@link scaleBySophia} (and of `sophia`).
 * @group Transform options and states
 */
export interface ScaleBySophiaOptions {
  /** Decay of the gradient's moving average, in [0, 1). Default `0.965`. */
  b1?: number;
  /** Decay of the Hessian diagonal's moving average, in [0, 1) (per estimate: every `updateInterval` steps). Default `0.99`. */
  b2?: number;
  /** Floor of the denominator `gamma * h`, >= 0. Default `1e-8`. */
  eps?: number;
  /** Multiplies the Hessian diagonal in the denominator, >= 0. Default `0.01`. */
  gamma?: number;
  /** The update is clipped to `[-clipThreshold, clipThreshold]`, a number > 0, or `null` for no clipping. Default `1`. */
  clipThreshold?: number | null;
  /** Steps between Hessian estimates (the first at the first step), a whole number >= 1. Default `10`. */
  updateInterval?: number;
  /**
   * The transformation that estimates the Hessian's diagonal from `(grads, state, params, extra)`.
   * Default: {@link hutchinsonEstimatorDiagHessian} with `seed`.
   */
  hessianDiagonalFn?: GradientTransformation<any>;
  /** Seed of the default estimator's random signs, a whole number in [0, 2^32). Default `0`; not with `hessianDiagonalFn`. */
  seed?: number;
}

/**
 * State of {@link scaleBySophia} (optax's `SophiaState`).
 * @group Transform options and states
 */
export interface ScaleBySophiaState<H = HutchinsonState> {
  /** Updates done so far (a JS number, `0` after `init`). */
  count: number;
  /** The moving average of the gradients. */
  mu: Params;
  /** The moving average of the Hessian-diagonal estimates. */
  nu: Params;
  /** The estimator's state. */
  hessianFnState: H;
}

const SOPHIA_KEYS = ['b1', 'b2', 'eps', 'gamma', 'clipThreshold', 'updateInterval', 'hessianDiagonalFn', 'seed'];

/**
 * Sophia's direction (Liu et al. 2023, "Sophia: A Scalable Stochastic Second-order Optimizer for
 * Language Model Pre-training", arXiv:2305.14342), as optax contrib's `scale_by_sophia`: a
 * gradient average over a clipped, floored Hessian-diagonal average. With `k = count`:
 *
 *     mu = b1 mu + (1 - b1) g
 *     u  = clip((mu / (1 - b1^(k+1))) / max(gamma * nu, eps), -clipThreshold, clipThreshold)
 *     if k % updateInterval == 0:  nu = b2 nu + (1 - b2) hessianDiagonalFn(g, params, extra)
 *
 * The update uses the `nu` from before this step's estimate (as optax: the first step divides
 * by `eps`, so its update is `±clipThreshold` wherever the gradient average is not tiny). The
 * bias correction `1 - b1^(k+1)` is a float64 JS number. The default estimator is sophiaH's,
 * Hutchinson's ({@link hutchinsonEstimatorDiagHessian}), which needs `extra.valueFn` on the steps
 * that estimate (`update(grads, state, params, { valueFn: loss })`; optax's `obj_fn`). Needs
 * `params`. Composite (tf ops) on every backend: the estimate is a gradient of a gradient.
 *
 * Defaults: `b1 = 0.965, b2 = 0.99, eps = 1e-8, gamma = 0.01, clipThreshold = 1,
 * updateInterval = 10, seed = 0`. State: `{ count, mu, nu, hessianFnState }`. Not here: optax's
 * `mu_dtype` (moments are float32) and its `verbose` win-rate printing.
 * @group Transforms
 */
export function scaleBySophia<H = HutchinsonState>(options: ScaleBySophiaOptions = {}): GradientTransformation<ScaleBySophiaState<H>> {
  const owner = ownerOr('scaleBySophia');
  checkOptions(owner, options, SOPHIA_KEYS);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.965);
  const b2 = checkRate(owner, 'b2', options.b2 ?? 0.99);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const gamma = checkNumber(owner, 'gamma', options.gamma ?? 0.01, { min: 0 });
  const clip = options.clipThreshold === null ? null : checkNumber(owner, 'clipThreshold', options.clipThreshold ?? 1, { min: 0, minInclusive: false });
  const interval = checkInteger(owner, 'updateInterval', options.updateInterval ?? 10, 1);
  let estimator: GradientTransformation<any>;
  if (options.hessianDiagonalFn !== undefined) {
    checkTransformation(owner, options.hessianDiagonalFn, 'option \'hessianDiagonalFn\' to be a gradient transformation');
    if (options.seed !== undefined) throw new TypeError(`${owner}: option 'seed' is the default estimator's; with 'hessianDiagonalFn' give the seed to that estimator`);
    estimator = options.hessianDiagonalFn;
  } else {
    estimator = hutchinsonEstimatorDiagHessian({ seed: checkSeed(owner, options.seed ?? 0) });
  }
  type State = ScaleBySophiaState<H>;
  const layout = { count: 'count', mu: 'tree', nu: 'tree', hessianFnState: subState(estimator) } as const;
  return declareState<State>(owner, layout, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params), hessianFnState: estimator.init(params) as StateOf<typeof estimator> }),
    update: <U extends Updates>(updates: U, state: State, params?: Params, extra?: ExtraArgs): [U, State] => {
      if (params === undefined) throw missingParams(owner);
      const k = state.count;
      const estimate = k % interval === 0;
      const correction = 1 - b1 ** (k + 1);
      flattenFloatTrees(owner, ['updates', 'state.mu', 'state.nu', 'params'], [updates, state.mu, state.nu, params]);
      return tidy(() => {
        // The estimate first: it may throw (no valueFn, no gradients), before anything is made that stays.
        const [diag, hessianFnState] = estimate ? estimator.update(updates, state.hessianFnState, params, extra) : [undefined, state.hessianFnState];
        const [b1S, b1cS, b2S, b2cS, corrS, gammaS, epsS] = [b1, 1 - b1, b2, 1 - b2, correction, gamma, eps].map((x) => tf.scalar(x));
        const [u, mu] = mapFloatLeavesN(owner, ['updates', 'state.mu', 'state.nu'], [updates, state.mu, state.nu], 2, (g, m, h) => {
          const s = new Scratch();
          const m1 = s.keep(s.add(s.mul(b1S, m), s.mul(b1cS, g)));
          const gh = s.mul(gammaS, h);
          const step = s.div(s.div(m1, corrS), s.op(tf.maximum(gh, epsS), gh));
          return [clip === null ? step : s.op(tf.clipByValue(step, -clip, clip), step), m1];
        });
        const nu = diag === undefined
          ? state.nu
          : mapFloatLeavesN(owner, ['state.nu', 'Hessian diagonal'], [state.nu, diag], 1, (h, d) => [tf.add(tf.mul(b2S, h), tf.mul(b2cS, d))])[0];
        return [u as U, { count: k + 1, mu: mu as Params, nu: nu as Params, hessianFnState: hessianFnState as H }];
      });
    },
  });
}

