import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByPolyak } from '../transforms/polyak.js';

// Runs as composite tf ops on every backend (no fused kernel yet).

/**
 * Options of {@link polyakSgd}.
 * @group Optimizer options and states
 */
export interface PolyakSgdOptions {
  /**
   * Scales the gradient before the Polyak step is computed from it (a number >= 0 or a
   * schedule), as optax's code: see {@link polyakSgd}. Default `1`.
   */
  scaling?: ScalarOrSchedule;
  /** A lower bound on the loss. Default `0`. */
  fMin?: number;
  /** Added to the squared gradient norm, >= 0. Default `0`. */
  eps?: number;
  /** `'sps'` (the default) or `'sps+'`. */
  variant?: 'sps' | 'sps+';
}

/**
 * State of {@link polyakSgd}: `[scaling state, scaleByPolyak state (empty)]`.
 * @group Optimizer options and states
 */
export type PolyakSgdState = [ScaleByLearningRateState, EmptyState];

/**
 * SGD with the Polyak step size (Loizou et al. 2021, arXiv:2002.10542): the step is
 * `min((loss - fMin) / (|g|^2 + eps), maxLearningRate)`. Needs the loss:
 * `update(grads, state, params, { value: loss })`.
 *
 *     polyakSgd(maxLearningRate, o) = chain(scaleByLearningRate(o.scaling), scaleByPolyak({ maxLearningRate, fMin, eps, variant }))
 *     u = -s * min(gap / (s^2 |g|^2 + eps), maxLearningRate) * g        (s = scaling, gap = loss - fMin)
 *
 * This is optax's code (`chain(sgd(scaling), scale_by_polyak(...))`): the Polyak step is taken
 * of the scaled gradient `-s g`, so below the cap the step is `gap / (s |g|^2)` (with `eps = 0`):
 * a `scaling` under 1 makes it longer, and only at the cap does it multiply the step. optax's
 * docstring writes `s * min(gap / (|g|^2 + eps), maxLearningRate)` instead; that is
 * `chain(scaleByPolyak(o), scaleByLearningRate(s))`. The two agree for `scaling = 1`.
 *
 * Defaults, as optax: `maxLearningRate = 1, scaling = 1, fMin = 0, eps = 0, variant = 'sps'`.
 * `scaling` is kept in the state by `scaleByLearningRate`, so under the name `learningRate`:
 * `getHyperparam(state, 'learningRate')` reads the scaling the next update uses.
 * @group Optimizers
 * @function
 */
export const polyakSgd = /* @__PURE__ */ optimizerAlias(function polyakSgd(
  maxLearningRate: ScalarOrSchedule = 1,
  options: PolyakSgdOptions = {},
): GradientTransformation<PolyakSgdState> {
  const owner = 'polyakSgd';
  checkOptions(owner, options, ['scaling', 'fMin', 'eps', 'variant']);
  if (typeof maxLearningRate === 'function') {
    throw new TypeError(`${owner}: option 'maxLearningRate' must be a number, got a function (use 'scaling' for a schedule)`);
  }
  const { scaling = 1, ...rest } = options;
  return asOwner(
    owner,
    () => chain(scaleByLearningRate(scaling), scaleByPolyak({ ...rest, maxLearningRate })),
    { rename: { learningRate: 'scaling' } }, // messages about the rate name the option the user gave
  );
});
