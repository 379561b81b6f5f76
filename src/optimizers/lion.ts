import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { LION_KEYS, scaleByLion, type ScaleByLionOptions, type ScaleByLionState } from '../transforms/lion.js';

/**
 * Options of {@link lion}.
 * @group Optimizer options and states
 */
export interface LionOptions extends ScaleByLionOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule). Default `1e-3`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link lion}: `[scaleByLion state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type LionState = [ScaleByLionState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * Lion (Chen et al. 2023, arXiv:2302.06675): the sign of a gradient-momentum interpolation,
 * with decoupled weight decay as in AdamW:
 *
 *     lion(lr, o) = chain(scaleByLion(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *     u = -lr * (sign((1 - b1) * g + b1 * mu) + weightDecay * p)       (mode 'hard')
 *
 * Its steps are as large as the learning rate in every coordinate, so it wants a learning rate
 * 3 to 10 times smaller than AdamW's. `mode: 'smooth'` (`tanh(smoothBeta * x)`) or `'refined'`
 * (`x` clipped to [-1, 1]) replaces the sign, as `scaleByLion`'s; optax's `lion` alias does not
 * pass these on (only its `scale_by_lion` has them), so `lion(lr, { mode })` equals optax's
 * chain with `scale_by_lion(mode=...)`. Defaults: `b1 = 0.9, b2 = 0.99, mode = 'hard',
 * smoothBeta = 1` (only with `mode: 'smooth'`), `weightDecay = 1e-3`.
 * @group Optimizers
 * @function
 */
export const lion = /* @__PURE__ */ optimizerAlias(function lion(learningRate: ScalarOrSchedule, options: LionOptions = {}): GradientTransformation<LionState> {
  checkOptions('lion', options, [...LION_KEYS, 'weightDecay', 'mask']);
  const { weightDecay = 1e-3, mask, ...rest } = options;
  return asOwner('lion', () => chain(scaleByLion(rest), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});

