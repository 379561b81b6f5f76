import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAdan, type ScaleByAdanOptions, type ScaleByAdanState } from '../transforms/adan.js';

/**
 * Options of {@link adan}.
 * @group Optimizer options and states
 */
export interface AdanOptions extends ScaleByAdanOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link adan}: `[scaleByAdan state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdanState = [ScaleByAdanState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * Adan (Xie et al. 2022, arXiv:2208.06677): Adam-like moments of the gradient and of its change
 * between steps, a Nesterov-style look-ahead without a second gradient evaluation, and
 * decoupled weight decay as in AdamW.
 *
 *     adan(lr, o) = chain(scaleByAdan(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *
 * Defaults, as optax: `b1 = 0.98, b2 = 0.92, b3 = 0.99, eps = 1e-8, epsRoot = 1e-8`
 * (the transform's own default is 0), `weightDecay = 0`. The weight decay is subtracted,
 * `p * lr * weightDecay`, as optax does; the paper and the authors' default divide the
 * parameters by `1 + lr * weightDecay` instead. The gradient difference is weighted by `b2` as in
 * the paper, not by optax's `1 - b2`; see {@link scaleByAdan}.
 * @group Optimizers
 * @function
 */
export const adan = /* @__PURE__ */ optimizerAlias(function adan(learningRate: ScalarOrSchedule, options: AdanOptions = {}): GradientTransformation<AdanState> {
  checkOptions('adan', options, ['b1', 'b2', 'b3', 'eps', 'epsRoot', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('adan', () =>
    chain(scaleByAdan({ ...rest, epsRoot: rest.epsRoot ?? 1e-8 }), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)),
  );
});
