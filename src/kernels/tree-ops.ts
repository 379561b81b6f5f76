import type * as tf from '@tensorflow/tfjs-core';
import { callKernel, ownsBuffers } from './call.js';
import { activeKernels } from './mode.js';
import type { FusedAttrs } from './layout.js';
import { axpbyAttrs, axpyAttrs } from './tree-programs.js';

/**
 * Whole-tree operations around the optimizer step, on the fused path of the active backend
 * (each `undefined` or `false` where there is none, for the caller's composite fallback):
 * a sum of squares, a fill, `acc + factor * g`, `acc * alpha + x * beta` and `params + updates`.
 */

/**
 * The sum of squares of every element of `leaves` in float64, computed on the fused path of
 * the active backend (one pass over the data), or `undefined` where there is none.
 * @internal
 */
export function fusedSumOfSquares(leaves: readonly tf.Tensor[]): number | undefined {
  return activeKernels('applyIfFinite')?.sumOfSquares(leaves);
}

/**
 * Sets every element of `tensors` to `value`, writing into their buffers, which the caller owns
 * (fresh kernel outputs, or buffers it has checked nothing else holds); `false` where there is no
 * fused path (nothing done).
 * @internal
 */
export function fusedFill(tensors: readonly tf.Tensor[], value: number): boolean {
  return activeKernels('multiSteps')?.fill(tensors, value) ?? false;
}

/**
 * `acc + factor * g` for aligned lists of float32 leaves (checked by the caller) in one kernel
 * call (the float32 operations of `tf.add(acc, tf.mul(g, factor))`), written into the `acc`
 * buffers themselves with `inPlace` when nothing else holds them; `undefined` where no fused
 * path exists.
 * @internal
 */
export function fusedAxpy(acc: readonly tf.Tensor[], g: readonly tf.Tensor[], factor: number, inPlace: boolean): tf.Tensor[] | undefined {
  return accumulate('multiSteps', acc, g, (leaves) => axpyAttrs(leaves, factor), inPlace);
}

/**
 * `acc * alpha + x * beta` for aligned lists of float32 leaves (checked by the caller) in one
 * kernel call (the float32 operations of `tf.add(tf.mul(acc, alpha), tf.mul(x, beta))`): a moving
 * average of `x`. Written into the `acc` buffers themselves with `inPlace` when nothing else
 * holds them; `undefined` where no fused path exists. `owner` names the caller if no backend is
 * ready.
 * @internal
 */
export function fusedAxpby(
  owner: string,
  acc: readonly tf.Tensor[],
  x: readonly tf.Tensor[],
  alpha: number,
  beta: number,
  inPlace: boolean,
): tf.Tensor[] | undefined {
  return accumulate(owner, acc, x, (leaves) => axpbyAttrs(leaves, alpha, beta), inPlace);
}

/** Runs a program reading `x` then `acc` and writing the new `acc`, in place where allowed. */
function accumulate(
  owner: string,
  acc: readonly tf.Tensor[],
  x: readonly tf.Tensor[],
  attrsFor: (leaves: number) => FusedAttrs,
  inPlace: boolean,
): tf.Tensor[] | undefined {
  const kernels = activeKernels(owner);
  if (kernels === undefined) return undefined;
  if (acc.length === 0) return [];
  const attrs = attrsFor(acc.length);
  const table = { sizes: acc.map((t) => t.size), inputs: [x, acc], outputs: [acc] };
  if (inPlace && ownsBuffers(kernels, acc, x) && kernels.runInPlace(attrs, table, acc)) return [...acc];
  return callKernel(kernels, [...x, ...acc], attrs);
}

/**
 * `params + updates` for aligned lists of leaves (already checked) in one kernel call (exactly
 * `p + u`, as `tf.add` computes it), when a fused path exists on this backend; `undefined`
 * otherwise.
 * @internal
 */
export function fusedAdd(params: readonly tf.Tensor[], updates: readonly tf.Tensor[]): tf.Tensor[] | undefined {
  const kernels = activeKernels('applyUpdates');
  if (kernels === undefined || params.length === 0) return undefined;
  return callKernel(kernels, [...updates, ...params], axpyAttrs(params.length, 1));
}
