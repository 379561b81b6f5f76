import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByRadam, type ScaleByRadamOptions, type ScaleByRadamState } from '../transforms/radam.js';

/**
 * Options of {@link radam}.
 * @group Optimizer options and states
 */
export type RadamOptions = ScaleByRadamOptions;
/**
 * State of {@link radam}: `[scaleByRadam state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type RadamState = [ScaleByRadamState, ScaleByLearningRateState];

/**
 * RAdam, Rectified Adam (Liu et al. 2020, arXiv:1908.03265): plain momentum SGD for the first
 * steps, while the adaptive rate's variance is intractable, then Adam with a rectified step.
 *
 *     radam(lr, o) = chain(scaleByRadam(o), scaleByLearningRate(lr))
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, threshold = 5, nesterov = false`
 * (`nesterov: true` debiases the momentum with NAdam's look-ahead, as optax's `radam(nesterov=True)`).
 * @group Optimizers
 * @function
 */
export const radam = /* @__PURE__ */ optimizerAlias(function radam(learningRate: ScalarOrSchedule, options: RadamOptions = {}): GradientTransformation<RadamState> {
  return asOwner('radam', () => chain(scaleByRadam(options), scaleByLearningRate(learningRate)));
});

