import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOfSquaresUpdate, emaUpdate } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

// AdaBelief, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByBelief} (and of `adabelief`).
 * @group Transform options and states
 */
export interface ScaleByBeliefOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment of the prediction error, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root, >= 0. Default `1e-16` (optax's; the paper uses 1e-8). */
  eps?: number;
  /** Added to the stored second moment at every step, >= 0. Default `1e-16` (optax's; the paper uses 0). */
  epsRoot?: number;
  /** Use the Nesterov form of the first moment, as `scaleByAdam` does. Default `false`. */
  nesterov?: boolean;
}

/**
 * State of {@link scaleByBelief}: step count, first moment and second moment of the prediction error.
 * @group Transform options and states
 */
export interface ScaleByBeliefState {
  /** Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with `t = count + 1`. */
  count: number;
  /** Moving average of the gradients. */
  mu: Params;
  /** Moving average of `(g - mu)^2`, plus `epsRoot` once per step. */
  nu: Params;
}

const BELIEF_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'nesterov'];

/** The option values of {@link scaleByBelief}, checked, with defaults filled in. */
function beliefOptions(owner: string, options: ScaleByBeliefOptions): Required<ScaleByBeliefOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-16, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 1e-16, { min: 0 }),
    nesterov: checkBoolean(owner, 'nesterov', options.nesterov ?? false),
  };
}

/**
 * Rescales updates by AdaBelief (Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes
 * by the Belief in Observed Gradients", arXiv:2010.07468): Adam whose second moment tracks the
 * squared distance of the gradient from its moving average, not the squared gradient. With
 * `t = count + 1`:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = (1 - b2) * (g - mu)^2 + b2 * nu + epsRoot
 *     muHat = mu / (1 - b1^t)
 *         nesterov: muHat = b1 * mu / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)
 *     u = muHat / (sqrt(nu / (1 - b2^t)) + eps)
 *
 * The prediction error uses the *new* mean, and `epsRoot` is added to the stored `nu` (so it
 * accumulates across steps), both as in optax and the paper's algorithm. Defaults: `b1 = 0.9,
 * b2 = 0.999, eps = 1e-16, epsRoot = 1e-16, nesterov = false` (optax's; the paper's are
 * `eps = 1e-8, epsRoot = 0`). State: `{ count, mu, nu }`, both starting at zero.
 * @group Transforms
 */
export function scaleByBelief(options: ScaleByBeliefOptions = {}): GradientTransformation<ScaleByBeliefState> {
  return scaleByBeliefFor('scaleByBelief', options);
}

/** {@link scaleByBelief} with the caller's name in error messages. @internal */
export function scaleByBeliefFor(owner: string, options: ScaleByBeliefOptions = {}): GradientTransformation<ScaleByBeliefState> {
  checkOptions(owner, options, BELIEF_KEYS);
  const { b1, b2, eps, epsRoot, nesterov } = beliefOptions(owner, options);
  return declareState(owner, { count: 'count', mu: 'tree', nu: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const t = state.count + 1;
        const [b1s, c1, b2s, c2, bc1, bc1Next, bc2, epsS, epsRootS] = [
          b1,
          1 - b1,
          b2,
          1 - b2,
          biasCorrection(b1, t),
          biasCorrection(b1, t + 1),
          biasCorrection(b2, t),
          eps,
          epsRoot,
        ].map((x) => tf.scalar(x));
        const [out, mu, nu] = mapFloatLeavesN(owner, ['updates', 'state.mu', 'state.nu'], [updates, state.mu, state.nu], 3, (g, m, v) => {
          const s = new Scratch();
          const m1 = s.keep(emaUpdate(s, g, m, b1s, c1));
          const v1 = s.keep(s.add(emaOfSquaresUpdate(s, s.sub(g, m1), v, b2s, c2), epsRootS));
          const mHat = nesterov ? s.add(s.mul(b1s, s.div(m1, bc1Next)), s.mul(c1, s.div(g, bc1))) : s.div(m1, bc1);
          const root = s.sqrt(s.div(v1, bc2));
          return [s.div(mHat, s.add(root, epsS)), m1, v1];
        });
        return [out, { count: t, mu, nu }];
      }) as [typeof updates, ScaleByBeliefState],
  });
}
