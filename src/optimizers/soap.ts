import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions, checkScalarOrSchedule, evaluateSchedule } from '../internal/options.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleBySoap, type ScaleBySoapOptions, type ScaleBySoapState } from '../transforms/soap.js';

// Runs as tf ops on every backend (no fused kernel), with its factorisations in float64 JS.

/**
 * Options of {@link soap}.
 * @group Optimizer options and states
 */
export interface SoapOptions extends ScaleBySoapOptions {
  /** Decoupled weight decay (a number >= 0 or a schedule), none at the first update. Default `0.01`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link soap}: `[scaleBySoap state, addDecayedWeights state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type SoapState = [ScaleBySoapState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * SOAP (Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam",
 * arXiv:2409.11321): Adam in the eigenbasis of Shampoo's preconditioner, refreshed every
 * `precondFrequency` steps by one power iteration and a QR, as the authors' reference
 * implementation (github.com/nikhilvyas/SOAP):
 *
 *     soap(lr, o) = chain(scaleBySoap(o), addDecayedWeights(count == 0 ? 0 : o.weightDecay, { mask: o.mask }),
 *                         scaleByLearningRate(lr))
 *     u = -lr * (sqrt(1 - b2^t) / (1 - b1^t) * N + weightDecay * p)      (0 at the first update)
 *
 * with `N` the projected-back Adam direction of {@link scaleBySoap}. The first update only sets
 * up the eigenbases and changes nothing, weight decay included, as the reference's skipped first
 * step. Weight decay is decoupled and multiplied by the learning rate, as optax's `adamw`; the
 * reference decays the already-stepped parameters, `p <- (p - lr s N)(1 - lr wd)`, which differs
 * from this by `lr^2 * wd * s * N` per step (`9e-8 * s * N` at the defaults).
 *
 * Defaults, as the reference: `learningRate = 3e-3, b1 = 0.95, b2 = 0.95, shampooBeta = -1
 * (= b2), eps = 1e-8, weightDecay = 0.01, precondFrequency = 10, maxPrecondDim = 10000,
 * mergeDims = false, precondition1d = false, normalizeGrads = false, correctBias = true`.
 * @group Optimizers
 * @function
 */
export const soap = /* @__PURE__ */ optimizerAlias(function soap(learningRate: ScalarOrSchedule = 3e-3, options: SoapOptions = {}): GradientTransformation<SoapState> {
  const owner = 'soap';
  checkOptions(owner, options, [
    'b1', 'b2', 'shampooBeta', 'eps', 'weightDecay', 'mask', 'precondFrequency', 'maxPrecondDim',
    'mergeDims', 'precondition1d', 'normalizeGrads', 'correctBias',
  ]);
  const { weightDecay = 0.01, mask, ...soapOptions } = options;
  const wd = checkScalarOrSchedule(owner, 'weightDecay', weightDecay, { min: 0 });
  // No decay at the first update, which the reference skips entirely.
  const decay: ScalarOrSchedule = wd === 0 ? 0 : (count: number) => (count === 0 ? 0 : typeof wd === 'number' ? wd : evaluateSchedule(owner, 'weightDecay', wd, count));
  return asOwner(owner, () => chain(scaleBySoap(soapOptions), addDecayedWeights(decay, { mask }), scaleByLearningRate(learningRate)));
});
