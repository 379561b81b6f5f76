import type { Tensor } from '@tensorflow/tfjs-core';
import { isPlainObject, isTensor } from './walk.js';

/**
 * Adds every tensor found in `value` to `into`: `value` may be a tree, an optimizer state (plain
 * objects and arrays holding trees and numbers) or any mix of them. Values that are neither
 * tensors nor containers (numbers, strings, booleans, functions) are skipped.
 */
export function collectTensors(value: unknown, into: Set<Tensor> = new Set()): Set<Tensor> {
  forEachTensor(value, (t) => into.add(t));
  return into;
}

/** Calls `visit` on every tensor found in `value` (see {@link collectTensors}), repeats included. */
function forEachTensor(value: unknown, visit: (t: Tensor) => void): void {
  if (isTensor(value)) {
    visit(value);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) forEachTensor(value[i], visit);
  } else if (isPlainObject(value)) {
    for (const key in value) forEachTensor(value[key], visit);
  }
}

/**
 * Disposes every tensor in a tree or state (numbers and other non-tensor values are skipped).
 * A tensor that appears twice is disposed once; one already disposed is left alone.
 * @group Tree utilities
 */
export function treeDispose(value: unknown): void {
  for (const t of collectTensors(value)) if (!t.isDisposed) t.dispose();
}

/**
 * Disposes exactly the tensors held by `oldValues` that `newValues` no longer hold, and returns
 * how many it disposed. Use it after a step, when the new parameters and state may share tensors
 * with the old ones:
 *
 * ```ts
 * const [updates, nextState] = tx.update(grads, state, params);
 * const nextParams = applyUpdates(params, updates);
 * disposeReplaced([params, state, updates, grads], [nextParams, nextState]);
 * ```
 *
 * Both arguments may be any mix of trees and states (arrays, plain objects, numbers).
 * @group Training loop
 */
export function disposeReplaced(oldValues: unknown, newValues: unknown): number {
  const keep = collectTensors(newValues);
  let disposed = 0;
  // The old values are walked, not collected: a tensor met twice is disposed the first time.
  forEachTensor(oldValues, (t) => {
    if (!t.isDisposed && !keep.has(t)) {
      t.dispose();
      disposed++;
    }
  });
  return disposed;
}
