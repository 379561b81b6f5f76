import * as tf from '@tensorflow/tfjs-core';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../internal/tidy.js';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { checkNumber, checkOptions } from '../internal/options.js';
import { declareState } from '../internal/state.js';

/**
 * Options of {@link scaleByOptimisticGradient}.
 * @group Transform options and states
 */
export interface ScaleByOptimisticGradientOptions {
  /** Weight of the current gradient, >= 0. Default `1`. */
  alpha?: number;
  /** Weight of the negative momentum (the change since the last gradient), >= 0. Default `1`. */
  beta?: number;
}

/**
 * State of {@link scaleByOptimisticGradient}: optax's `previous_gradient`, and a step count in
 * place of its `is_initial_step` flag (`count === 0`), as every count in this library.
 * @group Transform options and states
 */
export interface ScaleByOptimisticGradientState {
  /** Updates done so far; on the first (`count === 0`) the previous gradient is the current one. */
  count: number;
  /** The last incoming updates (zeros before the first update). */
  previousGradient: Params;
}

/** The options of {@link scaleByOptimisticGradient}, checked, with defaults filled in. @internal */
export function optimisticOptions(owner: string, options: ScaleByOptimisticGradientOptions): Required<ScaleByOptimisticGradientOptions> {
  return {
    alpha: checkNumber(owner, 'alpha', options.alpha ?? 1, { min: 0 }),
    beta: checkNumber(owner, 'beta', options.beta ?? 1, { min: 0 }),
  };
}

/**
 * Generalized optimistic gradients (Mokhtari, Ozdaglar & Pattathil 2019, arXiv:1901.08511;
 * Daskalakis et al. 2017, arXiv:1711.00141): a step along the current gradient plus a
 * negative momentum that extrapolates its change, an approximation of the extra-gradient
 * method for saddle-point problems:
 *
 *     u = (alpha + beta) * g - beta * gPrev
 *
 * with `gPrev = g` on the first update (so it is `alpha * g`), as optax does since its issue
 * #1082. Defaults: `alpha = 1, beta = 1` (numbers; optax's transform does not take schedules
 * either). State: `{ count, previousGradient }`.
 * @group Transforms
 */
export function scaleByOptimisticGradient(options: ScaleByOptimisticGradientOptions = {}): GradientTransformation<ScaleByOptimisticGradientState> {
  const owner = 'scaleByOptimisticGradient';
  checkOptions(owner, options, ['alpha', 'beta']);
  return scaleByOptimisticGradientFor(owner, optimisticOptions(owner, options));
}

/** {@link scaleByOptimisticGradient} with checked options and the caller's name in error messages. @internal */
export function scaleByOptimisticGradientFor(
  owner: string,
  { alpha, beta }: Required<ScaleByOptimisticGradientOptions>,
): GradientTransformation<ScaleByOptimisticGradientState> {
  return declareState<ScaleByOptimisticGradientState>(owner, { count: 'count', previousGradient: 'tree' }, {
    init: (params) => ({ count: 0, previousGradient: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const [alphaS, both, betaS] = [alpha, alpha + beta, beta].map((x) => tf.scalar(x));
        const [out, previousGradient] = mapFloatLeavesN(
          owner,
          ['updates', 'state.previousGradient'],
          [updates, state.previousGradient],
          2,
          (g, prev) => {
            const s = new Scratch();
            // On the first update gPrev = g: (alpha + beta) g - beta g, computed as alpha * g.
            const u = state.count === 0 ? s.mul(alphaS, g) : s.sub(s.mul(both, g), s.mul(betaS, prev));
            // A clone of the gradient (it shares its buffer): the caller may free the gradients.
            return [u, tf.clone(g)];
          },
        );
        return [out, { count: state.count + 1, previousGradient }];
      }) as [typeof updates, ScaleByOptimisticGradientState],
  });
}
