import { optimizerAlias } from '../internal/aliases.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chainFor } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { scaleByRssFor, type ScaleByRssOptions, type ScaleByRssState } from '../transforms/adaptive.js';
import { learningRateWithOwner, type ScaleByLearningRateState } from '../transforms/scale.js';
import { HyperRate } from '../internal/hyper.js';

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
  const owner = 'adagrad';
  checkOptions(owner, options, ['initialAccumulatorValue', 'eps']);
  const lr = new HyperRate(owner, 'learningRate', learningRate);
  return chainFor(owner, scaleByRssFor(owner, options), learningRateWithOwner(owner, lr));
});

