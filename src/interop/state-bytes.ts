import * as tf from '@tensorflow/tfjs-core';
import { isPlainObject } from '../tree/walk.js';

/** Bytes per element of each dtype as tfjs backends store it (bool as one byte). */
const BYTES: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/**
 * The bytes the tensors of `state` (any optimizer state: nested arrays and plain objects of
 * tensors and numbers) hold on the device: each tensor's element count times 4 (float32,
 * int32) or 1 (bool), a tensor (or buffer) held at several places counted once. Numbers are
 * free.
 *
 * Adam keeps 8 bytes per parameter in float32; with `stateDtype: 'bfloat16'` about 4 and with
 * `'int8'` about 2.03 (4 per 256 values for the block scales), plus 4 bytes per leaf and moment
 * for the packed header (element 0: the value count and the format). On webgl, whose float32
 * textures hold 24 bits of an int32 element exactly, the packed layout keeps 24 bits per
 * element: bfloat16 about 5.33, int8 about 2.73.
 * @group Tree utilities
 */
export function stateBytes(state: unknown): number {
  // Containers seen (an array or object held at several places, or in a cycle, is walked once)
  // and tensor data counted; an explicit stack, so that deep nesting cannot overflow the call stack.
  const seen = new Set<unknown>();
  const stack: unknown[] = [state];
  let total = 0;
  while (stack.length > 0) {
    const node = stack.pop();
    if (node instanceof tf.Tensor) {
      if (node.isDisposed || seen.has(node.dataId)) continue;
      seen.add(node.dataId);
      total += node.size * (BYTES[node.dtype] ?? 4);
    } else if (Array.isArray(node) || isPlainObject(node)) {
      if (seen.has(node)) continue;
      seen.add(node);
      if (Array.isArray(node)) for (const child of node) stack.push(child);
      else for (const key of Object.keys(node)) stack.push(node[key]);
    }
  }
  return total;
}
