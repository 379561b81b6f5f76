// The SIMD codec on its own memory (the cpu backend's packed states) against the typed-array
// codec, bit for bit, on leaves that end inside and exactly at its chunks of 65536 values.
import { describe, expect, it } from 'vitest';
import { CodecMemory } from '../../../src/kernels/wasm/codec-memory.js';
import { packValues, unpackValues } from '../../../src/internal/packed-codec.js';
import { packedWords, type PackedFormat } from '../../../src/internal/state-dtype.js';

const CHUNK = 65536;
const formats: PackedFormat[] = ['bfloat16', 'int8-signed', 'int8-unsigned'];

/** Values over nine decades, a NaN, an infinity and an all-zero block (int8: two poisoned blocks). */
function values(n: number, format: PackedFormat): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(0.37 * i + n) * 10 ** ((i % 9) - 4);
  if (n > 5) out[5] = NaN;
  if (n > CHUNK + 3) out[CHUNK + 3] = -Infinity;
  for (let i = 512; i < Math.min(n, 768); i++) out[i] = 0;
  return format === 'int8-unsigned' ? out.map(Math.abs) : out;
}

describe('CodecMemory', () => {
  const codec = CodecMemory.get();
  it('compiles where WebAssembly SIMD does (Node here)', () => {
    expect(codec).not.toBeNull();
  });
  it.each(formats)('%s: packs and unpacks as the typed-array codec, across chunks', (format) => {
    for (const n of [0, 1, 3, 257, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 300]) {
      const x = values(n, format);
      const expected = packValues(format, x);
      const packed = new Int32Array(packedWords(format, n)).fill(-1);
      codec!.pack(format, x, packed);
      const word = packed.findIndex((w, i) => w !== expected[i]);
      expect(word, `n=${n}: first differing word`).toBe(-1);
      const want = new Int32Array(unpackValues(format, expected).buffer);
      const got = new Float32Array(n).fill(7);
      codec!.unpack(format, expected, got);
      const value = new Int32Array(got.buffer).findIndex((b, i) => b !== want[i]);
      expect(value, `n=${n}: first differing value`).toBe(-1);
    }
  });
});
