import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, Updates } from '../types.js';
import { checkFloatTrees, flattenFloatTrees } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkRequired } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { checkTrees, formatPath, type TreePath } from '../tree/walk.js';
import { noiseSeed } from './noise.js';

/**
 * Options of {@link differentiallyPrivateAggregate} (and of `dpsgd`).
 * @group Transform options and states
 */
export interface DifferentiallyPrivateAggregateOptions {
  /** The largest L2 norm an example's gradient (over the whole tree) keeps, a finite number >= 0. Required. */
  l2NormClip: number;
  /** The noise's standard deviation over `l2NormClip`, a finite number >= 0. Required. */
  noiseMultiplier: number;
  /** Seed of the noise, a whole number in [0, 2^32). Default `0`. */
  seed?: number;
}

/**
 * State of {@link differentiallyPrivateAggregate}: the number of updates done (it picks the noise,
 * as `addNoise`'s count does; optax keeps a PRNG key).
 * @group Transform options and states
 */
export interface DifferentiallyPrivateAggregateState {
  /** Updates done so far (a JS number, `0` after `init`); the next update draws with `t = count + 1`. */
  count: number;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * The batch size of per-example gradients (every leaf `[batch, ...param shape]`), after checking
 * them: against the params' shapes where params are given, else that every leaf has an axis 0 of
 * one length, as optax checks. The error says what per-example gradients are.
 */
function batchSize(owner: string, updates: Updates, params: Params | undefined): number {
  const [[leaves]] = flattenFloatTrees(owner, ['updates'], [updates]);
  const expected = 'per-example gradients, stacked on axis 0 (each leaf of shape [batch, ...the parameter\'s shape])';
  if (params !== undefined) {
    checkFloatTrees(owner, ['params'], [params]);
    checkTrees([updates, params], {
      names: ['updates', 'params'],
      owner,
      checkLeaf: (pair: readonly unknown[], path: TreePath) => {
        const [g, p] = pair as [tf.Tensor, tf.Tensor];
        if (g.rank !== p.rank + 1 || g.shape.slice(1).some((d, i) => d !== p.shape[i])) {
          throw new Error(
            `${owner}: expects ${expected}; ${formatPath(path, 'updates')} has shape ${shapeText(g.shape)} ` +
              `but ${formatPath(path, 'params')} has shape ${shapeText(p.shape)}`,
          );
        }
      },
    });
  }
  const batch = leaves.length === 0 ? 0 : (leaves[0].shape[0] ?? -1);
  leaves.forEach((g, i) => {
    if (g.rank === 0 || g.shape[0] !== batch) {
      throw new Error(
        `${owner}: expects ${expected}; leaf ${i} of the updates has shape ${shapeText(g.shape)}` +
          (i > 0 ? `, leaf 0 has ${shapeText(leaves[0].shape)}` : ' (no axis 0)'),
      );
    }
  });
  if (leaves.length > 0 && batch === 0) throw new Error(`${owner}: the per-example gradients hold no examples (axis 0 has length 0)`);
  return batch;
}

/**
 * Aggregates per-example gradients the DP-SGD way (Abadi et al. 2016, "Deep Learning with
 * Differential Privacy", arXiv:1607.00133), as optax contrib. The updates must be per-example
 * gradients stacked on axis 0: every leaf `[B, ...param shape]` (unlike every other
 * transformation; so it goes first in a chain). Each example's gradient is clipped to
 * `l2NormClip` by its norm over the whole tree, the clipped gradients are summed, Gaussian noise
 * of standard deviation `s = noiseMultiplier * l2NormClip` is added, and the result divided by
 * `B` (as optax: the mean, noise included):
 *
 *     c_b = min(l2NormClip / |g_b|, 1)          (1 where that is NaN: a zero gradient with l2NormClip 0)
 *     u = (sum_b c_b g_b + s * n) / B,          n ~ N(0, 1) element-wise
 *
 * The norms and factors stay on the device in float32, as optax computes them. The noise is drawn
 * as `addNoise` draws it: for the `j`-th non-empty leaf at update `t = count + 1`,
 * `tf.randomNormal(shape, 0, 1, 'float32', noiseSeed(seed, t, j))`, so a run is reproducible from
 * `seed` on every backend and across a checkpoint; the draws are not JAX's. With
 * `noiseMultiplier = 0` nothing is drawn. Given `params`, the gradients' shapes are checked
 * against them (an `Error` naming the path and both shapes); without, every leaf needs an axis 0
 * of one length, as optax checks. `trainStep` checks that gradients have the parameters' shapes,
 * so step with `update` and `applyUpdates`. `multiSteps` and `applyEvery` would aggregate the
 * aggregated updates, as optax warns. `l2NormClip` and `noiseMultiplier` are required; `seed = 0`.
 * State: `{ count }`. Composite on every backend.
 * @group Transforms
 */
export function differentiallyPrivateAggregate(
  options: DifferentiallyPrivateAggregateOptions,
): GradientTransformation<DifferentiallyPrivateAggregateState> {
  const owner = ownerOr('differentiallyPrivateAggregate');
  checkRequired(owner, options, ['l2NormClip', 'noiseMultiplier'], ['l2NormClip', 'noiseMultiplier', 'seed']);
  const l2NormClip = checkNumber(owner, 'l2NormClip', options.l2NormClip, { min: 0 });
  const noiseMultiplier = checkNumber(owner, 'noiseMultiplier', options.noiseMultiplier, { min: 0 });
  const seed = checkInteger(owner, 'seed', options.seed ?? 0, 0);
  checkNumber(owner, 'seed', seed, { max: 2 ** 32 - 1 });
  const std = noiseMultiplier * l2NormClip;
  return declareState<DifferentiallyPrivateAggregateState>(owner, { count: 'count' }, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return { count: 0 };
    },
    update: <U extends Updates>(updates: U, state: DifferentiallyPrivateAggregateState, params?: Params): [U, DifferentiallyPrivateAggregateState] => {
      const batch = batchSize(owner, updates, params);
      const t = state.count + 1;
      const [[leaves], def] = flattenFloatTrees(owner, ['updates'], [updates]);
      if (leaves.length === 0) return [updates, { count: t }];
      return tidy(() => {
        // Leaves without elements add nothing to the norms (and are left out of the sums).
        const squares = leaves.filter((g) => g.size > 0).map((g) => tf.sum(tf.square(tf.reshape(g, [batch, -1])), 1));
        const norms = tf.sqrt(squares.length === 0 ? tf.zeros([batch]) : squares.length === 1 ? squares[0] : tf.addN(squares));
        const ratio = tf.div(tf.scalar(l2NormClip), norms);
        const factors = tf.where(tf.isNaN(ratio), tf.onesLike(ratio), tf.minimum(ratio, tf.scalar(1)));
        const [stdS, batchS] = [tf.scalar(std), tf.scalar(batch)];
        let j = 0;
        const out = leaves.map((g) => {
          const shape = g.shape.slice(1);
          const weights = tf.reshape(factors, [batch, ...shape.map(() => 1)]);
          const sum = g.size === 0 ? tf.zeros(shape) : tf.sum(tf.mul(weights, g), 0);
          if (sum.size === 0) return sum;
          const seedJ = noiseSeed(seed, t, j++);
          const noisy = std === 0 ? sum : tf.add(sum, tf.mul(stdS, tf.randomNormal(shape, 0, 1, 'float32', seedJ)));
          return tf.div(noisy, batchS);
        });
        return [def.unflatten(out) as U, { count: t }];
      });
    },
  });
}
