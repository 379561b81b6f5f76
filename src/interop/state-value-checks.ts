import { forEachField, type StateLayout, type ValueField } from '../internal/state.js';
import { packedWords, readPackedHead } from '../internal/state-dtype.js';
import { formatPath, isPlainObject, sortedKeys, type TreePath } from '../tree/walk.js';
import { decodeNumber, isTag, StateFormatError, tensorRef, type SavedValues, type StateManifest } from './state-manifest.js';

/**
 * Checks the values of a saved state that its transformation's layout describes, before any
 * tensor is made: step counts are whole numbers >= 0, hyperparameters finite and in their
 * domain (`>= min`), and every float32 value of a `'nonNegativeTree'` field (a second moment)
 * finite and >= 0: one pass over the loaded typed arrays, about 1 ms per million values. A value
 * outside is a `StateFormatError` naming its path, what was expected and what was found.
 * A `'packedTree'` field's leaves (packed moments) must be 1-D int32 tensors whose element 0,
 * the value count (`n` in the 32-bit layout, `-1 - n` in the 24-bit one of webgl), fits their
 * length in the bfloat16 or the int8 format, and in the 24-bit layout every other element must
 * lie in [0, 2^24). Fields of other kinds
 * (first moments, which a diverged run may hold as NaN) are not checked.
 */
export function checkStateValues(owner: string, layout: StateLayout | null, manifest: StateManifest, values: readonly SavedValues[]): void {
  if (layout === null) return;
  const fail = (path: TreePath, expected: string, found: string): never => {
    throw new StateFormatError(
      `${owner}: the checkpoint holds a value this state cannot hold at ${formatPath(path, 'state')}: expected ${expected}, found ${found}`,
    );
  };
  forEachField(layout, manifest.state, (kind: ValueField, saved, path) => {
    if (kind === 'count') {
      const x = decodeNumber(saved);
      if (x !== undefined && !(Number.isInteger(x) && x >= 0)) fail(path, 'a whole number >= 0 (a step count)', String(x));
    } else if (kind === 'nonNegativeTree') {
      forEachTensorRef(saved, [...path], (ref, leafPath) => {
        const entry = manifest.tensors[ref];
        const data = values[ref];
        if (entry === undefined || entry.dtype !== 'float32' || !(data instanceof Float32Array)) return;
        const i = firstNegativeOrNonFinite(data);
        if (i < 0) return;
        let bad = 0;
        for (let k = i; k < data.length; k++) if (!(data[k] >= 0 && data[k] !== Infinity)) bad++;
        const at = entry.shape.length === 0 ? '' : ` at index [${unravel(i, entry.shape).join(', ')}]`;
        fail(leafPath, 'every value finite and >= 0 (a second moment)', `${data[i]}${at} (${bad} of ${data.length} values are not)`);
      });
    } else if (kind === 'packedTree') {
      forEachTensorRef(saved, [...path], (ref, leafPath) => {
        const entry = manifest.tensors[ref];
        const data = values[ref];
        if (entry === undefined || data === undefined) return;
        const head = entry.dtype === 'int32' && entry.shape.length === 1 && data.length > 0 ? data[0] : undefined;
        const { n, layout } = readPackedHead(head ?? 0);
        const fits = head !== undefined && (packedWords('bfloat16', n, layout) === data.length || packedWords('int8-signed', n, layout) === data.length);
        if (!fits) {
          const found = head !== undefined ? `element 0 ${head} (${n} values, the ${layout}-bit layout) in ${data.length} elements` : `a ${entry.dtype} tensor of shape [${entry.shape.join(', ')}]`;
          fail(leafPath, 'a packed moment (a 1-D int32 tensor whose element 0, its value count n in the 32-bit layout or -1 - n in the 24-bit one, fits its length)', found);
        }
        if (layout === 24) {
          // The 24-bit layout (webgl's): every other element an integer in [0, 2^24).
          for (let i = 1; i < data.length; i++) {
            if (!(data[i] >= 0 && data[i] < 2 ** 24)) fail(leafPath, 'a packed moment in the 24-bit layout (elements after the first in [0, 2^24))', `${data[i]} at element ${i}`);
          }
        }
      });
    } else if (typeof kind === 'object' && kind.kind === 'hyper') {
      const x = decodeNumber(saved);
      if (x !== undefined && !(Number.isFinite(x) && x >= kind.min)) {
        fail(path, kind.min === -Infinity ? 'a finite number (a hyperparameter)' : `a finite number >= ${kind.min} (a hyperparameter)`, String(x));
      }
    }
  });
}

/** The index of the first value that is negative, NaN or infinite, or -1. */
function firstNegativeOrNonFinite(data: Float32Array): number {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    // False for NaN too.
    if (!(v >= 0 && v !== Infinity)) return i;
  }
  return -1;
}

/** A flat index as the indices of each dimension of `shape`. */
function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return out;
}

/** Calls `visit` with every `{ "$tensor": i }` under a saved node and its path. */
function forEachTensorRef(node: unknown, path: Array<string | number>, visit: (ref: number, path: TreePath) => void): void {
  const ref = tensorRef(node);
  if (ref !== undefined) visit(ref, path);
  else if (Array.isArray(node)) node.forEach((child, k) => forEachTensorRef(child, [...path, k], visit));
  else if (isPlainObject(node) && !isTag(node)) for (const key of sortedKeys(node)) forEachTensorRef(node[key], [...path, key], visit);
}
