import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { checkOptions } from '../internal/options.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleBySophia, type HutchinsonState, type ScaleBySophiaOptions, type ScaleBySophiaState } from '../transforms/sophia.js';

/**
 * Options of {@link sophia}.
 * @group Optimizer options and states
 */
export interface SophiaOptions extends ScaleBySophiaOptions {
  /** Decoupled weight decay, added to the direction before the learning rate (a number >= 0 or a schedule). Default `1e-4`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params (optax's `weight_decay_mask`). Default: all. */
  mask?: Mask;
}

/**
 * State of {@link sophia}: `[scaleBySophia state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type SophiaState<H = HutchinsonState> = [ScaleBySophiaState<H>, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * Sophia (Liu et al. 2023, "Sophia: A Scalable Stochastic Second-order Optimizer for Language
 * Model Pre-training", arXiv:2305.14342), sophiaH as optax contrib: a gradient average divided by
 * a clipped average of Hutchinson estimates of the Hessian's diagonal, see {@link scaleBySophia}.
 *
 *     sophia(lr, o) = chain(scaleBySophia(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *
 * The Hessian estimate needs the loss as a function: every `updateInterval`-th step (the first
 * included) reads `extra.valueFn`,
 *
 *     const [updates, next] = tx.update(grads, state, params, { valueFn: (p) => loss(p, batch) });
 *
 * (optax's `obj_fn`), which must compute a scalar tensor with tf ops from its argument; tfjs's
 * gradients must be registered (see `valueAndGrad`). Composite (tf ops) on every backend.
 * Defaults: `b1 = 0.965, b2 = 0.99, eps = 1e-8, weightDecay = 1e-4, gamma = 0.01,
 * clipThreshold = 1, updateInterval = 10, seed = 0`.
 * @group Optimizers
 * @function
 */
export const sophia = /* @__PURE__ */ optimizerAlias(function sophia(learningRate: ScalarOrSchedule, options: SophiaOptions = {}): GradientTransformation<SophiaState> {
  checkOptions('sophia', options, ['b1', 'b2', 'eps', 'gamma', 'clipThreshold', 'updateInterval', 'hessianDiagonalFn', 'seed', 'weightDecay', 'mask']);
  const { weightDecay = 1e-4, mask, ...rest } = options;
  return asOwner('sophia', () => chain(scaleBySophia(rest), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});
