import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAdadelta, type ScaleByAdadeltaOptions, type ScaleByAdadeltaState } from '../transforms/adadelta.js';

/**
 * Options of {@link adadelta}.
 * @group Optimizer options and states
 */
export interface AdadeltaOptions extends ScaleByAdadeltaOptions {
  /** Weight decay added to the gradient before the rescaling (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link adadelta}: `[weight-decay state, scaleByAdadelta state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdadeltaState = [AddDecayedWeightsState, ScaleByAdadeltaState, ScaleByLearningRateState];

/**
 * Adadelta (Zeiler 2012, arXiv:1212.5701):
 *
 *     adadelta(lr, o) = chain(addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByAdadelta(o), scaleByLearningRate(lr))
 *
 * Adadelta's step already has the units of the parameters, so the learning rate defaults to 1.
 * Unlike optax, whose `adadelta()` without a learning rate skips the final scaling (and with it
 * the sign flip), the update here always descends: `u = -lr * rescaled g`. Weight decay, when
 * set, is added to the gradient before the rescaling (L2 style), as in optax and PyTorch.
 * Defaults: `learningRate = 1, rho = 0.9, eps = 1e-6, weightDecay = 0`.
 * @group Optimizers
 * @function
 */
export const adadelta = /* @__PURE__ */ optimizerAlias(function adadelta(learningRate: ScalarOrSchedule = 1, options: AdadeltaOptions = {}): GradientTransformation<AdadeltaState> {
  checkOptions('adadelta', options, ['rho', 'eps', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('adadelta', () => chain(addDecayedWeights(weightDecay, { mask }), scaleByAdadelta(rest), scaleByLearningRate(learningRate)));
});

