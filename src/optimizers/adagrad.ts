import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { scaleByRss, type ScaleByRssOptions, type ScaleByRssState } from '../transforms/adaptive.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';

/**
 * Options of {@link adagrad}.
 * @group Optimizer options and states
 */
export type AdagradOptions = ScaleByRssOptions;

/**
 * State of {@link adagrad}: `[scaleByRss state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdagradState = [ScaleByRssState, ScaleByLearningRateState];

/**
 * AdaGrad (Duchi et al. 2011): per-parameter steps shrinking with the root of the sum of all
 * squared gradients so far.
 *
 *     adagrad(lr, o) = chain(scaleByRss(o), scaleByLearningRate(lr))
 *     s = s + g^2;  u = -lr * g / sqrt(s + eps)
 *
 * Defaults `initialAccumulatorValue = 0.1, eps = 1e-7` (inside the square root), matching both
 * optax and `tf.train.adagrad`.
 * @group Optimizers
 * @function
 */
export const adagrad = /* @__PURE__ */ optimizerAlias(function adagrad(learningRate: ScalarOrSchedule, options: AdagradOptions = {}): GradientTransformation<AdagradState> {
  return asOwner('adagrad', () => chain(scaleByRss(options), scaleByLearningRate(learningRate)));
});

