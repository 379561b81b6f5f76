import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAdam, type ScaleByAdamState } from '../transforms/adaptive.js';
import {
  scaleByOptimisticGradient,
  type ScaleByOptimisticGradientOptions,
  type ScaleByOptimisticGradientState,
} from '../transforms/optimistic.js';

/**
 * Options of {@link optimisticGradientDescent}.
 * @group Optimizer options and states
 */
export type OptimisticGradientDescentOptions = ScaleByOptimisticGradientOptions;
/**
 * State of {@link optimisticGradientDescent}: `[scaleByOptimisticGradient state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type OptimisticGradientDescentState = [ScaleByOptimisticGradientState, ScaleByLearningRateState];

/**
 * Optimistic gradient descent (Mokhtari, Ozdaglar & Pattathil 2019, arXiv:1901.08511), with
 * strong last-iterate guarantees in min-max games where plain gradient descent cycles:
 *
 *     optimisticGradientDescent(lr, o) = chain(scaleByOptimisticGradient(o), scaleByLearningRate(lr))
 *     w = w - lr * ((alpha + beta) * g - beta * gPrev)
 *
 * Defaults, as optax: `alpha = 1, beta = 1` (numbers >= 0).
 * @group Optimizers
 * @function
 */
export const optimisticGradientDescent = /* @__PURE__ */ optimizerAlias(function optimisticGradientDescent(
  learningRate: ScalarOrSchedule,
  options: OptimisticGradientDescentOptions = {},
): GradientTransformation<OptimisticGradientDescentState> {
  return asOwner('optimisticGradientDescent', () => chain(scaleByOptimisticGradient(options), scaleByLearningRate(learningRate)));
});

/**
 * Options of {@link optimisticAdam}.
 * @group Optimizer options and states
 */
export interface OptimisticAdamOptions extends ScaleByOptimisticGradientOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root. Default `1e-8`. */
  eps?: number;
  /** Added to the second moment inside the square root. Default `0`. */
  epsRoot?: number;
  /** Use the Nesterov form of Adam's first moment. Default `true`, as optax. */
  nesterov?: boolean;
}

/**
 * State of {@link optimisticAdam}: `[scaleByAdam state, scaleByOptimisticGradient state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type OptimisticAdamState = [ScaleByAdamState, ScaleByOptimisticGradientState, ScaleByLearningRateState];

/**
 * Optimistic Adam (Daskalakis et al. 2017, "Training GANs with Optimism", arXiv:1711.00141):
 * optimistic gradients of Adam's direction `r`, against the limit cycles of GAN training:
 *
 *     optimisticAdam(lr, o) = chain(scaleByAdam({ b1, b2, eps, epsRoot, nesterov }),
 *                                   scaleByOptimisticGradient({ alpha, beta }), scaleByLearningRate(lr))
 *     w = w - lr * ((alpha + beta) * r - beta * rPrev)
 *
 * Defaults: `alpha = 1, beta = 1, b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0,
 * nesterov = true`. This is optax's `optimistic_adam_v2`, the interface optax says will
 * replace its deprecated `optimistic_adam(learning_rate, optimism)` (which took the learning
 * rate as `alpha`, `optimism` as `beta`, a step of 1, and no schedules): here `learningRate` is
 * a number or a schedule like every optimizer's, and `alpha`, `beta` are options.
 * @group Optimizers
 * @function
 */
export const optimisticAdam = /* @__PURE__ */ optimizerAlias(function optimisticAdam(
  learningRate: ScalarOrSchedule,
  options: OptimisticAdamOptions = {},
): GradientTransformation<OptimisticAdamState> {
  checkOptions('optimisticAdam', options, ['alpha', 'beta', 'b1', 'b2', 'eps', 'epsRoot', 'nesterov']);
  const { alpha, beta, nesterov = true, ...adam } = options;
  return asOwner('optimisticAdam', () =>
    chain(scaleByAdam({ ...adam, nesterov }), scaleByOptimisticGradient({ alpha, beta }), scaleByLearningRate(learningRate)),
  );
});
