import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../types.js';
import { treeFlatten, treeMap, treePaths, type TreeDef } from '../tree/structure.js';

// Products of a tensor with a matrix along one axis (the "mode-k product" of tensor algebra),
// in tf ops, for the Kronecker-factored preconditioners (SOAP, PSGD Kron).

/** The permutation that moves `axis` of a rank-`rank` tensor to the end, and its inverse. */
function toLast(rank: number, axis: number): [number[], number[]] {
  const perm = [...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis), axis];
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [perm, inverse];
}

/**
 * `x` with the matrix `m` (`[n, n]`, `n = x.shape[axis]`) applied along `axis`: each fibre
 * `f` along that axis becomes `m f` (or `m^T f` with `transpose`).
 */
export function modeProduct(x: tf.Tensor, m: tf.Tensor, axis: number, transpose = false): tf.Tensor {
  const rank = x.rank;
  const n = x.shape[axis];
  if (rank === 2 && axis === 0) return tf.matMul(m, x, transpose, false);
  if (rank === 2 && axis === 1) return tf.matMul(x, m, false, !transpose);
  const [perm, inverse] = toLast(rank, axis);
  const moved = rank === 1 ? x : tf.transpose(x, perm);
  const flat = tf.reshape(moved, [-1, n]);
  const out = tf.reshape(tf.matMul(flat, m, false, !transpose), moved.shape);
  return rank === 1 ? out : tf.transpose(out, inverse);
}

/** `x` with the vector `v` (`[n]`) multiplied along `axis`: each fibre `f` becomes `v * f`. */
export function scaleAlongAxis(x: tf.Tensor, v: tf.Tensor, axis: number): tf.Tensor {
  return tf.mul(x, tf.reshape(v, x.shape.map((d, i) => (i === axis ? d : 1))));
}

/** The `[n, n]` Gram matrix of `x`'s fibres along `axis`: `X_(axis) X_(axis)^T`, contracting every other axis. */
export function axisGram(x: tf.Tensor, axis: number): tf.Tensor2D {
  if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, x as tf.Tensor2D, axis === 1, axis === 0);
  const n = x.shape[axis];
  const front = x.rank === 1 ? x : tf.transpose(x, [axis, ...Array.from({ length: x.rank }, (_, i) => i).filter((i) => i !== axis)]);
  const u = tf.reshape(front, [n, -1]);
  return tf.matMul(u, u, false, true) as tf.Tensor2D;
}

/** The sum of `x^2` over every axis but `axis` (`[n]`): the diagonal of {@link axisGram}. */
export function axisSumSquares(x: tf.Tensor, axis: number): tf.Tensor1D {
  const others = Array.from({ length: x.rank }, (_, i) => i).filter((i) => i !== axis);
  const sq = tf.square(x);
  return (others.length === 0 ? sq : tf.sum(sq, others)) as tf.Tensor1D;
}

/**
 * The per-leaf factor lists of a preconditioner state field (an array of tensors at each leaf of
 * the updates, the `i`-th of shape `want[j][i]` at the `j`-th leaf), after checking that `tree`
 * has the structure of `updates` with such arrays at its leaves; the error names the owner, the
 * field and the leaf's path.
 */
export function factorLeaves(owner: string, field: string, updates: Params, paths: readonly string[], want: readonly (readonly number[][])[], tree: unknown): tf.Tensor[][] {
  const fail = (j: number, what: string) =>
    new Error(`${owner}: ${field}${paths[j]} must be an array of ${want[j].length} float32 tensors of shapes ${want[j].map((s) => `[${s.join(', ')}]`).join(', ') || '(none)'}, got ${what}`);
  let j = 0;
  const layout = treeFlatten(treeMap((g) => want[j++].map(() => g) as never, updates))[1];
  let flat: tf.Tensor[];
  let def: TreeDef;
  try {
    [flat, def] = treeFlatten(tree as Params);
  } catch (error) {
    throw new Error(`${owner}: ${field} must have the structure of the updates with an array of factor tensors at each leaf (${(error as Error).message})`);
  }
  if (!def.equals(layout)) {
    throw new Error(`${owner}: ${field} must have the structure of the updates with an array of factor tensors at each leaf (${layout.toString()}), got ${def.toString()}`);
  }
  let at = 0;
  return want.map((shapes, k) => {
    const list = flat.slice(at, at + shapes.length);
    at += shapes.length;
    list.forEach((t, i) => {
      if (t.isDisposed) throw fail(k, `a disposed tensor at [${i}]`);
      const s = shapes[i];
      if (t.dtype !== 'float32' || t.shape.length !== s.length || t.shape.some((d, m) => d !== s[m])) throw fail(k, `${t.dtype} of shape [${t.shape.join(', ')}] at [${i}]`);
    });
    return list;
  });
}

/** The paths of a tree's leaves as suffixes of a field name (`.a.b`, `[0]`, or `` for a bare tensor). */
export function leafSuffixes(tree: unknown): string[] {
  return treePaths(tree).map((p) => (p === '(root)' ? '' : p.startsWith('[') ? p : `.${p}`));
}

/** The `[n, n]` mask of the upper triangle (ones on and above the diagonal). */
export function upperTriangleMask(n: number): tf.Tensor2D {
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) mask[i * n + j] = 1;
  return tf.tensor2d(mask, [n, n]);
}
