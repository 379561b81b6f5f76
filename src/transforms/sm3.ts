import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import type { GradientTransformation, Params } from '../types.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { treeFlatten, treeLeaves, treeMap, treePaths } from '../tree/structure.js';

/**
 * Options of {@link scaleBySm3}.
 * @group Transform options and states
 */
export interface ScaleBySm3Options {
  /** Decay of the momentum of the scaled updates, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the accumulators, in [0, 1]; `1` (the default) sums the squares, as the paper. */
  b2?: number;
  /** Added to the accumulator inside the square root, >= 0. Default `1e-8`. */
  eps?: number;
}

/**
 * State of {@link scaleBySm3} (optax's `mu` and `nu`). `mu` has the parameters' structure with,
 * at each leaf of rank `r >= 1`, an array of `r` accumulator vectors, one per axis (its length
 * that axis's size; for rank 1 the full accumulator), and for a scalar leaf an array of one
 * scalar. `nu` is the momentum, shaped like the parameters.
 * @group Transform options and states
 */
export interface ScaleBySm3State {
  /**
   * The per-axis accumulators (zeros after `init`): at each leaf of shape `s`, an array of
   * `s.length` float32 vectors, the `i`-th of shape `[s[i]]` holding the max of the accumulator
   * over every axis but `i` (`[0]` for all axes of an empty leaf); a scalar leaf holds an array of
   * one scalar.
   */
  mu: Params;
  /**
   * The momentum of the scaled gradients, `nu = (1 - b1) g / sqrt(acc + eps) + b1 nu`, shaped as
   * the params (zeros after `init`); it is also the update.
   */
  nu: Params;
}

/** The shapes of a leaf's per-axis accumulators (all `[0]` for an empty leaf, which has nothing to cover). */
function coverShapes(shape: readonly number[]): number[][] {
  if (shape.length === 0) return [[]];
  const empty = shape.some((d) => d === 0);
  return shape.map((d) => [empty ? 0 : d]);
}

/**
 * Rescales updates by SM3-II (Anil, Gupta, Koren & Singer 2019, "Memory-Efficient Adaptive
 * Optimization", arXiv:1901.11150): AdaGrad whose accumulator for a matrix (or any tensor) is
 * covered by one vector per axis, so an `[m, n]` matrix keeps `m + n` numbers. Per leaf:
 *
 *     prev = rank < 2 ? mu[0] : min over axes i of mu[i] (broadcast along the other axes)
 *     acc = (b2 == 1 ? 1 : 1 - b2) * g^2 + b2 * prev
 *     mu[i] = rank < 2 ? acc : max of acc over all axes but i
 *     nu = (1 - b1) * (acc > 0 ? g / sqrt(acc + eps) : 0) + b1 * nu;  u = nu
 *
 * Defaults, as optax: `b1 = 0.9, b2 = 1, eps = 1e-8`. State: `{ mu, nu }`.
 * @group Transforms
 */
export function scaleBySm3(options: ScaleBySm3Options = {}): GradientTransformation<ScaleBySm3State> {
  const owner = ownerOr('scaleBySm3');
  checkOptions(owner, options, ['b1', 'b2', 'eps']);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.9);
  const b2 = checkRate(owner, 'b2', options.b2 ?? 1, true);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const names = ['updates', 'state.nu'];
  /**
   * mu's per-leaf accumulator lists, after checking that mu has the updates' structure with an
   * array of per-axis vectors of the right shapes at each leaf.
   */
  const muLeaves = (updates: Params, mu: Params): tf.Tensor[][] => {
    const [gs] = treeFlatten(updates);
    const layout = treeMap((g) => coverShapes(g.shape).map(() => g) as never, updates);
    const [flat, def] = treeFlatten(mu);
    if (!def.equals(treeFlatten(layout)[1])) {
      throw new Error(`${owner}: state.mu must have the structure of the updates with one array of per-axis accumulators at each leaf (${treeFlatten(layout)[1].toString()}), got ${def.toString()}`);
    }
    const paths = treePaths(updates).map((p) => (p === '(root)' ? '' : p.startsWith('[') ? p : `.${p}`));
    let at = 0;
    return gs.map((g, j) => {
      const want = coverShapes(g.shape);
      const got = flat.slice(at, at + want.length);
      at += want.length;
      got.forEach((t, i) => {
        if (t.isDisposed || t.dtype !== 'float32' || t.shape.length !== want[i].length || t.shape.some((d, k) => d !== want[i][k])) {
          throw new Error(
            `${owner}: state.mu${paths[j]}[${i}] must be a live float32 tensor of shape [${want[i].join(', ')}] ` +
              `(axis ${i} of updates${paths[j]}), got ${t.isDisposed ? 'a disposed tensor' : `${t.dtype} of shape [${t.shape.join(', ')}]`}`,
          );
        }
      });
      return got;
    });
  };

  return declareState<ScaleBySm3State>(owner, { mu: 'tree', nu: 'tree' }, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return tidy(() => ({
        mu: treeMap((p) => coverShapes(p.shape).map((s) => tf.zeros(s)) as never, params),
        nu: treeMap((p) => tf.zerosLike(p), params),
      }));
    },
    update: (updates, state) => {
      checkFloatTrees(owner, names, [updates, state.nu]);
      const mus = muLeaves(updates, state.mu);
      return tidy(() => {
        const [gs, def] = treeFlatten(updates);
        const nus = treeLeaves(state.nu);
        const [b1s, c1, b2s, c2, epsS, zero] = [b1, 1 - b1, b2, b2 === 1 ? 1 : 1 - b2, eps, 0].map((x) => tf.scalar(x));
        const out = gs.map((g, j) => {
          const rank = g.rank;
          const mu = mus[j];
          const prev =
            g.size === 0
              ? tf.zerosLike(g)
              : rank < 2
              ? mu[0]
              : mu
                  .map((v, i) => tf.reshape(v, g.shape.map((d, k) => (k === i ? d : 1))))
                  .reduce((a, b) => tf.minimum(a, b));
          const acc = tf.add(tf.mul(c2, tf.square(g)), tf.mul(b2s, prev));
          const inv = tf.where(tf.greater(acc, zero), tf.rsqrt(tf.add(acc, epsS)), tf.zerosLike(acc));
          const nu = tf.add(tf.mul(c1, tf.mul(g, inv)), tf.mul(b1s, nus[j]));
          const newMu =
            rank < 2 ? [acc] : g.size === 0 ? mu.map((v) => tf.clone(v)) : g.shape.map((_, i) => tf.max(acc, g.shape.map((_d, k) => k).filter((k) => k !== i)));
          return { nu, newMu };
        });
        const nuTree = def.unflatten(out.map((o) => o.nu));
        const muTree = def.unflatten(out.map((o) => o.newMu as never));
        return [nuTree, { mu: muTree, nu: nuTree }];
      }) as [typeof updates, ScaleBySm3State];
    },
  });
}
