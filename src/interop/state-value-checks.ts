import { forEachField, type StateLayout, type ValueField } from '../internal/state.js';
import { describeHeader } from '../internal/packed-headers.js';
import { convertLayout } from '../internal/packed-layout.js';
import { INT8_BLOCK, packedWords, readPackedHeader, type PackedFormat } from '../internal/state-dtype.js';
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
    } else if (kind === 'packedTree' || kind === 'packedNonNegativeTree') {
      forEachTensorRef(saved, [...path], (ref, leafPath) => {
        const entry = manifest.tensors[ref];
        const data = values[ref];
        if (entry === undefined || data === undefined) return;
        const header = entry.dtype === 'int32' && entry.shape.length === 1 && data.length > 0 ? data[0] : NaN;
        const said = readPackedHeader(header);
        if (said === undefined || packedWords(said.format, said.n, said.layout) !== data.length || !(data instanceof Int32Array)) {
          const found =
            entry.dtype === 'int32' && entry.shape.length === 1 ? `${describeHeader(header)} in ${data.length} elements` : `a ${entry.dtype} tensor of shape [${entry.shape.join(', ')}]`;
          fail(leafPath, 'a packed moment (a 1-D int32 tensor whose element 0, its header, gives a format and a count that fit its length)', found);
        }
        const words = data as Int32Array;
        if (said!.layout === 24) {
          // The 24-bit layout (webgl's): every other element an integer in [0, 2^24).
          for (let i = 1; i < words.length; i++) {
            if (!(words[i] >= 0 && words[i] < 2 ** 24)) fail(leafPath, 'a packed moment in the 24-bit layout (elements after the first in [0, 2^24))', `${words[i]} at element ${i}`);
          }
        }
        if (kind === 'packedNonNegativeTree') {
          const bad = firstNegativePacked(said!.format, said!.n, said!.layout === 24 ? convertLayout(said!.format, words, 32) : words);
          if (bad !== undefined) fail(leafPath, 'every value finite and >= 0 (a packed second moment)', bad);
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

/**
 * Where a packed moment kept >= 0 holds a negative, NaN or infinite value, or `undefined`:
 * bfloat16 codes are the upper halves of float32s; an int8 leaf must be unsigned (its map is >= 0)
 * with finite scales >= 0.
 */
function firstNegativePacked(format: PackedFormat, n: number, words: Int32Array): string | undefined {
  if (format === 'int8-signed') return 'int8 codes of the signed map (a first moment\'s)';
  if (format === 'bfloat16') {
    for (let i = 0; i < n; i++) {
      const code = (words[1 + (i >> 1)] >>> (16 * (i & 1))) & 0xffff;
      // >= 0x7f80: infinity or NaN; above 0x8000: negative (0x8000 is -0, which is >= 0).
      if ((code >= 0x7f80 && code <= 0x8000 - 1) || code > 0x8000) return `bfloat16 code 0x${code.toString(16)} at value ${i}`;
    }
    return undefined;
  }
  const blocks = Math.ceil(n / INT8_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const bits = words[1 + b];
    if (bits < 0 || bits >= 0x7f800000) return `block ${b}'s scale ${new Float32Array(new Int32Array([bits]).buffer)[0]}`;
  }
  return undefined;
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
