import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { checkOptions } from '../internal/options.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByCocob, type ScaleByCocobOptions, type ScaleByCocobState } from '../transforms/cocob.js';

/**
 * Options of {@link cocob}.
 * @group Optimizer options and states
 */
export interface CocobOptions extends ScaleByCocobOptions {
  /** L2 weight decay added to the gradient before the bet (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link cocob}: `[weight-decay state, learning-rate state, scaleByCocob state]`.
 * @group Optimizer options and states
 */
export type CocobState = [AddDecayedWeightsState, ScaleByLearningRateState, ScaleByCocobState];

/**
 * COCOB-Backprop (Orabona & Tommasi 2017, "Training Deep Networks without Learning Rates
 * Through Coin Betting", arXiv:1705.07795), as optax contrib: a learning-rate-free optimizer
 * that bets on each element's gradient sign, see {@link scaleByCocob}.
 *
 *     cocob(lr, o) = chain(addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr, { flipSign: false }), scaleByCocob(o))
 *
 * The learning rate multiplies the gradient the bet sees (1 by default: a schedule can be put
 * there, as in optax); the weight decay is L2, added to the gradient first. The update is the
 * bet's step itself. Needs `params`, and the real parameters at `init`. Defaults:
 * `learningRate = 1, alpha = 100, eps = 1e-8, weightDecay = 0`.
 * @group Optimizers
 * @function
 */
export const cocob = /* @__PURE__ */ optimizerAlias(function cocob(learningRate: ScalarOrSchedule = 1, options: CocobOptions = {}): GradientTransformation<CocobState> {
  checkOptions('cocob', options, ['alpha', 'eps', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('cocob', () =>
    chain(addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate, { flipSign: false }), scaleByCocob(rest)),
  );
});
