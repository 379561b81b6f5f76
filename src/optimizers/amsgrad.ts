import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAmsgrad, type ScaleByAmsgradOptions, type ScaleByAmsgradState } from '../transforms/amsgrad.js';

/**
 * Options of {@link amsgrad}.
 * @group Optimizer options and states
 */
export type AmsgradOptions = ScaleByAmsgradOptions;
/**
 * State of {@link amsgrad}: `[scaleByAmsgrad state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AmsgradState = [ScaleByAmsgradState, ScaleByLearningRateState];

/**
 * AMSGrad (Reddi, Kale & Kumar 2018): Adam with the running maximum of the bias-corrected
 * second moment in the denominator, as optax defines it.
 *
 *     amsgrad(lr, o) = chain(scaleByAmsgrad(o), scaleByLearningRate(lr))
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, biasCorrectionMu = true,
 * biasCorrectionNu = true`; turn both corrections off for the paper's form.
 * @group Optimizers
 * @function
 */
export const amsgrad = /* @__PURE__ */ optimizerAlias(function amsgrad(learningRate: ScalarOrSchedule, options: AmsgradOptions = {}): GradientTransformation<AmsgradState> {
  return asOwner('amsgrad', () => chain(scaleByAmsgrad(options), scaleByLearningRate(learningRate)));
});

