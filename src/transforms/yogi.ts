import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { biasCorrection, emaUpdate } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { signOf, signScalars } from '../internal/sign.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

// Yogi, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByYogi}.
 * @group Transform options and states
 */
export interface ScaleByYogiOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Rate of the additive second-moment update, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root, >= 0. Default `1e-3`. */
  eps?: number;
  /** Added to the second moment inside the square root, >= 0. Default `0`. */
  epsRoot?: number;
  /** Starting value of both moments, >= 0. Default `1e-6`. */
  initialAccumulatorValue?: number;
}

/**
 * State of {@link scaleByYogi}: step count and the two moments (as Adam's).
 * @group Transform options and states
 */
export interface ScaleByYogiState {
  /** Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with `t = count + 1`. */
  count: number;
  /**
   * First moment: the moving average of the gradients, `mu = (1 - b1) g + b1 mu`, not
   * bias-corrected; float32 tensors shaped as the params, starting at `initialAccumulatorValue`.
   */
  mu: Params;
  /**
   * Yogi's second moment, moved towards `g^2` by the additive step
   * `nu = nu - (1 - b2) sign(nu - g^2) g^2`, not bias-corrected; shaped as the params, starting
   * at `initialAccumulatorValue`.
   */
  nu: Params;
}

const YOGI_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'initialAccumulatorValue'];

/** The option values of {@link scaleByYogi}, checked, with defaults filled in. @internal */
export function yogiOptions(owner: string, options: ScaleByYogiOptions): Required<ScaleByYogiOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-3, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
    initialAccumulatorValue: checkNumber(owner, 'initialAccumulatorValue', options.initialAccumulatorValue ?? 1e-6, { min: 0 }),
  };
}

/**
 * Rescales updates by Yogi (Zaheer et al. 2018, "Adaptive Methods for Nonconvex
 * Optimization", NeurIPS): Adam whose second moment moves towards `g^2` by an additive step of
 * fixed size `(1 - b2) * g^2`, so it cannot shrink fast and the effective step size cannot
 * jump. With `t = count + 1`:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = nu - (1 - b2) * sign(nu - g^2) * g^2
 *     u = (mu / (1 - b1^t)) / (sqrt(nu / (1 - b2^t) + epsRoot) + eps)
 *
 * Both moments start at `initialAccumulatorValue`, and are bias-corrected as Adam's are, both
 * as in optax (the paper starts them at 1e-6 without correction). `sign` is JAX's (0 at 0,
 * NaN at NaN) on every backend. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-3, epsRoot = 0,
 * initialAccumulatorValue = 1e-6`. State: `{ count, mu, nu }`.
 * @group Transforms
 */
export function scaleByYogi(options: ScaleByYogiOptions = {}): GradientTransformation<ScaleByYogiState> {
  return scaleByYogiFor('scaleByYogi', options);
}

/** {@link scaleByYogi} with the caller's name in error messages. @internal */
export function scaleByYogiFor(owner: string, options: ScaleByYogiOptions = {}, keys: readonly string[] = YOGI_KEYS): GradientTransformation<ScaleByYogiState> {
  checkOptions(owner, options, keys);
  const { b1, b2, eps, epsRoot, initialAccumulatorValue } = yogiOptions(owner, options);
  return declareState(owner, { count: 'count', mu: 'tree', nu: 'tree' }, {
    init: (params) => ({
      count: 0,
      mu: stateLike(owner, params, initialAccumulatorValue),
      nu: stateLike(owner, params, initialAccumulatorValue),
    }),
    update: (updates, state) =>
      tidy(() => {
        const t = state.count + 1;
        const [b1s, c1, c2, bc1, bc2, epsS, epsRootS] = [
          b1,
          1 - b1,
          1 - b2,
          biasCorrection(b1, t),
          biasCorrection(b2, t),
          eps,
          epsRoot,
        ].map((x) => tf.scalar(x));
        const signs = signScalars();
        const [out, mu, nu] = mapFloatLeavesN(owner, ['updates', 'state.mu', 'state.nu'], [updates, state.mu, state.nu], 3, (g, m, v) => {
          const s = new Scratch();
          const m1 = s.keep(emaUpdate(s, g, m, b1s, c1));
          const g2 = s.keep(s.square(g));
          const direction = signOf(s, s.sub(v, g2), signs);
          const v1 = s.keep(s.sub(v, s.mul(s.mul(c2, direction), g2)));
          g2.dispose();
          const vHat = s.div(v1, bc2);
          const root = s.sqrt(epsRoot === 0 ? vHat : s.add(vHat, epsRootS));
          return [s.div(s.div(m1, bc1), s.add(root, epsS)), m1, v1];
        });
        return [out, { count: t, mu, nu }];
      }) as [typeof updates, ScaleByYogiState],
  });
}
