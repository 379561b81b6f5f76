import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAdemamix, type ScaleByAdemamixOptions, type ScaleByAdemamixState } from '../transforms/ademamix.js';

/**
 * Options of {@link ademamix}.
 * @group Optimizer options and states
 */
export interface AdemamixOptions extends ScaleByAdemamixOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule), multiplied by the learning rate. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link ademamix}: `[scaleByAdemamix state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdemamixState = [ScaleByAdemamixState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * AdEMAMix (Pagliardini et al. 2024, arXiv:2409.03137), as optax contrib: AdamW whose numerator
 * adds `alpha` times a slow (`b3`) moving average of the gradients to the fast one.
 *
 *     ademamix(lr, o) = chain(scaleByAdemamix(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, b3 = 0.9999, alpha = 5, eps = 1e-8, epsRoot = 0,
 * weightDecay = 0` (as optax's alias; `scaleByAdemamix` alone defaults `alpha` to 6, as optax).
 * @group Optimizers
 * @function
 */
export const ademamix = /* @__PURE__ */ optimizerAlias(function ademamix(learningRate: ScalarOrSchedule, options: AdemamixOptions = {}): GradientTransformation<AdemamixState> {
  checkOptions('ademamix', options, ['b1', 'b2', 'b3', 'alpha', 'eps', 'epsRoot', 'stateDtype', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('ademamix', () =>
    chain(scaleByAdemamix({ ...rest, alpha: rest.alpha ?? 5 }), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)),
  );
});
