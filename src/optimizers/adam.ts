import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { ADAM_KEYS, scaleByAdam, type ScaleByAdamOptions, type ScaleByAdamState } from '../transforms/adaptive.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';

/**
 * Options of {@link adam} and {@link nadam}.
 * @group Optimizer options and states
 */
export type AdamOptions = ScaleByAdamOptions;

/**
 * State of {@link adam}: `[scaleByAdam state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdamState = [ScaleByAdamState, ScaleByLearningRateState];

/**
 * Adam (Kingma & Ba 2015, arXiv:1412.6980):
 *
 *     adam(lr, o) = chain(scaleByAdam(o), scaleByLearningRate(lr))
 *     u = -lr * muHat / (sqrt(nuHat + epsRoot) + eps)
 *
 * See {@link scaleByAdam} for the moments. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8,
 * epsRoot = 0, nesterov = false` (optax's and PyTorch's; `tf.train.adam` defaults `eps` to 1e-7).
 * @function
 * @group Optimizers
 */
export const adam = /* @__PURE__ */ optimizerAlias(function adam(learningRate: ScalarOrSchedule, options: AdamOptions = {}): GradientTransformation<AdamState> {
  return asOwner('adam', () => chain(scaleByAdam(options), scaleByLearningRate(learningRate)));
});

/**
 * NAdam (Dozat 2016, "Incorporating Nesterov Momentum into Adam"): `adam` with
 * `nesterov: true`, i.e. the first moment is replaced by its one-step look-ahead
 * `b1 * mu / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)`. Same defaults as {@link adam}.
 * @group Optimizers
 * @function
 */
export const nadam = /* @__PURE__ */ optimizerAlias(function nadam(learningRate: ScalarOrSchedule, options: Omit<AdamOptions, 'nesterov'> = {}): GradientTransformation<AdamState> {
  checkOptions('nadam', options, ['b1', 'b2', 'eps', 'epsRoot', 'stateDtype']);
  return asOwner('nadam', () => chain(scaleByAdam({ ...options, nesterov: true }), scaleByLearningRate(learningRate)));
});

/**
 * Options of {@link adamw}.
 * @group Optimizer options and states
 */
export interface AdamwOptions extends ScaleByAdamOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule). Default `1e-4`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link adamw}: `[scaleByAdam state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdamwState = [ScaleByAdamState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, arXiv:1711.05101):
 *
 *     adamw(lr, o) = chain(scaleByAdam(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *     u = -lr * (muHat / (sqrt(nuHat + epsRoot) + eps) + weightDecay * p)
 *
 * The decay is multiplied by the learning rate (optax's and PyTorch's convention; the paper
 * writes a separate schedule multiplier), and is applied to the parameters, not added to the
 * gradient before the moments. That is **not** the same as L2 regularisation with Adam, which
 * is `chain(addDecayedWeights(wd), adam(lr))`: there the decay term is rescaled by the adaptive
 * denominator. Defaults: as {@link adam}, plus `weightDecay = 1e-4` (optax's; PyTorch uses 1e-2)
 * and no mask (every parameter decays; biases and norm scales are often masked out).
 * @group Optimizers
 * @function
 */
export const adamw = /* @__PURE__ */ optimizerAlias(function adamw(learningRate: ScalarOrSchedule, options: AdamwOptions = {}): GradientTransformation<AdamwState> {
  checkOptions('adamw', options, [...ADAM_KEYS, 'weightDecay', 'mask']);
  const { weightDecay = 1e-4, mask, ...rest } = options;
  return asOwner('adamw', () => chain(scaleByAdam(rest), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});

/**
 * NAdamW: {@link adamw} with `nesterov: true` (optax's `nadamw`), i.e. NAdam's look-ahead first
 * moment (Dozat 2016) with decoupled weight decay (Loshchilov & Hutter 2019):
 *
 *     nadamw(lr, o) = chain(scaleByAdam({ ...o, nesterov: true }), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *
 * Same defaults as {@link adamw} (`weightDecay = 1e-4`), and the same fused kernel.
 * @group Optimizers
 * @function
 */
export const nadamw = /* @__PURE__ */ optimizerAlias(function nadamw(learningRate: ScalarOrSchedule, options: Omit<AdamwOptions, 'nesterov'> = {}): GradientTransformation<AdamwState> {
  checkOptions('nadamw', options, ['b1', 'b2', 'eps', 'epsRoot', 'stateDtype', 'weightDecay', 'mask']);
  const { weightDecay = 1e-4, mask, ...rest } = options;
  return asOwner('nadamw', () =>
    chain(scaleByAdam({ ...rest, nesterov: true }), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)),
  );
});
