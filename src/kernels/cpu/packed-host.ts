import * as tf from '@tensorflow/tfjs-core';
import { packedWords } from '../../internal/state-dtype.js';
import { ARRAYS, COPYING, withCodec, type PackedHost } from '../packed-host.js';
import { CodecMemory } from '../wasm/codec-memory.js';
import { claim, watchCpuBackend, type CpuBackendLike } from './ownership.js';

/**
 * The cpu backend's arrays, read without handing them out (see cpu/ownership.ts), decoded and
 * encoded by the WebAssembly SIMD codec in chunks (wasm/codec-memory.ts), or by the typed-array
 * codec where WebAssembly SIMD is missing; both give the same bits.
 */
export function cpuHost(b: CpuBackendLike): PackedHost {
  if (typeof b.data?.get !== 'function') return COPYING;
  const host = withCodec({
    read: ((t: tf.Tensor, dtype: 'int32' | 'float32') => {
      const values = b.data.get(t.dataId)?.values as unknown;
      return values instanceof ARRAYS[dtype] && values.length === t.size ? values : t.dataSync();
    }) as PackedHost['read'],
    // A float32 copy's array is the library's alone (nothing else holds it), so an in-place
    // step may write it (ownership.ts).
    make: (shape, dtype, fill) => {
      const t = COPYING.make(shape, dtype, fill);
      if (dtype === 'float32' && watchCpuBackend(b)) claim(b.data.get(t.dataId)!.values);
      return t;
    },
  });
  const simd = CodecMemory.get();
  if (simd === null) return host;
  return {
    ...host,
    unpack: (format, packed, shape) => host.make(shape, 'float32', (data) => simd.unpack(format, host.read(packed, 'int32'), data)),
    pack: (format, t) => host.make([packedWords(format, t.size)], 'int32', (data) => simd.pack(format, host.read(t, 'float32'), data)),
  };
}
