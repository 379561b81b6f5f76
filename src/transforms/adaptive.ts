import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { adamMomentScalars, biasCorrection, debiasedMomentOps, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';
import type { Ops } from '../internal/ops.js';
import { declareState } from '../internal/state.js';
import { momentField, momentsLike } from '../internal/packed-slots.js';
import { checkStateDtype, momentFormats, type StateDtype } from '../internal/state-dtype.js';

// ---------------------------------------------------------------------------------------------
// Adam

/**
 * State of {@link scaleByAdam}: step count and the first and second moments.
 * @group Transform options and states
 */
export interface ScaleByAdamState {
  /** Updates done so far. */
  count: number;
  /** Moving average of the gradients. */
  mu: Params;
  /** Moving average of the squared gradients. */
  nu: Params;
}

/**
 * Options of {@link scaleByAdam} (and of `adam`, `nadam`, `adamw`).
 * @group Transform options and states
 */
export interface ScaleByAdamOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root. Default `1e-8`. */
  eps?: number;
  /** Added to the second moment inside the square root. Default `0`. */
  epsRoot?: number;
  /** Use the Nesterov (NAdam) form of the first moment. Default `false`. */
  nesterov?: boolean;
  /**
   * How the moments are stored: `'float32'` (the default), `'bfloat16'` (rounded to nearest
   * even, two per int32: half the memory) or `'int8'` (blockwise dynamic quantisation as
   * Dettmers et al. 2022: blocks of 256 with a float32 absmax each, about a quarter). The update
   * is computed in float32 from the stored moments, and the new moments are rounded once.
   */
  stateDtype?: StateDtype;
}

/** The options of {@link scaleByAdam}, checked, with defaults filled in. @internal */
export function adamOptions(owner: string, options: ScaleByAdamOptions): Required<ScaleByAdamOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
    nesterov: checkBoolean(owner, 'nesterov', options.nesterov ?? false),
    stateDtype: checkStateDtype(owner, options.stateDtype),
  };
}

/** The options of {@link scaleByAdam} (adam's, nadam's and adamw's share them). @internal */
export const ADAM_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'nesterov', 'stateDtype'] as const;

/**
 * Rescales updates by Adam's moment estimates (Kingma & Ba 2015, arXiv:1412.6980). With
 * `t = count + 1` the number of this update:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = (1 - b2) * g^2 + b2 * nu
 *     muHat = mu / (1 - b1^t)
 *         nesterov: muHat = b1 * mu / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)   (Dozat 2016)
 *     nuHat = nu / (1 - b2^t)
 *     u = muHat / (sqrt(nuHat + epsRoot) + eps)
 *
 * `eps` is added outside the square root, to the bias-corrected moment, as in optax, PyTorch,
 * the paper and `tf.train.adam` (whose default `eps` is the backend's 1e-7, not 1e-8). Bias
 * corrections are computed in float64 from the step count; `tf.train.adam` accumulates
 * `b1^t` by repeated float32 multiplication, so the two agree to float32 rounding, not bitwise.
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, nesterov = false,
 * stateDtype = 'float32'`. State: `{ count, mu, nu }`, moments starting at zero (packed int32
 * tensors with `stateDtype` bfloat16 or int8: `mu` signed, `nu` unsigned).
 * @group Transforms
 */
export function scaleByAdam(options: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAdamState> {
  const owner = ownerOr('scaleByAdam');
  checkOptions(owner, options, ADAM_KEYS);
  const { b1, b2, eps, epsRoot, nesterov, stateDtype } = adamOptions(owner, options);
  const step: ElementStep<ScaleByAdamState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    slotFormats: momentFormats(stateDtype, [true, false]),
    scalars: (s) => adamMomentScalars(b1, b2, eps, epsRoot, s.count),
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, b2s, c2, bc1, bc1Next, bc2, epsS, epsRootS] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, b1s, c1));
      const v1 = ops.keep(emaOfSquaresOps(ops, g, v, b2s, c2));
      const mHat = debiasedMomentOps(ops, nesterov, m1, g, b1s, c1, bc1, bc1Next);
      const vHat = ops.div(v1, bc2);
      const root = ops.sqrt(epsRoot === 0 ? vHat : ops.add(vHat, epsRootS));
      return { u: ops.div(mHat, ops.add(root, epsS)), slots: [m1, v1] };
    },
    next: (s) => ([mu, nu]) => ({ count: s.count + 1, mu, nu }),
  };
  const layout = { count: 'count', mu: momentField(stateDtype, 'tree'), nu: momentField(stateDtype, 'nonNegativeTree') } as const;
  const tx = declareState<ScaleByAdamState>(owner, layout, {
    init: (params) => ({ count: 0, mu: momentsLike(owner, params, stateDtype, true), nu: momentsLike(owner, params, stateDtype, false) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}

// ---------------------------------------------------------------------------------------------
// RMS and centered RMS (RMSprop's direction)

/**
 * Options of {@link scaleByRms} and {@link scaleByStddev}.
 * @group Transform options and states
 */
export interface ScaleByRmsOptions {
  /** Decay of the moving averages, in [0, 1] ([0, 1) with `biasCorrection`). Default `0.9`. */
  decay?: number;
  /** Added to the denominator. Default `1e-8`. */
  eps?: number;
  /** Initial value of the second moment, >= 0. Default `0`. */
  initialScale?: number;
  /** Add `eps` inside the square root (`true`, the default) or outside it. */
  epsInSqrt?: boolean;
  /** Divide the averages by `1 - decay^t`, as Adam does. Default `false`. */
  biasCorrection?: boolean;
}

const RMS_KEYS = ['decay', 'eps', 'initialScale', 'epsInSqrt', 'biasCorrection'] as const;

/** The options of the RMS transforms, checked, with defaults filled in. @internal */
export function rmsOptions(owner: string, options: ScaleByRmsOptions): Required<ScaleByRmsOptions> {
  const biasCorrectionOn = checkBoolean(owner, 'biasCorrection', options.biasCorrection ?? false);
  return {
    decay: checkRate(owner, 'decay', options.decay ?? 0.9, !biasCorrectionOn),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
    initialScale: checkNumber(owner, 'initialScale', options.initialScale ?? 0, { min: 0 }),
    epsInSqrt: checkBoolean(owner, 'epsInSqrt', options.epsInSqrt ?? true),
    biasCorrection: biasCorrectionOn,
  };
}

/** The RMS scaling `1 / sqrt(s + eps)` or `1 / (sqrt(s) + eps)` of a second-moment estimate. */
function rmsScaling<V>(ops: Ops<V>, x: V, epsS: V, epsInSqrt: boolean): V {
  return epsInSqrt ? ops.rsqrt(ops.add(x, epsS)) : ops.div(ops.constant(1), ops.add(ops.sqrt(x), epsS));
}

/**
 * State of {@link scaleByRms}.
 * @group Transform options and states
 */
export interface ScaleByRmsState {
  /** Updates done so far (used by bias correction). */
  count: number;
  /** Moving average of the squared gradients. */
  nu: Params;
}

/**
 * Rescales updates by the root of a moving average of their squares, RMSprop's direction
 * (Hinton, Lecture 6e of "Neural Networks for Machine Learning", 2012):
 *
 *     nu = (1 - decay) * g^2 + decay * nu
 *     nuHat = biasCorrection ? nu / (1 - decay^t) : nu
 *     u = g / sqrt(nuHat + eps)        (epsInSqrt: true, the default; as tf.train.rmsprop)
 *     u = g / (sqrt(nuHat) + eps)      (epsInSqrt: false; as PyTorch's RMSprop)
 *
 * computed as `scaling * g`, with `scaling = rsqrt(nuHat + eps)` or `1 / (sqrt(nuHat) + eps)`,
 * as optax does. `scaleByRms({ epsInSqrt: false, biasCorrection: true, decay: b2 })` equals
 * `scaleByAdam({ b1: 0, b2 })`. Defaults: `decay = 0.9, eps = 1e-8, initialScale = 0,
 * epsInSqrt = true, biasCorrection = false`. State: `{ count, nu }`, `nu` starting at
 * `initialScale`.
 * @group Transforms
 */
export function scaleByRms(options: ScaleByRmsOptions = {}): GradientTransformation<ScaleByRmsState> {
  const owner = ownerOr('scaleByRms');
  checkOptions(owner, options, RMS_KEYS);
  const { decay, eps, initialScale, epsInSqrt, biasCorrection: debias } = rmsOptions(owner, options);
  const step: ElementStep<ScaleByRmsState> = {
    owner,
    slotNames: ['state.nu'],
    slots: (s) => [s.nu],
    scalars: (s) => [decay, 1 - decay, biasCorrection(decay, s.count + 1), eps],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [v], scalars: [d, c, bc, epsS] }) => {
      const v1 = ops.keep(emaOfSquaresOps(ops, g, v, d, c));
      const vHat = debias ? ops.div(v1, bc) : v1;
      return { u: ops.mul(rmsScaling(ops, vHat, epsS, epsInSqrt), g), slots: [v1] };
    },
    next: (s) => ([nu]) => ({ count: s.count + 1, nu }),
  };
  const tx = declareState<ScaleByRmsState>(owner, { count: 'count', nu: 'nonNegativeTree' }, {
    init: (params) => ({ count: 0, nu: stateLike(owner, params, initialScale) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}

/**
 * State of {@link scaleByStddev}.
 * @group Transform options and states
 */
export interface ScaleByStddevState {
  /** Updates done so far (used by bias correction). */
  count: number;
  /** Moving average of the gradients. */
  mu: Params;
  /** Moving average of the squared gradients. */
  nu: Params;
}

/**
 * Rescales updates by the root of a *centered* moving average of their squares (an estimate of
 * their standard deviation), the direction of centered RMSprop (Graves 2013, arXiv:1308.0850):
 *
 *     mu = (1 - decay) * g + decay * mu
 *     nu = (1 - decay) * g^2 + decay * nu
 *     (muHat, nuHat) = biasCorrection ? (mu, nu) / (1 - decay^t) : (mu, nu)
 *     u = g / sqrt(nuHat - muHat^2 + eps)      (epsInSqrt: true, the default)
 *     u = g / (sqrt(nuHat - muHat^2) + eps)    (epsInSqrt: false)
 *
 * Defaults: `decay = 0.9, eps = 1e-8, initialScale = 0, epsInSqrt = true,
 * biasCorrection = false`. State: `{ count, mu, nu }`, `mu` at zero, `nu` at `initialScale`.
 * @group Transforms
 */
export function scaleByStddev(options: ScaleByRmsOptions = {}): GradientTransformation<ScaleByStddevState> {
  const owner = ownerOr('scaleByStddev');
  checkOptions(owner, options, RMS_KEYS);
  const { decay, eps, initialScale, epsInSqrt, biasCorrection: debias } = rmsOptions(owner, options);
  const step: ElementStep<ScaleByStddevState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    scalars: (s) => [decay, 1 - decay, biasCorrection(decay, s.count + 1), eps],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m, v], scalars: [d, c, bc, epsS] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, d, c));
      const v1 = ops.keep(emaOfSquaresOps(ops, g, v, d, c));
      const mHat = debias ? ops.div(m1, bc) : m1;
      const vHat = debias ? ops.div(v1, bc) : v1;
      const variance = ops.sub(vHat, ops.square(mHat));
      return { u: ops.mul(rmsScaling(ops, variance, epsS, epsInSqrt), g), slots: [m1, v1] };
    },
    next: (s) => ([mu, nu]) => ({ count: s.count + 1, mu, nu }),
  };
  const tx = declareState<ScaleByStddevState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params, initialScale) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}

// ---------------------------------------------------------------------------------------------
// Root of the sum of squares (AdaGrad's direction)

/**
 * State of {@link scaleByRss}.
 * @group Transform options and states
 */
export interface ScaleByRssState {
  /** Sum of the squared gradients so far, plus the initial accumulator value. */
  sumOfSquares: Params;
}

/**
 * Options of {@link scaleByRss} and `adagrad`.
 * @group Transform options and states
 */
export interface ScaleByRssOptions {
  /** Starting value of the accumulators, >= 0. Default `0.1`. */
  initialAccumulatorValue?: number;
  /** Added inside the square root, >= 0. Default `1e-7`. */
  eps?: number;
}

/** The options of {@link scaleByRss}, checked, with defaults filled in. @internal */
export function rssOptions(owner: string, options: ScaleByRssOptions): Required<ScaleByRssOptions> {
  return {
    initialAccumulatorValue: checkNumber(owner, 'initialAccumulatorValue', options.initialAccumulatorValue ?? 0.1, {
      min: 0,
    }),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-7, { min: 0 }),
  };
}

/**
 * Rescales updates by the root of the sum of all squared gradients so far, AdaGrad's direction
 * (Duchi et al. 2011, JMLR 12):
 *
 *     s = s + g^2
 *     u = s > 0 ? g / sqrt(s + eps) : 0
 *
 * `eps` is inside the square root, as in optax and `tf.train.adagrad` (which uses 1e-7 for
 * float32); PyTorch adds 1e-10 outside. Where the accumulator is not positive (only possible
 * with `initialAccumulatorValue = 0`, or NaN) the update is 0. Defaults:
 * `initialAccumulatorValue = 0.1, eps = 1e-7`. State: `{ sumOfSquares }`.
 * @group Transforms
 */
export function scaleByRss(options: ScaleByRssOptions = {}): GradientTransformation<ScaleByRssState> {
  const owner = ownerOr('scaleByRss');
  checkOptions(owner, options, ['initialAccumulatorValue', 'eps']);
  const { initialAccumulatorValue, eps } = rssOptions(owner, options);
  const step: ElementStep<ScaleByRssState> = {
    owner,
    slotNames: ['state.sumOfSquares'],
    slots: (s) => [s.sumOfSquares],
    scalars: () => [eps],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [acc], scalars: [epsS] }) => {
      const s1 = ops.keep(ops.add(ops.square(g), acc));
      const zero = ops.constant(0);
      // 1 / sqrt(s1 + eps) where s1 > 0, else 0 (an accumulator still at zero gives no step).
      const inv = ops.where(ops.gt(s1, zero), ops.rsqrt(ops.add(s1, epsS)), zero);
      return { u: ops.mul(inv, g), slots: [s1] };
    },
    next: () => ([sumOfSquares]) => ({ sumOfSquares }),
  };
  const tx = declareState<ScaleByRssState>(owner, { sumOfSquares: 'nonNegativeTree' }, {
    init: (params) => ({ sumOfSquares: stateLike(owner, params, initialAccumulatorValue) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
