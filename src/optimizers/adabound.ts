import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scale } from '../transforms/scale.js';
import { scaleByAdabound, type ScaleByAdaboundOptions, type ScaleByAdaboundState } from '../transforms/adabound.js';

/**
 * Options of {@link adabound}.
 * @group Optimizer options and states
 */
export interface AdaboundOptions extends ScaleByAdaboundOptions {
  /** L2 weight decay added to the gradient before the moments (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link adabound}: `[weight-decay state, scaleByAdabound state, scale(-1) state]`.
 * @group Optimizer options and states
 */
export type AdaboundState = [AddDecayedWeightsState, ScaleByAdaboundState, EmptyState];

/**
 * AdaBound (Luo et al. 2019, arXiv:1902.09843): Adam with each element's step size clipped into
 * `[final * (1 - 1/(gamma t + 1)), final * (1 + 1/(gamma t))]`, a band that closes on the SGD
 * step size `final = finalLr * lr / lr0` (see {@link scaleByAdabound}), so it starts like Adam and
 * ends like SGD with momentum.
 *
 *     adabound(lr, o) = chain(addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByAdabound(lr, o), scale(-1))
 *
 * Weight decay is L2 added to the gradient before the moments, as in the reference
 * implementation (`grad + weight_decay * p`); the learning rate is inside `scaleByAdabound`
 * because the band bounds the step itself. Defaults: `finalLr = 0.1, gamma = 1e-3, b1 = 0.9,
 * b2 = 0.999, eps = 1e-8, weightDecay = 0`. Not in optax.
 * @group Optimizers
 * @function
 */
export const adabound = /* @__PURE__ */ optimizerAlias(function adabound(learningRate: ScalarOrSchedule, options: AdaboundOptions = {}): GradientTransformation<AdaboundState> {
  checkOptions('adabound', options, ['finalLr', 'gamma', 'b1', 'b2', 'eps', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('adabound', () => chain(addDecayedWeights(weightDecay, { mask }), scaleByAdabound(learningRate, rest), scale(-1)));
});
