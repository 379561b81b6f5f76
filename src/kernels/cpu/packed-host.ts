import * as tf from '@tensorflow/tfjs-core';
import { ARRAYS, COPYING, withCodec, type PackedHost } from '../packed-host.js';
import { claim, watchCpuBackend, type CpuBackendLike } from './ownership.js';

/** The cpu backend's arrays, read without handing them out (see cpu/ownership.ts). */
export function cpuHost(b: CpuBackendLike): PackedHost {
  if (typeof b.data?.get !== 'function') return COPYING;
  return withCodec({
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
}

