import * as tf from '@tensorflow/tfjs-core';
import { packInto, unpackInto } from '../internal/packed-codec.js';
import { packedWords, type PackedFormat, type PackedLayout } from '../internal/state-dtype.js';

// How a backend reads and makes the tensors of packed optimizer state (`stateDtype` bfloat16 or
// int8) around a fused step: packed.ts decodes with `unpack`, runs the float32 program and
// encodes with `pack`. A backend folder gives its own host (`KernelBackend.packedHost`) where it
// can read and write tensor memory without copies; COPYING works on every backend.

/**
 * Reading and making tensors on the active backend without the copies of `dataSync` and
 * `tf.tensor`. A view `read` returns is valid until the backend next allocates (a wasm heap may
 * grow and move): `make` calls `fill` after its allocation, which reads its sources there.
 */
export interface PackedHost {
  read(t: tf.Tensor, dtype: 'int32'): Int32Array;
  read(t: tf.Tensor, dtype: 'float32'): Float32Array;
  /** A new tensor whose every element `fill` writes (it starts with any contents). */
  make(shape: number[], dtype: 'int32' | 'float32', fill: (data: Int32Array & Float32Array) => void): tf.Tensor;
  /** A float32 copy of shape `shape` of the values of the packed leaf `packed`. */
  unpack(format: PackedFormat, packed: tf.Tensor, shape: number[]): tf.Tensor;
  /** The packed leaf of the values of the float32 tensor `t`. */
  pack(format: PackedFormat, t: tf.Tensor): tf.Tensor;
}

/**
 * {@link PackedHost.unpack} and {@link PackedHost.pack} with the typed-array codec, packing in
 * `layout` (the backend's: 32 when absent; unpacking reads either).
 */
export function withCodec(h: Pick<PackedHost, 'read' | 'make'>, layout: PackedLayout = 32): PackedHost {
  return {
    ...h,
    unpack: (format, packed, shape) => h.make(shape, 'float32', (data) => unpackInto(format, h.read(packed, 'int32'), data)),
    pack: (format, t) => h.make([packedWords(format, t.size, layout)], 'int32', (data) => packInto(format, h.read(t, 'float32'), data, layout)),
  };
}

/** The typed array of each dtype a packed step reads and makes. */
export type ArrayOf = { int32: Int32Array; float32: Float32Array };
/** The constructors of {@link ArrayOf}. */
export const ARRAYS = { int32: Int32Array, float32: Float32Array } as const;

/** Reads with `dataSync` (a copy on wasm, the backend's own array on cpu), makes with `tf.tensor`. */
const COPYING_IO: Pick<PackedHost, 'read' | 'make'> = {
  read: ((t: tf.Tensor) => t.dataSync()) as PackedHost['read'],
  make(shape, dtype, fill) {
    const data = new ARRAYS[dtype](tf.util.sizeFromShape(shape));
    fill(data as Int32Array & Float32Array);
    return tf.tensor(data, shape, dtype);
  },
};

/** The typed-array codec through `dataSync` and `tf.tensor`, in the 32-bit layout. */
export const COPYING: PackedHost = withCodec(COPYING_IO);

/**
 * The same in the 24-bit layout (webgl's: its float textures hold the elements exactly), where
 * reading a leaf back is a GPU readback and making one an upload: correct, not fast.
 */
export const COPYING24: PackedHost = withCodec(COPYING_IO, 24);

