import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAdamax, type ScaleByAdamaxOptions, type ScaleByAdamaxState } from '../transforms/adamax.js';

/**
 * Options of {@link adamax}.
 * @group Optimizer options and states
 */
export type AdamaxOptions = ScaleByAdamaxOptions;
/**
 * State of {@link adamax}: `[scaleByAdamax state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdamaxState = [ScaleByAdamaxState, ScaleByLearningRateState];

/**
 * Adamax (Kingma & Ba 2015, section 7.1), Adam with the infinity norm:
 *
 *     adamax(lr, o) = chain(scaleByAdamax(o), scaleByLearningRate(lr))
 *     u = -lr * (mu / (1 - b1^t)) / max(|g| + eps, b2 * nu)
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8` (optax's).
 * @group Optimizers
 * @function
 */
export const adamax = /* @__PURE__ */ optimizerAlias(function adamax(learningRate: ScalarOrSchedule, options: AdamaxOptions = {}): GradientTransformation<AdamaxState> {
  return asOwner('adamax', () => chain(scaleByAdamax(options), scaleByLearningRate(learningRate)));
});


/**
 * Options of {@link adamaxw}.
 * @group Optimizer options and states
 */
export interface AdamaxwOptions extends ScaleByAdamaxOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule). Default `1e-4`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link adamaxw}: `[scaleByAdamax state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdamaxwState = [ScaleByAdamaxState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * AdamaxW: Adamax with decoupled weight decay (Loshchilov & Hutter 2019, arXiv:1711.05101), as
 * optax composes it:
 *
 *     adamaxw(lr, o) = chain(scaleByAdamax(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *     u = -lr * ((mu / (1 - b1^t)) / nu + weightDecay * p)
 *
 * The decay is multiplied by the learning rate (optax's and PyTorch's convention). Defaults:
 * `b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 1e-4`, no mask (every parameter decays).
 * @group Optimizers
 * @function
 */
export const adamaxw = /* @__PURE__ */ optimizerAlias(function adamaxw(learningRate: ScalarOrSchedule, options: AdamaxwOptions = {}): GradientTransformation<AdamaxwState> {
  checkOptions('adamaxw', options, ['b1', 'b2', 'eps', 'weightDecay', 'mask']);
  const { weightDecay = 1e-4, mask, ...rest } = options;
  return asOwner('adamaxw', () => chain(scaleByAdamax(rest), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});
