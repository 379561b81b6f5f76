import type { Tensor } from '@tensorflow/tfjs-core';
import type { Params, PyTree } from '../types.js';
import { checkTrees, formatPath, type TreePath } from '../tree/walk.js';
import { treeFlatten, treeFlattenAligned, type TreeDef } from '../tree/structure.js';
import { treeFullLike } from '../tree/math.js';
import { describeHeader, hasPackedHeader, packedHeaderOf } from './packed-headers.js';
import { packedWords, describeFormat, type SlotFormat } from './state-dtype.js';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks one leaf position: every tensor must be alive, float32 and have the shape of the first
 * one. The first tree is the one being transformed (usually `updates`), the others are trees
 * aligned with it (state moments, parameters).
 */
function checkFloatLeaves(owner: string, names: readonly string[], leaves: readonly unknown[], path: TreePath, formats?: readonly SlotFormat[]): void {
  const first = leaves[0] as Tensor;
  for (let i = 0; i < leaves.length; i++) {
    const t = leaves[i] as Tensor;
    const format = formats?.[i] ?? 'float32';
    if (format !== 'float32' && !t.isDisposed) {
      const words = packedWords(format, first.size);
      const hint = 'a state made with another stateDtype, or for params of other shapes, cannot be stepped';
      const words24 = packedWords(format, first.size, 24);
      if (t.dtype !== 'int32' || t.rank !== 1 || (t.size !== words && t.size !== words24)) {
        throw new TypeError(
          `${owner}: ${formatPath(path, names[i])} must be a packed ${describeFormat(format)} state of ${first.size} values, ` +
            `an int32 tensor of shape [${words}]${words24 === words ? '' : ` (or [${words24}] in the 24-bit layout of webgl)`}, ` +
            `got ${t.dtype} of shape ${shapeText(t.shape)} (${hint})`,
        );
      }
      if (!hasPackedHeader(t, format, first.size)) {
        throw new TypeError(
          `${owner}: ${formatPath(path, names[i])} must be a packed ${describeFormat(format)} state of ${first.size} values, ` +
            `got ${describeHeader(packedHeaderOf(t))} in ${t.size} elements (${hint})`,
        );
      }
      continue;
    }
    if (t.isDisposed) {
      throw new Error(
        `${owner}: ${formatPath(path, names[i])} was disposed (a ${t.dtype} tensor of shape ${shapeText(t.shape)}); ` +
          `after a step, free the old trees with disposeReplaced(old, new), which keeps the tensors the new ones share`,
      );
    }
    if (t.dtype !== 'float32') {
      throw new TypeError(
        `${owner}: ${formatPath(path, names[i])} must be a float32 tensor, got ${t.dtype} ` +
          `of shape ${shapeText(t.shape)}`,
      );
    }
    if (i > 0 && !sameShape(t.shape, first.shape)) {
      throw new Error(
        `${owner}: shape mismatch at ${formatPath(path)}: ${formatPath(path, names[0])} has shape ` +
          `${shapeText(first.shape)}, but ${formatPath(path, names[i])} has shape ${shapeText(t.shape)}`,
      );
    }
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether the tensors at one leaf position are all live, float32 and of the first one's shape. */
function alignedFloat32(leaves: readonly Tensor[]): boolean {
  const shape = leaves[0].shape;
  for (const t of leaves) if (t.isDisposed || t.dtype !== 'float32' || !sameShape(t.shape, shape)) return false;
  return true;
}

/** {@link alignedFloat32}, with the leaves of packed formats packed leaves of the first one's size. */
function alignedAs(formats: readonly SlotFormat[]): (leaves: readonly Tensor[]) => boolean {
  return (leaves) => {
    const shape = leaves[0].shape;
    const n = leaves[0].size;
    for (let i = 0; i < leaves.length; i++) {
      const t = leaves[i];
      const format = formats[i];
      if (t.isDisposed) return false;
      if (format === 'float32') {
        if (t.dtype !== 'float32' || !sameShape(t.shape, shape)) return false;
      } else if (t.dtype !== 'int32' || t.rank !== 1 || !hasPackedHeader(t, format, n)) return false;
    }
    return true;
  };
}

/**
 * The leaves of aligned float32 trees (one array per tree, in flatten order) and the structure
 * of the first, after checking that the trees have one structure (`TreeStructureError` naming
 * the path and what each tree has there otherwise; also for a cycle, nesting deeper than 1,000
 * levels or a symbol key), that every leaf is a live (not disposed) float32 tensor and that
 * aligned leaves have the same shape (an `Error` naming the path and both shapes).
 *
 * One walk that builds no paths does the checks; only when it finds a problem does the
 * validating walk run, to throw the error with the path.
 */
export function flattenFloatTrees(
  owner: string,
  names: readonly string[],
  trees: readonly PyTree[],
  formats?: readonly SlotFormat[],
): [Tensor[][], TreeDef] {
  const fast = treeFlattenAligned(trees, formats === undefined ? alignedFloat32 : alignedAs(formats));
  if (fast !== null) return fast;
  checkTrees(trees, { names, owner, checkLeaf: (leaves, path) => checkFloatLeaves(owner, names, leaves, path, formats) });
  // The validating walk found nothing wrong after all: flatten tree by tree.
  const [first, def] = treeFlatten(trees[0]);
  return [[first, ...trees.slice(1).map((t) => treeFlatten(t)[0])], def];
}

/**
 * Maps `fn` over aligned float32 trees after checking them as {@link flattenFloatTrees} does,
 * before any call of `fn`. So a transformation that maps its math with this throws before it
 * creates any tensor.
 */
export function mapFloatLeaves<R>(
  owner: string,
  names: readonly string[],
  trees: readonly PyTree[],
  fn: (...leaves: Tensor[]) => R,
): PyTree<R> {
  const [leaves, def] = flattenFloatTrees(owner, names, trees);
  return def.unflatten(leaves[0].map((_, j) => fn(...leaves.map((tree) => tree[j]))));
}

/** Throws, as {@link mapFloatLeaves} would, if the trees are not aligned float32 trees. */
export function checkFloatTrees(owner: string, names: readonly string[], trees: readonly PyTree[]): void {
  flattenFloatTrees(owner, names, trees);
}

/**
 * New per-leaf state for `params`: a tree of its structure whose leaves are float32 tensors of
 * the parameters' shapes filled with `value`. Checks first, as {@link flattenFloatTrees} does,
 * that every leaf of `params` is a float32 tensor (the error names the owner and the path), so an
 * `init` that builds its state with this rejects integer parameters before creating anything,
 * not at the first update.
 */
export function stateLike(owner: string, params: Params, value = 0): Params {
  checkFloatTrees(owner, ['params'], [params]);
  return treeFullLike(params, value);
}

/** The error thrown when a transformation needs `params` and got none. */
export function missingParams(owner: string): Error {
  return new Error(
    `${owner}: this transformation needs the current parameters; call update(updates, state, params)`,
  );
}

/**
 * Like {@link mapFloatLeaves} for math that computes several tensors per leaf (the update and
 * the new moments): `fn` returns `count` tensors, and the result is `count` trees, each with
 * the structure of `trees[0]`. With `formats` (one per tree), the trees of a packed format hold
 * packed leaves (internal/state-dtype.ts) for the values of the first tree's leaves.
 */
export function mapFloatLeavesN(
  owner: string,
  names: readonly string[],
  trees: readonly PyTree[],
  count: number,
  fn: (...leaves: Tensor[]) => Tensor[],
  formats?: readonly SlotFormat[],
): PyTree[] {
  const [leaves, def] = flattenFloatTrees(owner, names, trees, formats);
  const outputs = leaves[0].map((_, j) => fn(...leaves.map((tree) => tree[j])));
  const result: PyTree[] = [];
  for (let k = 0; k < count; k++) result.push(def.unflatten(outputs.map((o) => o[k])));
  return result;
}
