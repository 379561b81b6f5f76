import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByBelief, type ScaleByBeliefOptions, type ScaleByBeliefState } from '../transforms/adabelief.js';

/**
 * Options of {@link adabelief}.
 * @group Optimizer options and states
 */
export interface AdabeliefOptions extends ScaleByBeliefOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule). Default: none (no decay step in the chain). */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params; needs `weightDecay`. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link adabelief}: `[scaleByBelief state, learning-rate state]`, or with
 * `weightDecay`, `[scaleByBelief state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdabeliefState =
  | [ScaleByBeliefState, ScaleByLearningRateState]
  | [ScaleByBeliefState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * AdaBelief (Zhuang et al. 2020, arXiv:2010.07468): Adam with the second moment of the
 * gradient's deviation from its mean, see {@link scaleByBelief}.
 *
 *     adabelief(lr, o) = chain(scaleByBelief(o), scaleByLearningRate(lr))
 *     adabelief(lr, { weightDecay, mask, ...o })
 *                      = chain(scaleByBelief(o), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(lr))
 *
 * As in optax, weight decay is off unless `weightDecay` is given (`weightDecay: 0` keeps the
 * decay step, and its `weightDecay` hyperparameter, in the chain), and it is multiplied by the
 * learning rate. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-16, epsRoot = 1e-16,
 * nesterov = false` (optax's; the paper uses `eps = 1e-8, epsRoot = 0`). `mask` without
 * `weightDecay` is a `TypeError` (optax ignores it).
 * @group Optimizers
 * @function
 */
export const adabelief = /* @__PURE__ */ optimizerAlias(function adabelief(learningRate: ScalarOrSchedule, options: AdabeliefOptions = {}): GradientTransformation<AdabeliefState> {
  const owner = 'adabelief';
  checkOptions(owner, options, ['b1', 'b2', 'eps', 'epsRoot', 'nesterov', 'stateDtype', 'weightDecay', 'mask']);
  const { weightDecay, mask, ...rest } = options;
  if (weightDecay === undefined) {
    if (mask !== undefined) throw new TypeError(`${owner}: option 'mask' needs 'weightDecay' (e.g. { weightDecay: 1e-4, mask })`);
    return asOwner(owner, () => chain(scaleByBelief(rest), scaleByLearningRate(learningRate)));
  }
  return asOwner(owner, () => chain(scaleByBelief(rest), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});
