import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { checkOptions } from '../internal/options.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByMadgrad, type ScaleByMadgradOptions, type ScaleByMadgradState } from '../transforms/madgrad.js';

/**
 * Options of {@link madgrad}.
 * @group Optimizer options and states
 */
export interface MadgradOptions extends ScaleByMadgradOptions {
  /** L2 weight decay added to the gradient before the sums (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link madgrad}: `[weight-decay state, scaleByMadgrad state]` (the learning rate is in
 * the second).
 * @group Optimizer options and states
 */
export type MadgradState = [AddDecayedWeightsState, ScaleByMadgradState];

/**
 * MADGRAD (Defazio & Jelassi 2021, "Adaptivity without Compromise: A Momentumized, Adaptive,
 * Dual Averaged Gradient Method for Stochastic Optimization", arXiv:2101.11075), as optax
 * contrib: dual averaging with a cube-root denominator, see {@link scaleByMadgrad}.
 *
 *     madgrad(lr, o) = chain(addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByMadgrad(lr, o))
 *
 * The weight decay is L2, added to the gradient first, as in optax and the authors' code. The
 * learning rate weights the sums inside `scaleByMadgrad`, whose update is the step itself.
 * Needs `params`, and the real parameters at `init`. Runs as tf ops (composite) on every
 * backend. Defaults: `momentum = 0.9, eps = 1e-6, weightDecay = 0`.
 * @group Optimizers
 * @function
 */
export const madgrad = /* @__PURE__ */ optimizerAlias(function madgrad(learningRate: ScalarOrSchedule, options: MadgradOptions = {}): GradientTransformation<MadgradState> {
  checkOptions('madgrad', options, ['momentum', 'eps', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('madgrad', () => chain(addDecayedWeights(weightDecay, { mask }), scaleByMadgrad(learningRate, rest)));
});
