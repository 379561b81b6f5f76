import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOfSquaresUpdate, emaUpdate } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

// Adam's relatives (Adamax, AMSGrad, RAdam) and two other moment-based directions (Adadelta,
// Lion), in optax's operation order. Per-step scalars are JS numbers computed in float64.

// ---------------------------------------------------------------------------------------------
// Adamax

/** Options of {@link scaleByAdamax} (and of `adamax`). */
export interface ScaleByAdamaxOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the infinity norm, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to `|g|` before the maximum, so the denominator is never 0. Default `1e-8`. */
  eps?: number;
}

/** State of {@link scaleByAdamax}: step count, first moment and infinity norm. */
export interface ScaleByAdamaxState {
  count: number;
  mu: Params;
  /** Exponentially weighted infinity norm of the gradients. */
  nu: Params;
}

/** The option values of {@link scaleByAdamax}, checked, with defaults filled in. */
function adamaxOptions(owner: string, options: ScaleByAdamaxOptions = {}): Required<ScaleByAdamaxOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
  };
}

/**
 * Rescales updates by Adamax, Adam with the infinity norm (Kingma & Ba 2015, section 7.1).
 * With `t = count + 1`:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = max(|g| + eps, b2 * nu)
 *     u = (mu / (1 - b1^t)) / nu
 *
 * The infinity norm needs no bias correction. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8`.
 * State: `{ count, mu, nu }`, both starting at zero.
 */
export function scaleByAdamax(options: ScaleByAdamaxOptions = {}): GradientTransformation<ScaleByAdamaxState> {
  return scaleByAdamaxFor('scaleByAdamax', options);
}

/** {@link scaleByAdamax} with the caller's name in error messages. @internal */
export function scaleByAdamaxFor(owner: string, options: ScaleByAdamaxOptions = {}): GradientTransformation<ScaleByAdamaxState> {
  checkOptions(owner, options, ['b1', 'b2', 'eps']);
  const { b1, b2, eps } = adamaxOptions(owner, options);
  return declareState(owner, { count: 'count', mu: 'tree', nu: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const t = state.count + 1;
        const [b1s, c1, b2s, epsS, bc1] = [b1, 1 - b1, b2, eps, biasCorrection(b1, t)].map((x) => tf.scalar(x));
        const [out, mu, nu] = mapFloatLeavesN(owner, ['updates', 'state.mu', 'state.nu'], [updates, state.mu, state.nu], 3, (g, m, v) => {
          const s = new Scratch();
          const m1 = s.keep(emaUpdate(s, g, m, b1s, c1));
          const absPlusEps = s.add(s.op(tf.abs(g)), epsS);
          const decayed = s.mul(b2s, v);
          const v1 = s.keep(s.op(tf.maximum(absPlusEps, decayed), absPlusEps, decayed));
          return [s.div(s.div(m1, bc1), v1), m1, v1];
        });
        return [out, { count: t, mu, nu }];
      }) as [typeof updates, ScaleByAdamaxState],
  });
}

// ---------------------------------------------------------------------------------------------
// AMSGrad

/** Options of {@link scaleByAmsgrad} (and of `amsgrad`). */
export interface ScaleByAmsgradOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root. Default `1e-8`. */
  eps?: number;
  /** Added inside the square root. Default `0`. */
  epsRoot?: number;
  /** Divide the first moment by `1 - b1^t`. Default `true` (`false` is the original paper). */
  biasCorrectionMu?: boolean;
  /** Divide the second moment by `1 - b2^t` before the maximum. Default `true`. */
  biasCorrectionNu?: boolean;
}

/** State of {@link scaleByAmsgrad}. */
export interface ScaleByAmsgradState {
  count: number;
  mu: Params;
  nu: Params;
  /** The running maximum of the (bias-corrected) second moment. */
  nuMax: Params;
}

const AMSGRAD_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'biasCorrectionMu', 'biasCorrectionNu'];

/** The option values of {@link scaleByAmsgrad}, checked, with defaults filled in. */
function amsgradOptions(owner: string, options: ScaleByAmsgradOptions = {}): Required<ScaleByAmsgradOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
    biasCorrectionMu: checkBoolean(owner, 'biasCorrectionMu', options.biasCorrectionMu ?? true),
    biasCorrectionNu: checkBoolean(owner, 'biasCorrectionNu', options.biasCorrectionNu ?? true),
  };
}

/**
 * Rescales updates by AMSGrad (Reddi, Kale & Kumar 2018, "On the Convergence of Adam and
 * Beyond"): Adam whose denominator uses the largest second moment seen so far, so the
 * effective step size never grows. As optax does, the maximum is taken over the
 * bias-corrected second moment:
 *
 *     mu = (1 - b1) * g + b1 * mu;      muHat = mu / (1 - b1^t)   (biasCorrectionMu)
 *     nu = (1 - b2) * g^2 + b2 * nu;    nuMax = max(nuMax, nu / (1 - b2^t))   (biasCorrectionNu)
 *     u = muHat / (sqrt(nuMax + epsRoot) + eps)
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0`, both corrections on.
 * State: `{ count, mu, nu, nuMax }`, all starting at zero.
 */
export function scaleByAmsgrad(options: ScaleByAmsgradOptions = {}): GradientTransformation<ScaleByAmsgradState> {
  return scaleByAmsgradFor('scaleByAmsgrad', options);
}

/** {@link scaleByAmsgrad} with the caller's name in error messages. @internal */
export function scaleByAmsgradFor(owner: string, options: ScaleByAmsgradOptions = {}): GradientTransformation<ScaleByAmsgradState> {
  checkOptions(owner, options, AMSGRAD_KEYS);
  const { b1, b2, eps, epsRoot, biasCorrectionMu, biasCorrectionNu } = amsgradOptions(owner, options);
  return declareState(owner, { count: 'count', mu: 'tree', nu: 'tree', nuMax: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params), nuMax: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const t = state.count + 1;
        const [b1s, c1, b2s, c2, bc1, bc2, epsS, epsRootS] = [
          b1,
          1 - b1,
          b2,
          1 - b2,
          biasCorrection(b1, t),
          biasCorrection(b2, t),
          eps,
          epsRoot,
        ].map((x) => tf.scalar(x));
        const [out, mu, nu, nuMax] = mapFloatLeavesN(
          owner,
          ['updates', 'state.mu', 'state.nu', 'state.nuMax'],
          [updates, state.mu, state.nu, state.nuMax],
          4,
          (g, m, v, vMax) => {
            const s = new Scratch();
            const m1 = s.keep(emaUpdate(s, g, m, b1s, c1));
            const v1 = s.keep(emaOfSquaresUpdate(s, g, v, b2s, c2));
            const mHat = biasCorrectionMu ? s.div(m1, bc1) : m1;
            const vEff = biasCorrectionNu ? s.div(v1, bc2) : v1;
            const vMax1 = s.keep(s.op(tf.maximum(vMax, vEff), vEff));
            const root = s.sqrt(epsRoot === 0 ? vMax1 : s.add(vMax1, epsRootS));
            return [s.div(mHat, s.add(root, epsS)), m1, v1, vMax1];
          },
        );
        return [out, { count: t, mu, nu, nuMax }];
      }) as [typeof updates, ScaleByAmsgradState],
  });
}

// ---------------------------------------------------------------------------------------------
// RAdam

/** Options of {@link scaleByRadam} (and of `radam`). */
export interface ScaleByRadamOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root. Default `1e-8`. */
  eps?: number;
  /** Added inside the square root. Default `0`. */
  epsRoot?: number;
  /** The variance is rectified once `rho_t >= threshold` (at least 4); before, the update is `muHat`. Default `5`. */
  threshold?: number;
}

/** State of {@link scaleByRadam}: as Adam's. */
export interface ScaleByRadamState {
  count: number;
  mu: Params;
  nu: Params;
}

/** The option values of {@link scaleByRadam}, checked, with defaults filled in. */
function radamOptions(owner: string, options: ScaleByRadamOptions = {}): Required<ScaleByRadamOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
    // r_t is real only for rho_t >= 4.
    threshold: checkNumber(owner, 'threshold', options.threshold ?? 5, { min: 4 }),
  };
}

/**
 * The length of RAdam's approximated simple moving average at step `t`,
 * `rho_t = rho_inf - 2 t b2^t / (1 - b2^t)` with `rho_inf = 2 / (1 - b2) - 1`, and the
 * rectification factor `r_t` where `rho_t >= threshold` (`null` before). Float64; optax computes
 * `rho_t` in float32, which moves `r_t` by up to ~0.7% in the first rectified steps.
 */
function radamRectification(b2: number, t: number, threshold: number): number | null {
  const rhoInf = 2 / (1 - b2) - 1;
  const b2t = b2 ** t;
  const rho = rhoInf - (2 * t * b2t) / (1 - b2t);
  if (!(rho >= threshold)) return null;
  return Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
}

/**
 * Rescales updates by Rectified Adam (Liu et al. 2020, arXiv:1908.03265). While the variance
 * of the adaptive rate is intractable (`rho_t < threshold`, the first steps), the update is
 * the bias-corrected momentum alone; after, Adam's update times the rectification `r_t` (see
 * {@link radamRectification}):
 *
 *     mu = (1 - b1) * g + b1 * mu;   muHat = mu / (1 - b1^t)
 *     nu = (1 - b2) * g^2 + b2 * nu; nuHat = nu / (1 - b2^t)
 *     u = rho_t >= threshold ? r_t * muHat / (sqrt(nuHat + epsRoot) + eps) : muHat
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, threshold = 5` (with `b2 = 0.999`
 * the first rectified step is the 6th). State: `{ count, mu, nu }`.
 */
export function scaleByRadam(options: ScaleByRadamOptions = {}): GradientTransformation<ScaleByRadamState> {
  return scaleByRadamFor('scaleByRadam', options);
}

/** {@link scaleByRadam} with the caller's name in error messages. @internal */
export function scaleByRadamFor(owner: string, options: ScaleByRadamOptions = {}): GradientTransformation<ScaleByRadamState> {
  checkOptions(owner, options, ['b1', 'b2', 'eps', 'epsRoot', 'threshold']);
  const { b1, b2, eps, epsRoot, threshold } = radamOptions(owner, options);
  return declareState(owner, { count: 'count', mu: 'tree', nu: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const t = state.count + 1;
        const r = radamRectification(b2, t, threshold);
        const [b1s, c1, b2s, c2, bc1, bc2, epsS, epsRootS, rS] = [
          b1,
          1 - b1,
          b2,
          1 - b2,
          biasCorrection(b1, t),
          biasCorrection(b2, t),
          eps,
          epsRoot,
          r ?? 0,
        ].map((x) => tf.scalar(x));
        const [out, mu, nu] = mapFloatLeavesN(owner, ['updates', 'state.mu', 'state.nu'], [updates, state.mu, state.nu], 3, (g, m, v) => {
          const s = new Scratch();
          const m1 = s.keep(emaUpdate(s, g, m, b1s, c1));
          const v1 = s.keep(emaOfSquaresUpdate(s, g, v, b2s, c2));
          const mHat = s.div(m1, bc1);
          if (r === null) return [mHat, m1, v1];
          const vHat = s.div(v1, bc2);
          const root = s.sqrt(epsRoot === 0 ? vHat : s.add(vHat, epsRootS));
          return [s.div(s.mul(rS, mHat), s.add(root, epsS)), m1, v1];
        });
        return [out, { count: t, mu, nu }];
      }) as [typeof updates, ScaleByRadamState],
  });
}

// ---------------------------------------------------------------------------------------------
// Adadelta

/** Options of {@link scaleByAdadelta}. */
export interface ScaleByAdadeltaOptions {
  /** Decay of both running averages, in [0, 1). Default `0.9`. */
  rho?: number;
  /** Added inside both square roots. Default `1e-6`. */
  eps?: number;
}

/** State of {@link scaleByAdadelta}: the running averages of squared gradients and updates. */
export interface ScaleByAdadeltaState {
  /** E[g^2], the running average of squared gradients. */
  eG: Params;
  /** E[u^2], the running average of squared updates. */
  eX: Params;
}

/** The option values of {@link scaleByAdadelta}, checked, with defaults filled in. */
function adadeltaOptions(owner: string, options: ScaleByAdadeltaOptions = {}): Required<ScaleByAdadeltaOptions> {
  return {
    rho: checkRate(owner, 'rho', options.rho ?? 0.9),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-6, { min: 0 }),
  };
}

/**
 * Rescales updates by Adadelta (Zeiler 2012, arXiv:1212.5701), whose step size is the ratio of
 * running RMS values and so carries the units of the parameters:
 *
 *     eG = (1 - rho) * g^2 + rho * eG
 *     u = (sqrt(eX + eps) / sqrt(eG + eps)) * g        (with the previous eX)
 *     eX = (1 - rho) * u^2 + rho * eX
 *
 * Defaults: `rho = 0.9, eps = 1e-6`. State: `{ eG, eX }`, both starting at zero.
 */
export function scaleByAdadelta(options: ScaleByAdadeltaOptions = {}): GradientTransformation<ScaleByAdadeltaState> {
  return scaleByAdadeltaFor('scaleByAdadelta', options);
}

/** {@link scaleByAdadelta} with the caller's name in error messages. @internal */
export function scaleByAdadeltaFor(owner: string, options: ScaleByAdadeltaOptions = {}): GradientTransformation<ScaleByAdadeltaState> {
  checkOptions(owner, options, ['rho', 'eps']);
  const { rho, eps } = adadeltaOptions(owner, options);
  return declareState(owner, { eG: 'tree', eX: 'tree' }, {
    init: (params) => ({ eG: stateLike(owner, params), eX: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const [d, c, epsS] = [rho, 1 - rho, eps].map((x) => tf.scalar(x));
        const [out, eG, eX] = mapFloatLeavesN(owner, ['updates', 'state.eG', 'state.eX'], [updates, state.eG, state.eX], 3, (g, a, b) => {
          const s = new Scratch();
          const a1 = s.keep(emaOfSquaresUpdate(s, g, a, d, c));
          const u = s.keep(s.mul(s.div(s.sqrt(s.add(b, epsS)), s.sqrt(s.add(a1, epsS))), g));
          return [u, a1, emaOfSquaresUpdate(s, u, b, d, c)];
        });
        return [out, { eG, eX }];
      }) as [typeof updates, ScaleByAdadeltaState],
  });
}

// ---------------------------------------------------------------------------------------------
// Lion

/** Options of {@link scaleByLion}. */
export interface ScaleByLionOptions {
  /** Weight of the momentum in the direction, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the momentum, in [0, 1). Default `0.99`. */
  b2?: number;
}

/** State of {@link scaleByLion}: step count and momentum. */
export interface ScaleByLionState {
  count: number;
  mu: Params;
}

/** The option values of {@link scaleByLion}, checked, with defaults filled in. */
function lionOptions(owner: string, options: ScaleByLionOptions = {}): Required<ScaleByLionOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.99),
  };
}

/**
 * Rescales updates by Lion (Chen et al. 2023, "Symbolic Discovery of Optimization
 * Algorithms", arXiv:2302.06675): the sign of an interpolation between gradient and momentum,
 * so every coordinate moves by exactly the learning rate:
 *
 *     u = sign((1 - b1) * g + b1 * mu)
 *     mu = (1 - b2) * g + b2 * mu
 *
 * Defaults: `b1 = 0.9, b2 = 0.99`. State: `{ count, mu }`, `mu` starting at zero.
 */
export function scaleByLion(options: ScaleByLionOptions = {}): GradientTransformation<ScaleByLionState> {
  return scaleByLionFor('scaleByLion', options);
}

/** {@link scaleByLion} with the caller's name in error messages. @internal */
export function scaleByLionFor(owner: string, options: ScaleByLionOptions = {}): GradientTransformation<ScaleByLionState> {
  checkOptions(owner, options, ['b1', 'b2']);
  const { b1, b2 } = lionOptions(owner, options);
  return declareState(owner, { count: 'count', mu: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const [b1s, c1, b2s, c2, zero, one, minusOne] = [b1, 1 - b1, b2, 1 - b2, 0, 1, -1].map((x) => tf.scalar(x));
        const [out, mu] = mapFloatLeavesN(owner, ['updates', 'state.mu'], [updates, state.mu], 2, (g, m) => {
          const s = new Scratch();
          const mix = emaUpdate(s, g, m, b1s, c1);
          // sign(mix) as JAX defines it, on every backend: tf.sign maps |x| < 2^-23 to 0 on the
          // wasm backend and NaN to 0 on the cpu backend. Zeros and NaN pass through here.
          const negative = s.op(tf.less(mix, zero));
          const lower = s.op(tf.where(negative, minusOne, mix), negative);
          const positive = s.op(tf.greater(mix, zero), mix);
          const sign = s.op(tf.where(positive, one, lower), positive, lower);
          return [sign, emaUpdate(s, g, m, b2s, c2)];
        });
        return [out, { count: state.count + 1, mu }];
      }) as [typeof updates, ScaleByLionState],
  });
}
