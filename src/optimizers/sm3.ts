import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions, checkRate } from '../internal/options.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleBySm3, type ScaleBySm3State } from '../transforms/sm3.js';

// Runs as composite tf ops on every backend (no fused kernel yet).

/**
 * Options of {@link sm3}.
 * @group Optimizer options and states
 */
export interface Sm3Options {
  /** Decay of the momentum (scaleBySm3's `b1`), in [0, 1). Default `0.9`. */
  momentum?: number;
}

/**
 * State of {@link sm3}: `[scaleBySm3 state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type Sm3State = [ScaleBySm3State, ScaleByLearningRateState];

/**
 * SM3 (Anil et al. 2019, arXiv:1901.11150): a memory-efficient AdaGrad with momentum.
 *
 *     sm3(lr, o) = chain(scaleBySm3({ b1: o.momentum }), scaleByLearningRate(lr))
 *
 * Defaults: `momentum = 0.9` (and scaleBySm3's `b2 = 1, eps = 1e-8`). optax ends its chain with
 * `scale(-learningRate)`, which takes no schedule; `scaleByLearningRate` gives the same numbers
 * and also takes a schedule, kept in the state as `learningRate`.
 * @group Optimizers
 * @function
 */
export const sm3 = /* @__PURE__ */ optimizerAlias(function sm3(learningRate: ScalarOrSchedule, options: Sm3Options = {}): GradientTransformation<Sm3State> {
  const owner = 'sm3';
  checkOptions(owner, options, ['momentum']);
  // 'momentum' here is the transform's 'b1': checked under the user's name.
  const momentum = checkRate(owner, 'momentum', options.momentum ?? 0.9);
  return asOwner(owner, () => chain(scaleBySm3({ b1: momentum }), scaleByLearningRate(learningRate)));
});
