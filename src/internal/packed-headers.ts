import * as tf from '@tensorflow/tfjs-core';
import { describeFormat, packedHeader, readPackedHeader, type PackedFormat } from './state-dtype.js';

/**
 * The headers (element 0: the value count and the format, {@link packedHeader}) of packed state
 * leaves, checked at every step so that a state made with another `stateDtype`, or for other
 * params, is refused instead of decoded into wrong numbers. Leaves the library made are recorded
 * when made, by their data: tfjs shares one data between a tensor, its clones and a variable
 * made from or assigned it, and never changes it (the kernels write packed outputs into new
 * tensors only). Other leaves (a hand-made tensor, weights loaded by tfjs) are read once.
 */
const headers = new WeakMap<object, number>();

/** Records that packed leaf `t`, just made, holds `header`. */
export function notePackedHeader(t: tf.Tensor, header: number): void {
  headers.set(t.dataId, header);
}

/** The header recorded for `t` when the library made it, or `undefined` (nothing is read). */
export function recordedPackedHeader(t: tf.Tensor): number | undefined {
  return headers.get(t.dataId);
}

/** Element 0 of packed leaf `t` (live, int32, 1-D, not empty): recorded, or read once. */
export function packedHeaderOf(t: tf.Tensor): number {
  let header = headers.get(t.dataId);
  if (header === undefined) {
    const first = tf.slice(t, 0, 1);
    header = first.dataSync()[0];
    first.dispose();
    headers.set(t.dataId, header);
  }
  return header;
}

/** Whether packed leaf `t` says it holds `n` values in `format`. */
export function hasPackedHeader(t: tf.Tensor, format: PackedFormat, n: number): boolean {
  return packedHeaderOf(t) === packedHeader(format, n);
}

/** What a header says, for messages: `a packed bfloat16 state of 3 values`. */
export function describeHeader(header: number): string {
  const said = readPackedHeader(header);
  return said === undefined ? `element 0 = ${header}, which is no packed header` : `a packed ${describeFormat(said.format)} state of ${said.n} values`;
}
