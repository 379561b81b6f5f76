import { optimizerAlias } from '../internal/aliases.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chainFor } from '../combine/chain.js';
import { learningRateWithOwner, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByAdamaxFor, type ScaleByAdamaxOptions, type ScaleByAdamaxState } from '../transforms/adamax.js';

// Runs as composite tf ops on every backend (no fused kernel yet).

/** Options of {@link adamax}. */
export type AdamaxOptions = ScaleByAdamaxOptions;
/** State of {@link adamax}: `[scaleByAdamax state, learning-rate state]`. */
export type AdamaxState = [ScaleByAdamaxState, ScaleByLearningRateState];

/**
 * Adamax (Kingma & Ba 2015, section 7.1), Adam with the infinity norm:
 *
 *     adamax(lr, o) = chain(scaleByAdamax(o), scaleByLearningRate(lr))
 *     u = -lr * (mu / (1 - b1^t)) / max(|g| + eps, b2 * nu)
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8` (optax's).
 */
export const adamax = /* @__PURE__ */ optimizerAlias(function adamax(learningRate: ScalarOrSchedule, options: AdamaxOptions = {}): GradientTransformation<AdamaxState> {
  return chainFor('adamax', scaleByAdamaxFor('adamax', options), learningRateWithOwner('adamax', learningRate));
});

