import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAdopt, type ScaleByAdoptOptions, type ScaleByAdoptState } from '../transforms/adopt.js';

/**
 * Options of {@link adopt}.
 * @group Optimizer options and states
 */
export type AdoptOptions = ScaleByAdoptOptions;
/**
 * State of {@link adopt}: `[scaleByAdopt state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type AdoptState = [ScaleByAdoptState, ScaleByLearningRateState];

/**
 * ADOPT (Taniguchi et al. 2024, arXiv:2411.02853), as optax contrib: Adam whose gradient is
 * normalised by the previous steps' second moment before the momentum, with optional clipping.
 *
 *     adopt(lr, o) = chain(scaleByAdopt(o), scaleByLearningRate(lr))
 *
 * The first update is zero (it only records `g^2`). Defaults: `b1 = 0.9, b2 = 0.9999,
 * eps = 1e-6, nesterov = false, useClipping = true, clipValueFn = (k) => k ** 0.25`.
 * @group Optimizers
 * @function
 */
export const adopt = /* @__PURE__ */ optimizerAlias(function adopt(learningRate: ScalarOrSchedule, options: AdoptOptions = {}): GradientTransformation<AdoptState> {
  return asOwner('adopt', () => chain(scaleByAdopt(options), scaleByLearningRate(learningRate)));
});
