import * as tf from '@tensorflow/tfjs-core';
import { tidy } from './tidy.js';
import type { PyTree } from '../types.js';
import { mapTrees } from './structure.js';
import { forEachLeaf } from './walk.js';

// The tree utilities that make a tree are strict, as `treeMap` is: every value must be a tensor,
// an array, a plain object, `null` or `undefined`, and the trees given together must have one
// structure (a `TreeStructureError` naming the first differing path and what each has there).

/**
 * A tree of new zero tensors shaped like `tree`'s leaves.
 * @group Tree utilities
 */
export function treeZerosLike<T extends PyTree>(tree: T): T {
  return mapTrees('treeZerosLike', ['tree'], [tree], (x) => tf.zerosLike(x)) as T;
}

/**
 * A tree of new tensors shaped like `tree`'s leaves, filled with `value`.
 * @group Tree utilities
 */
export function treeFullLike<T extends PyTree>(tree: T, value: number): T {
  if (value === 0) return treeZerosLike(tree);
  return mapTrees('treeFullLike', ['tree'], [tree], (x) => tf.fill(x.shape, value, x.dtype)) as T;
}

/**
 * `a + b` leaf by leaf (new tensors). @throws TreeStructureError when the structures differ.
 * @group Tree utilities
 */
export function treeAdd<T extends PyTree>(a: T, b: PyTree): T {
  return mapTrees('treeAdd', ['a', 'b'], [a, b], (x, y) => tf.add(x, y)) as T;
}

/**
 * `a - b` leaf by leaf (new tensors). @throws TreeStructureError when the structures differ.
 * @group Tree utilities
 */
export function treeSub<T extends PyTree>(a: T, b: PyTree): T {
  return mapTrees('treeSub', ['a', 'b'], [a, b], (x, y) => tf.sub(x, y)) as T;
}

/**
 * `scalar * tree` leaf by leaf (new tensors), as optax's `tree_scale`.
 * @group Tree utilities
 */
export function treeScale<T extends PyTree>(scalar: number, tree: T): T {
  return tidy(() => {
    const s = tf.scalar(scalar);
    return mapTrees('treeScale', ['tree'], [tree], (x) => tf.mul(s, x));
  }) as T;
}

/**
 * The L2 norm of all leaves taken together, `sqrt(sum of x^2 over every element of every leaf)`,
 * as a new scalar tensor (no data is read back to JS). With `squared: true`, the sum of squares.
 * An empty tree (or one whose leaves have no elements) has norm 0. Non-float32 leaves are cast.
 *
 * Safe from overflow and underflow in float32: the squares are summed after dividing every
 * element by `s`, a power of two near the largest `|x|`, and the result is scaled back,
 * `norm = s * sqrt(sum((x / s)^2))` (`s * (s * sum)` squared). Dividing by a power of two is
 * exact, so wherever the plain `sqrt(sum(x^2))` stays in float32's normal range the result has
 * its bits; where the sum of squares would overflow (from `|x|` ~1.8e19 up, or over many
 * elements a little below) or the squares underflow (`|x|` below ~1e-19), it is still the norm
 * to float32 rounding. An infinite element gives `Infinity`, a NaN element `NaN`; `squared`
 * is `Infinity` when the sum of squares itself exceeds float32's range.
 *
 * Strict, as the utilities that make trees: a JS number in `tree` is a `TypeError` naming its
 * path rather than skipped, since skipping it would change the norm without a word (pass the
 * state's tensor trees, e.g. `treeL2Norm(state.mu)`).
 * @group Tree utilities
 */
export function treeL2Norm(tree: PyTree, { squared = false }: { squared?: boolean } = {}): tf.Scalar {
  return tidy(() => {
    const leaves: tf.Tensor[] = [];
    forEachLeaf(tree, (x) => {
      // An empty leaf adds nothing, and tf.max of one is not 0 (NaN on cpu, garbage on wasm).
      if (x.size > 0) leaves.push(x.dtype === 'float32' ? x : tf.cast(x, 'float32'));
    }, { owner: 'treeL2Norm' });
    if (leaves.length === 0) return tf.scalar(0);
    const s = powerOfTwoNear(leaves);
    const sums = leaves.map((x) => tf.sum(tf.square(tf.div(x, s))));
    const total = sums.length === 1 ? sums[0] : tf.addN(sums);
    return (squared ? tf.mul(s, tf.mul(s, total)) : tf.mul(s, tf.sqrt(total))) as tf.Scalar;
  });
}

/**
 * `2^floor(log2(m))` for `m` the largest `|x|` over all elements, with the exponent clamped to
 * float32's normal range [-126, 127]: for `m = 0` it is `2^-126`, for `m = Infinity` `2^127`.
 * (A NaN element may give any `s`; it makes the norm NaN whatever `s` is.) `log2` rounded in
 * float32 may be one off near a power of two, which only moves `m / s` (between the clamps)
 * within [0.5, 4).
 */
function powerOfTwoNear(leaves: readonly tf.Tensor[]): tf.Scalar {
  const maxes = leaves.map((x) => tf.max(tf.abs(x)));
  // One reduction over the per-leaf maxima, not a chain of tf.maximum (one op per leaf).
  const m = maxes.length === 1 ? maxes[0] : tf.max(tf.stack(maxes));
  const exponent = tf.clipByValue(tf.floor(tf.div(tf.log(m), tf.scalar(Math.LN2))), -126, 127);
  return tf.pow(tf.scalar(2), exponent) as tf.Scalar;
}

/**
 * The total number of elements over all leaves. Accepts optimizer states as `treeLeaves` does
 * (their numbers, booleans and strings are skipped): `treeSize(state)` counts the elements of
 * the state's tensors.
 * @group Tree utilities
 */
export function treeSize(tree: unknown): number {
  let n = 0;
  forEachLeaf(tree as PyTree, (x) => (n += x.size), { owner: 'treeSize', others: 'state', sorted: false });
  return n;
}
