import type * as tf from '@tensorflow/tfjs-core';
import { byteLengthOf, StateFormatError, type SavedValues, type StateManifest } from './state-manifest.js';

// The one weights buffer of a saved state: its tensors' bytes one after the other, in manifest order.

/**
 * Splits one weights buffer into the manifest's tensors, after checking its length (a
 * truncated or mis-sized buffer is an error that says both sizes).
 */
export function splitWeights(owner: string, manifest: StateManifest, buffer: ArrayBuffer): SavedValues[] {
  const expected = manifest.tensors.reduce((n, t) => n + byteLengthOf(t.dtype, t.shape), 0);
  if (buffer.byteLength !== expected) {
    throw new StateFormatError(
      `${owner}: the weights buffer has ${buffer.byteLength} bytes, but the manifest's ${manifest.tensors.length} tensors take ${expected} ` +
        `(a truncated file, or weights from another checkpoint)`,
    );
  }
  let offset = 0;
  return manifest.tensors.map((t) => {
    const bytes = byteLengthOf(t.dtype, t.shape);
    const slice = buffer.slice(offset, offset + bytes);
    offset += bytes;
    return t.dtype === 'float32' ? new Float32Array(slice) : t.dtype === 'int32' ? new Int32Array(slice) : new Uint8Array(slice);
  });
}

/** The bytes of several buffers, one after the other, in a new buffer. */
export function concatBytes(parts: ReadonlyArray<Uint8Array | ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const views = parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p)));
  const out = new Uint8Array(views.reduce((n, v) => n + v.byteLength, 0));
  let offset = 0;
  for (const v of views) {
    out.set(v, offset);
    offset += v.byteLength;
  }
  return out;
}

/** Concatenates the tensors' bytes in manifest order (the one weights buffer). */
export function joinWeights(tensors: readonly tf.Tensor[]): ArrayBuffer {
  return concatBytes(
    tensors.map((t) => {
      const data = t.dataSync();
      const view = t.dtype === 'bool' ? Uint8Array.from(data as Uint8Array) : data;
      return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    }),
  ).buffer;
}
