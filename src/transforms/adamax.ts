import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { biasCorrection, emaUpdate } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

// Adamax, Adam with the infinity norm, in optax's operation order. Per-step scalars are JS
// numbers computed in float64.

/**
 * Options of {@link scaleByAdamax} (and of `adamax`).
 * @group Transform options and states
 */
export interface ScaleByAdamaxOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the infinity norm, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to `|g|` before the maximum, so the denominator is never 0. Default `1e-8`. */
  eps?: number;
}

/**
 * State of {@link scaleByAdamax}: step count, first moment and infinity norm.
 * @group Transform options and states
 */
export interface ScaleByAdamaxState {
  /** Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with `t = count + 1`. */
  count: number;
  /** First moment: the moving average of the gradients `mu = (1 - b1) g + b1 mu`, not bias-corrected; zeros after `init`. */
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
 * @group Transforms
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
