import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { checkOptions } from '../internal/options.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAcprop, type ScaleByAcpropOptions, type ScaleByAcpropState } from '../transforms/acprop.js';

/**
 * Options of {@link acprop}.
 * @group Optimizer options and states
 */
export interface AcpropOptions extends ScaleByAcpropOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule), times the learning rate. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link acprop}: `[scaleByAcprop state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AcpropState = [ScaleByAcpropState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * ACProp (Zhuang et al. 2021, "Momentum Centering and Asynchronous Update for Adaptive Gradient
 * Methods", arXiv:2110.05454), as optax contrib: AdaBelief's centred second moment, used one
 * step late, see {@link scaleByAcprop}.
 *
 *     acprop(lr, o) = chain(scaleByAcprop(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *     u = -lr * (g / (sqrt(nu / (1 - b2^k)) + eps) + weightDecay * p)
 *
 * The weight decay is multiplied by the learning rate, as in optax and PyTorch. Defaults:
 * `b1 = 0.9, b2 = 0.999, eps = 1e-16, epsRoot = 1e-16, weightDecay = 0`.
 * @group Optimizers
 * @function
 */
export const acprop = /* @__PURE__ */ optimizerAlias(function acprop(learningRate: ScalarOrSchedule, options: AcpropOptions = {}): GradientTransformation<AcpropState> {
  checkOptions('acprop', options, ['b1', 'b2', 'eps', 'epsRoot', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('acprop', () => chain(scaleByAcprop(rest), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});
