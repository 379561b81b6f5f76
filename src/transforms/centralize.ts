import * as tf from '@tensorflow/tfjs-core';
import type { EmptyState, GradientTransformation } from '../types.js';
import { mapFloatLeaves } from '../internal/leaves.js';
import { tidy } from '../tree/tidy.js';
import { declareState } from '../internal/state.js';

/**
 * Gradient centralization (Yong et al. 2020, arXiv:2004.01461): from every leaf of rank 2 or
 * more, subtracts its mean over all axes but the first, so each slice `g[i]` has mean zero;
 * leaves of rank 0 and 1 pass through unchanged. As optax's `centralize`:
 *
 *     u[i, ...] = g[i, ...] - mean(g[i, ...])      (rank >= 2)
 *     u = g                                          (rank <= 1)
 *
 * tfjs stores a dense kernel as `[inputs, outputs]` where JAX/Flax uses the same layout, so the
 * slices are along the input axis in both. State: `{}`.
 * @group Transforms
 */
export function centralize(): GradientTransformation<EmptyState> {
  const owner = 'centralize';
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state) =>
      tidy(() => {
        const out = mapFloatLeaves(owner, ['updates'], [updates], (g) => {
          if (g.rank < 2) return g;
          const axes = Array.from({ length: g.rank - 1 }, (_, i) => i + 1);
          return tidy(() => tf.sub(g, tf.mean(g, axes, true)));
        });
        return [out, state];
      }) as [typeof updates, EmptyState],
  });
}
