import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { packLeaf, unpackLeaf } from '../../src/internal/packed-slots.js';
import { packValues, unpackValues } from '../../src/internal/packed-codec.js';
import type { PackedFormat, PackedLayout } from '../../src/internal/state-dtype.js';

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];

/** Values that exercise the formats: ties, subnormals, extremes, NaN, signed zeros. */
function awkwardValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const specials = [0, -0, 1, -1, 2 ** -149, -(2 ** -140), 2 ** -126, 1.5 * 2 ** -133, f32(0x3f808000), f32(0x3f818000), f32(0x7f7fffff), -f32(0x7f7f8000), 3.0e38, 1e-45, 65504, 0.1];
  for (let i = 0; i < n; i++) {
    if (i < specials.length) out[i] = specials[i];
    else if (i % 7 === 0) out[i] = f32(Math.floor(rand() * 2 ** 32)); // any bit pattern, NaN included
    else out[i] = (rand() - 0.5) * 10 ** Math.floor(rand() * 12 - 8);
  }
  return out;
}

const backends = ['cpu', 'wasm'];
const start = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(start);
});

describe.each(backends)('packed leaves in tf ops on %s equal the typed-array codec bit for bit', (backend) => {
  const formats: PackedFormat[] = ['bfloat16', 'int8-signed', 'int8-unsigned'];
  const cases = formats.flatMap((format) => ([32, 24] as PackedLayout[]).map((layout) => [format, layout] as const));
  it.each(cases)('%s, the %i-bit layout', async (format, layout) => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    for (const n of [0, 1, 2, 3, 4, 5, 255, 256, 257, 600, 1031]) {
      let values = awkwardValues(n, n);
      if (format === 'int8-unsigned') values = values.map(Math.abs);
      // int8: most blocks finite (a NaN or infinity poisons a whole block).
      if (format !== 'bfloat16' && n > 300) values = values.map((v, i) => (i >= 256 && Number.isFinite(v) === false ? 0 : v));
      const expected = packValues(format, values, layout);
      const x = tf.tensor(values, [n]);
      const packed = tf.tidy(() => packLeaf(format, x, layout));
      const got = packed.dataSync() as Int32Array;
      expect(packed.dtype).toBe('int32');
      for (let i = 0; i < expected.length; i++) {
        if (got[i] !== expected[i]) throw new Error(`n=${n}: word ${i} is ${got[i]}, expected ${expected[i]}`);
      }
      expect(got.length).toBe(expected.length);
      const back = tf.tidy(() => unpackLeaf(format, packed, [n], layout));
      const want = new Uint32Array(unpackValues(format, expected).buffer);
      const have = new Uint32Array((back.dataSync() as Float32Array).slice().buffer);
      for (let i = 0; i < n; i++) {
        if (have[i] !== want[i]) throw new Error(`n=${n}: value ${i} is ${f32(have[i])}, expected ${f32(want[i])}`);
      }
      tf.dispose([x, packed, back]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
