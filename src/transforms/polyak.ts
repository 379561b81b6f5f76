import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import type { EmptyState, GradientTransformation } from '../types.js';
import { checkFloatTrees, mapFloatLeaves } from '../internal/leaves.js';
import { checkChoice, checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { treeL2Norm } from '../tree/math.js';
import { readValue } from './reduce-on-plateau.js';

/**
 * Options of {@link scaleByPolyak}.
 * @group Transform options and states
 */
export interface ScaleByPolyakOptions {
  /** A lower bound on the loss (0 for models that interpolate the data). Default `0`. */
  fMin?: number;
  /** The largest step size, >= 0. Default `1`. */
  maxLearningRate?: number;
  /** Added to the squared gradient norm, >= 0. Default `0`. */
  eps?: number;
  /** `'sps'` (the default), or `'sps+'`, which clips a negative gap `value - fMin` to 0. */
  variant?: 'sps' | 'sps+';
}

/**
 * At or below this, `|g|^2 + eps` counts as zero and the step is 0: float64's machine epsilon,
 * 2^-52, optax's `jnp.finfo(float).eps` (a float64 epsilon whatever the dtype of the updates).
 */
const ZERO_NORM = Number.EPSILON;

/** The options of {@link scaleByPolyak}, checked, with defaults filled in. */
function polyakOptions(owner: string, options: ScaleByPolyakOptions): Required<ScaleByPolyakOptions> {
  const variant = checkChoice(owner, 'variant', options.variant ?? 'sps', ['sps', 'sps+'] as const);
  return {
    fMin: checkNumber(owner, 'fMin', options.fMin ?? 0),
    maxLearningRate: checkNumber(owner, 'maxLearningRate', options.maxLearningRate ?? 1, { min: 0 }),
    eps: checkNumber(owner, 'eps', options.eps ?? 0, { min: 0 }),
    variant,
  };
}

/**
 * Scales updates by the Polyak step size (Loizou et al. 2021, "Stochastic Polyak step-size for
 * SGD", arXiv:2002.10542; Berrada et al. 2020), reading the loss from `extra.value`:
 *
 *     gap = value - fMin                  ('sps+': max(gap, 0))
 *     step = |g|^2 + eps <= 2^-52 ? 0 : min(gap / (|g|^2 + eps), maxLearningRate)
 *     u = step * g
 *
 * with `|g|^2` the squared norm over the whole tree. The cut-off is optax's, float64's machine
 * epsilon (2.2e-16): only a gradient that is zero to float64 precision stops the step, so the
 * iterates keep closing in on the optimum long after `|g|^2` falls below float32's epsilon.
 * `update(updates, state, params, { value })`; without `extra.value` it throws an `Error` naming
 * the field. Defaults, as optax: `fMin = 0, maxLearningRate = 1, eps = 0, variant = 'sps'`. No
 * state.
 *
 * The squared norm is read back once per update (a GPU sync, like reading the loss) so that the
 * step and the cut-off are computed in float64 as JS numbers; optax computes them in float32.
 * @group Transforms
 */
export function scaleByPolyak(options: ScaleByPolyakOptions = {}): GradientTransformation<EmptyState> {
  const owner = ownerOr('scaleByPolyak');
  checkOptions(owner, options, ['fMin', 'maxLearningRate', 'eps', 'variant']);
  const o = polyakOptions(owner, options);
  return declareState<EmptyState>(owner, {}, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return {};
    },
    update: (updates, state, _params, extra) => {
      checkFloatTrees(owner, ['updates'], [updates]);
      const value = readValue(owner, extra);
      const norm = treeL2Norm(updates, { squared: true });
      const squaredNorm = norm.dataSync()[0];
      norm.dispose();
      const gap = o.variant === 'sps+' ? Math.max(value - o.fMin, 0) : value - o.fMin;
      const denominator = squaredNorm + o.eps;
      const step = denominator <= ZERO_NORM ? 0 : Math.min(gap / denominator, o.maxLearningRate);
      const out = tidy(() => {
        const s = tf.scalar(step);
        return mapFloatLeaves(owner, ['updates'], [updates], (g) => tf.mul(s, g));
      }) as typeof updates;
      return [out, state];
    },
  });
}
