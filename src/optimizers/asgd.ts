import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scale } from '../transforms/scale.js';
import { scaleByAsgd, type ScaleByAsgdOptions, type ScaleByAsgdState } from '../transforms/asgd.js';

/**
 * Options of {@link asgd}.
 * @group Optimizer options and states
 */
export interface AsgdOptions extends ScaleByAsgdOptions {
  /** L2 weight decay added to the gradient (a number >= 0 or a schedule), as PyTorch. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link asgd}: `[weight-decay state, scaleByAsgd state, scale(-1) state]`.
 * @group Optimizer options and states
 */
export type AsgdState = [AddDecayedWeightsState, ScaleByAsgdState, EmptyState];

/**
 * Averaged SGD as PyTorch's `torch.optim.ASGD` (see {@link scaleByAsgd} for the formulas):
 * SGD with the step size `lr / (1 + lambd * lr * k)^alpha` and the decay `lambd`, keeping the
 * running average of the parameters from step `t0` on; read it with `asgdAverage(state)`.
 *
 *     asgd(lr, o) = chain(addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByAsgd(lr, o), scale(-1))
 *
 * Weight decay is L2 added to the gradient, as PyTorch's `weight_decay`. Needs `params`.
 * Defaults: `lambd = 1e-4, alpha = 0.75, t0 = 1e6, weightDecay = 0`. Not in optax.
 * @group Optimizers
 * @function
 */
export const asgd = /* @__PURE__ */ optimizerAlias(function asgd(learningRate: ScalarOrSchedule, options: AsgdOptions = {}): GradientTransformation<AsgdState> {
  checkOptions('asgd', options, ['lambd', 'alpha', 't0', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('asgd', () => chain(addDecayedWeights(weightDecay, { mask }), scaleByAsgd(learningRate, rest), scale(-1)));
});
