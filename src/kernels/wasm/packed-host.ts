import * as tf from '@tensorflow/tfjs-core';
import { packedHeader, packedWords, type PackedFormat } from '../../internal/state-dtype.js';
import { ARRAYS, COPYING, withCodec, type ArrayOf, type PackedHost } from '../packed-host.js';
import { heapOf, WasmKernels, type WasmBackendLike } from './runner.js';

/** The wasm backend's heap, read and written where the backend keeps each tensor. */
export function wasmHost(b: WasmBackendLike & { makeOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo }): PackedHost {
  const memory = heapOf(b);
  const kernels = WasmKernels.for(b);
  if (memory === undefined || kernels === null || typeof b.makeOutput !== 'function') return COPYING;
  const here = (t: tf.Tensor) => b.dataIdMap.get(t.dataId) !== undefined;
  const read = <D extends 'int32' | 'float32'>(t: tf.Tensor, dtype: D): ArrayOf[D] => {
    const entry = b.dataIdMap.get(t.dataId);
    // Data kept elsewhere (a tensor of another backend) is read through tfjs, which moves it.
    if (entry === undefined || t.dtype !== dtype) return t.dataSync() as ArrayOf[D];
    return new ARRAYS[dtype](memory.buffer, entry.memoryOffset, t.size) as ArrayOf[D];
  };
  /** A new tensor of the backend's own uninitialised memory (refCount 1), filled by `fill`. */
  const made = (shape: number[], dtype: 'int32' | 'float32', fill: (t: tf.Tensor) => void): tf.Tensor => {
    const t = tf.engine().makeTensorFromTensorInfo(b.makeOutput!(shape, dtype));
    try {
      fill(t);
    } catch (err) {
      t.dispose();
      throw err;
    }
    return t;
  };
  const host = withCodec({
    read: read as PackedHost['read'],
    make: (shape, dtype, fill) => made(shape, dtype, (t) => fill(read(t, dtype) as Int32Array & Float32Array)),
  });
  // The codec of optimizers.wat, where the tensor read is this backend's own.
  const codec = (pack: boolean, format: PackedFormat, packed: tf.Tensor, floats: tf.Tensor) => {
    if (format === 'bfloat16') kernels.bfloat16(pack, packed.dataId, floats.dataId, floats.size);
    else kernels.int8(pack, format === 'int8-signed', packed.dataId, floats.dataId, floats.size);
  };
  return {
    ...host,
    unpack: (format, packed, shape) =>
      here(packed) ? made(shape, 'float32', (t) => codec(false, format, packed, t)) : host.unpack(format, packed, shape),
    pack: (format, t) =>
      here(t)
        ? made([packedWords(format, t.size)], 'int32', (p) => {
            new Int32Array(memory.buffer, kernels.offset(p.dataId), 1)[0] = packedHeader(format, t.size);
            codec(true, format, p, t);
          })
        : host.pack(format, t),
  };
}

