import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { clipByBlockRms, scaleByParamBlockRms } from '../transforms/block-norms.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { addDecayedWeights, type Mask } from '../transforms/decay.js';
import { ema } from '../transforms/ema.js';
import { scaleByLearningRate, scale } from '../transforms/scale.js';
import { scaleByFactoredRms } from '../transforms/factored.js';

// Runs as composite tf ops on every backend (no fused kernel yet).

/**
 * Options of {@link adafactor} (optax's, in camelCase; weight decay named as everywhere here).
 * @group Optimizer options and states
 */
export interface AdafactorOptions {
  /** Factor the second moment of a leaf only if its two largest dimensions are at least this. Default `128`. */
  minDimSizeToFactor?: number;
  /** Exponent of the second-moment decay schedule `1 - t^(-decayRate)`. Default `0.8`. */
  decayRate?: number;
  /** Step offset of that schedule (for fine-tuning). Default `0`. */
  decayOffset?: number;
  /** Multiply the updates by the RMS of each parameter leaf (floored at 1e-3). Default `true`. */
  multiplyByParameterScale?: boolean;
  /** Clip each leaf's update to this RMS, > 0; `null` turns clipping off. Default `1`. */
  clippingThreshold?: number | null;
  /** Decay of an (undebiased) moving average of the updates, in [0, 1); none by default. */
  momentum?: number;
  /** Decoupled weight-decay rate (a number >= 0 or a schedule); none by default. optax's `weight_decay_rate`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay). Default: all. optax's `weight_decay_mask`. */
  mask?: Mask;
  /** Added to the squared gradients. Default `1e-30`. */
  eps?: number;
  /** Use factored second moments at all. Default `true`. */
  factored?: boolean;
}

/**
 * Adafactor (Shazeer & Stern 2018, arXiv:1804.04235): updates scaled by a factored estimate of
 * the gradients' RMS (row and column statistics for large matrices, so sublinear memory), each
 * leaf's update clipped to an RMS of `clippingThreshold`, and steps relative to the size of the
 * parameters. As optax, the chain holds only the parts the options ask for:
 *
 *     adafactor(lr, o) = chain(
 *       scaleByFactoredRms({ factored, decayRate, stepOffset: decayOffset, minDimSizeToFactor, epsilon: eps }),
 *       clipByBlockRms(clippingThreshold),                     unless clippingThreshold is null
 *       scaleByLearningRate(lr, { flipSign: false }),          unless lr is null
 *       scaleByParamBlockRms(),                                 if multiplyByParameterScale
 *       ema({ decay: momentum, debias: false }),                if momentum is given
 *       addDecayedWeights(weightDecay, { mask }),               if weightDecay is given
 *       scale(-1))
 *
 * Defaults, as optax: `minDimSizeToFactor = 128, decayRate = 0.8, decayOffset = 0,
 * multiplyByParameterScale = true, clippingThreshold = 1, eps = 1e-30, factored = true`, no
 * momentum and no weight decay. Needs `params` when `multiplyByParameterScale`.
 *
 * `learningRate: null` is optax's `None`: the chain has no learning-rate part, so the step is
 * the relative one alone (its values equal `learningRate: 1`, bit for bit; the state has one
 * part fewer). Where we differ from optax: `learningRate` must be given (optax defaults it to
 * `None`; pass `null` for that); weight decay is `weightDecay` and `mask`, as on every
 * optimizer here (optax: `weight_decay_rate`, `weight_decay_mask`); there is no
 * `dtypeMomentum` (everything is float32).
 * @group Optimizers
 * @function
 */
export const adafactor = /* @__PURE__ */ optimizerAlias(function adafactor(learningRate: ScalarOrSchedule | null, options: AdafactorOptions = {}): GradientTransformation<any> {
  const owner = 'adafactor';
  checkOptions(owner, options, [
    'minDimSizeToFactor', 'decayRate', 'decayOffset', 'multiplyByParameterScale', 'clippingThreshold',
    'momentum', 'weightDecay', 'mask', 'eps', 'factored',
  ]);
  const multiplyByParameterScale = checkBoolean(owner, 'multiplyByParameterScale', options.multiplyByParameterScale ?? true);
  const clippingThreshold = options.clippingThreshold === undefined ? 1 : options.clippingThreshold;
  // Checked under adafactor's names before the transforms check them under their own.
  checkInteger(owner, 'decayOffset', options.decayOffset ?? 0, 0);
  checkNumber(owner, 'eps', options.eps ?? 1e-30, { min: 0 });
  return asOwner(owner, () => {
    const stages: GradientTransformation<any>[] = [
      scaleByFactoredRms({
        factored: options.factored ?? true,
        decayRate: options.decayRate ?? 0.8,
        stepOffset: options.decayOffset ?? 0,
        minDimSizeToFactor: options.minDimSizeToFactor ?? 128,
        epsilon: options.eps ?? 1e-30,
      }),
    ];
    if (clippingThreshold !== null) {
      checkNumber(owner, 'clippingThreshold', clippingThreshold, { min: 0, minInclusive: false });
      stages.push(clipByBlockRms(clippingThreshold));
    }
    if (learningRate !== null) stages.push(scaleByLearningRate(learningRate, { flipSign: false }));
    if (multiplyByParameterScale) stages.push(scaleByParamBlockRms());
    if (options.momentum !== undefined) stages.push(ema({ decay: checkRate(owner, 'momentum', options.momentum), debias: false }));
    if (options.weightDecay !== undefined) stages.push(addDecayedWeights(options.weightDecay, { mask: options.mask }));
    stages.push(scale(-1));
    return chain(...stages);
  });
});
