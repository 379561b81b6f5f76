import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../internal/tidy.js';
import type { PyTree } from '../types.js';
import { treeMap } from './structure.js';
import { forEachLeaf } from './walk.js';

/** A tree of new zero tensors shaped like `tree`'s leaves. */
export function treeZerosLike<T extends PyTree>(tree: T): T {
  return treeMap((x) => tf.zerosLike(x), tree);
}

/** A tree of new tensors shaped like `tree`'s leaves, filled with `value`. */
export function treeFullLike<T extends PyTree>(tree: T, value: number): T {
  if (value === 0) return treeZerosLike(tree);
  return treeMap((x) => tf.fill(x.shape, value, x.dtype), tree);
}

/** `a + b` leaf by leaf (new tensors). @throws TreeStructureError when the structures differ. */
export function treeAdd<T extends PyTree>(a: T, b: PyTree): T {
  return treeMap((x, y) => tf.add(x, y), a, b);
}

/** `a - b` leaf by leaf (new tensors). @throws TreeStructureError when the structures differ. */
export function treeSub<T extends PyTree>(a: T, b: PyTree): T {
  return treeMap((x, y) => tf.sub(x, y), a, b);
}

/** `scalar * tree` leaf by leaf (new tensors), as optax's `tree_scale`. */
export function treeScale<T extends PyTree>(scalar: number, tree: T): T {
  return tidy(() => {
    const s = tf.scalar(scalar);
    return treeMap((x) => tf.mul(s, x), tree);
  }) as T;
}

/**
 * The L2 norm of all leaves taken together, `sqrt(sum of x^2 over every element of every leaf)`,
 * as a new scalar tensor (no data is read back to JS). With `squared: true`, the sum of squares.
 * An empty tree has norm 0.
 */
export function treeL2Norm(tree: PyTree, { squared = false }: { squared?: boolean } = {}): tf.Scalar {
  return tidy(() => {
    const sums: tf.Tensor[] = [];
    forEachLeaf(tree, (x) => sums.push(tf.sum(tf.square(x))));
    const total = sums.length === 0 ? tf.scalar(0) : sums.length === 1 ? sums[0] : tf.addN(sums);
    return (squared ? total : tf.sqrt(total)) as tf.Scalar;
  });
}

/** The total number of elements over all leaves. */
export function treeSize(tree: PyTree): number {
  let n = 0;
  forEachLeaf(tree, (x) => (n += x.size));
  return n;
}
