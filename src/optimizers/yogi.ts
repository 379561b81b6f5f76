import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByYogi, type ScaleByYogiOptions, type ScaleByYogiState } from '../transforms/yogi.js';

/**
 * Options of {@link yogi}: optax's alias takes only these three.
 * @group Optimizer options and states
 */
export type YogiOptions = Pick<ScaleByYogiOptions, 'b1' | 'b2' | 'eps'>;
/**
 * State of {@link yogi}: `[scaleByYogi state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type YogiState = [ScaleByYogiState, ScaleByLearningRateState];

/**
 * Yogi (Zaheer et al. 2018, "Adaptive Methods for Nonconvex Optimization"): Adam with an
 * additive second-moment update, see {@link scaleByYogi}.
 *
 *     yogi(lr, o) = chain(scaleByYogi(o), scaleByLearningRate(lr))
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-3` (optax's; `epsRoot = 0` and
 * `initialAccumulatorValue = 1e-6` are fixed here, as in optax's alias; use the chain to change
 * them).
 * @group Optimizers
 * @function
 */
export const yogi = /* @__PURE__ */ optimizerAlias(function yogi(learningRate: ScalarOrSchedule, options: YogiOptions = {}): GradientTransformation<YogiState> {
  // optax's alias takes only these three; scaleByYogi takes two more.
  checkOptions('yogi', options, ['b1', 'b2', 'eps']);
  return asOwner('yogi', () => chain(scaleByYogi(options), scaleByLearningRate(learningRate)));
});
