// The copying packed hosts (src/kernels/packed-host.ts) on cpu: COPYING in the 32-bit layout,
// COPYING24 in webgl's 24-bit one (its fallback where GLSL programs cannot run); each packs as the
// typed-array codec does and unpacks either layout.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { COPYING, COPYING24 } from '../../src/kernels/packed-host.js';
import { packValues } from '../../src/internal/packed-codec.js';
import type { PackedFormat } from '../../src/internal/state-dtype.js';

const start = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(start);
});

describe('the copying packed hosts', () => {
  it.each(['bfloat16', 'int8-signed', 'int8-unsigned'] as PackedFormat[])('%s: pack in their layout, unpack either', async (format) => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    for (const n of [0, 1, 5, 257]) {
      const values = Float32Array.from({ length: n }, (_, i) => (format === 'int8-unsigned' ? 1 : -1) ** i * (i + 1) * 0.37);
      const x = tf.tensor1d(values);
      const reference = tf.tensor1d(packValues(format, values), 'int32');
      const decoded = COPYING.unpack(format, reference, [n]);
      const want = Array.from(decoded.dataSync());
      for (const [host, layout] of [[COPYING, 32], [COPYING24, 24]] as const) {
        const packed = host.pack(format, x);
        expect(Array.from(packed.dataSync()), `n=${n}, ${layout}`).toEqual(Array.from(packValues(format, values, layout)));
        for (const other of [COPYING, COPYING24]) {
          const back = other.unpack(format, packed, [n]);
          expect(Array.from(back.dataSync())).toEqual(want);
          back.dispose();
        }
        packed.dispose();
      }
      tf.dispose([x, reference, decoded]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
