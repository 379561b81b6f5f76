import * as tf from '@tensorflow/tfjs-core';
import { describeFormat, packedHeader, packedWords, readPackedHeader, type PackedFormat } from './state-dtype.js';

/**
 * The headers (element 0: the value count and the format, {@link packedHeader}) of packed state
 * leaves, checked at every step so that a state made with another `stateDtype`, or for other
 * params, is refused instead of decoded into wrong numbers. Leaves the library made are recorded
 * when made, by their data: tfjs shares one data between a tensor, its clones and a variable
 * made from or assigned it, and never changes it (the kernels write packed outputs into new
 * tensors only, or over a leaf they own, keeping its header). Other leaves (a hand-made tensor, weights loaded by tfjs) are read once.
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

/**
 * Element 0 of packed leaf `t` (live, int32, 1-D, not empty): recorded, or read once. The read is
 * `dataSync` of the whole leaf, which runs no program: on webgl a program would read a 32-bit
 * leaf into a float texture, which keeps 24 bits of each element.
 */
export function packedHeaderOf(t: tf.Tensor): number {
  let header = headers.get(t.dataId);
  if (header === undefined) {
    header = t.dataSync()[0];
    headers.set(t.dataId, header);
  }
  return header;
}

/** Whether packed leaf `t` (int32, 1-D) says it holds `n` values in `format`, in a layout its length fits. */
export function hasPackedHeader(t: tf.Tensor, format: PackedFormat, n: number): boolean {
  if (t.size === 0) return false;
  const header = packedHeaderOf(t);
  if (header === packedHeader(format, n, 32)) return t.size === packedWords(format, n, 32);
  return header === packedHeader(format, n, 24) && t.size === packedWords(format, n, 24);
}

/** What a header says, for messages: `a packed bfloat16 state of 3 values`. */
export function describeHeader(header: number): string {
  const said = readPackedHeader(header);
  if (said === undefined) return `element 0 = ${header}, which is no packed header`;
  return `a packed ${describeFormat(said.format)} state of ${said.n} values${said.layout === 24 ? ' (in the 24-bit layout of webgl)' : ''}`;
}
