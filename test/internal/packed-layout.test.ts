import { describe, expect, it } from 'vitest';
import { checkPackedWords, convertLayout } from '../../src/internal/packed-layout.js';
import { packValues, unpackValues } from '../../src/internal/packed-codec.js';
import { MAX_PACKED24_VALUES, packedHeader, packedWords, readPackedHeader, type PackedFormat } from '../../src/internal/state-dtype.js';

const FORMATS: PackedFormat[] = ['bfloat16', 'int8-signed', 'int8-unsigned'];
const SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 255, 256, 257, 600];

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.slice().buffer));

/** Values of every sign and many magnitudes, with a NaN and an infinity in block 1 (int8: a poisoned block). */
function values(n: number, format: PackedFormat): Float32Array {
  const v = Float32Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + n) * 10 ** ((i % 9) - 5));
  if (format === 'int8-unsigned') v.forEach((x, i) => (v[i] = Math.abs(x)));
  if (n > 300) {
    v[260] = NaN;
    v[261] = format === 'int8-unsigned' ? Infinity : -Infinity;
  }
  return v;
}

describe('the 24-bit layout', () => {
  it('has the element counts of its definition: three bytes per element, a scale in two', () => {
    // bfloat16: three values per two elements; int8: three codes per element, two per scale.
    expect([0, 1, 2, 3, 4, 6, 7, 600].map((n) => packedWords('bfloat16', n, 24))).toEqual([1, 2, 3, 3, 4, 5, 6, 401]);
    expect([0, 1, 3, 4, 256, 257, 600].map((n) => packedWords('int8-signed', n, 24))).toEqual([1, 4, 4, 5, 89, 91, 207]);
    // The 32-bit layout is unchanged.
    expect([0, 1, 3, 600].map((n) => packedWords('bfloat16', n))).toEqual([1, 2, 3, 301]);
    expect([0, 1, 257, 600].map((n) => packedWords('int8-unsigned', n, 32))).toEqual([1, 3, 68, 154]);
  });

  it('marks element 0 with the negated header -(4n + code), which tells the layouts apart down to n = 0', () => {
    expect([0, 5, MAX_PACKED24_VALUES].map((n) => packedHeader('int8-unsigned', n, 24))).toEqual([-3, -23, -(2 ** 24) + 1]);
    expect(readPackedHeader(-1)).toEqual({ format: 'bfloat16', n: 0, layout: 24 });
    expect(readPackedHeader(1)).toEqual({ format: 'bfloat16', n: 0, layout: 32 });
    expect(readPackedHeader(-(2 ** 24) + 1)).toEqual({ format: 'int8-unsigned', n: MAX_PACKED24_VALUES, layout: 24 });
    expect(readPackedHeader(-(2 ** 24) - 1)).toBeUndefined();
    expect(Array.from(packValues('bfloat16', [], 24))).toEqual([-1]);
    expect(Array.from(packValues('int8-signed', [], 24))).toEqual([-2]);
  });

  it('bfloat16: three codes per two elements, low bytes first; a partial group cut after its bytes', () => {
    // 1, -2, 0.5, 3 are bfloat16 0x3F80, 0xC000, 0x3F00, 0x4040.
    const w = packValues('bfloat16', [1, -2, 0.5, 3], 24);
    expect(Array.from(w)).toEqual([packedHeader('bfloat16', 4, 24), 0x3f80 | (0x00 << 16), 0xc0 | (0x3f00 << 8), 0x4040]);
    expect(Array.from(unpackValues('bfloat16', w))).toEqual([1, -2, 0.5, 3]);
    expect(Array.from(packValues('bfloat16', [1, -2], 24))).toEqual([packedHeader('bfloat16', 2, 24), 0x3f80, 0xc0]);
  });

  it('int8: each scale split low 16 bits first, then three codes per element', () => {
    const w = packValues('int8-signed', [0.5, -1, 0.25, 0], 24);
    const w32 = packValues('int8-signed', [0.5, -1, 0.25, 0]);
    // Scale 1.0 is 0x3F800000.
    expect(Array.from(w.slice(0, 3))).toEqual([packedHeader('int8-signed', 4, 24), 0x0000, 0x3f80]);
    expect(w[3]).toBe(w32[2] & 0xffffff);
    expect(w[4]).toBe(w32[2] >>> 24);
    expect(w.length).toBe(5);
  });

  it('every element but the first is an integer in [0, 2^24), which float32 holds exactly', () => {
    for (const format of FORMATS) {
      for (const n of SIZES) {
        const w = packValues(format, values(n, format), 24);
        expect(w[0]).toBe(packedHeader(format, n, 24));
        for (let i = 1; i < w.length; i++) if (!(w[i] >= 0 && w[i] < 2 ** 24)) throw new Error(`${format} n=${n}: element ${i} is ${w[i]}`);
        expect(Array.from(Float32Array.from(w))).toEqual(Array.from(w));
      }
    }
  });

  it.each(FORMATS)('%s: converting between the layouts is exact both ways and decodes to the same values', (format) => {
    for (const n of SIZES) {
      const v = values(n, format);
      const w32 = packValues(format, v);
      const w24 = packValues(format, v, 24);
      expect(w24.length, `n=${n}`).toBe(packedWords(format, n, 24));
      expect(Array.from(convertLayout(format, w32, 24)), `n=${n}`).toEqual(Array.from(w24));
      expect(Array.from(convertLayout(format, w24, 32)), `n=${n}`).toEqual(Array.from(w32));
      expect(convertLayout(format, w32, 32)).toBe(w32);
      expect(bits(unpackValues(format, w24)), `n=${n}`).toEqual(bits(unpackValues(format, w32)));
    }
  });

  it('int8: every code in every position of a word, and NaN and infinite scales, survive both conversions', () => {
    // 257 values: codes 0..255 then one more (a partial block); scales of every kind.
    const n = 600;
    const w32 = new Int32Array(packedWords('int8-signed', n));
    w32[0] = packedHeader('int8-signed', n);
    const scales = [0x3f800000, 0x7fc00000, 0x7f800000, 0, 1, 0x7f7fffff | 0];
    scales.slice(0, 3).forEach((s, k) => (w32[1 + k] = s));
    for (let i = 0; i < n; i++) {
      const c = (i * 7 + (i >> 8)) & 0xff;
      w32[4 + (i >> 2)] |= c << (8 * (i & 3));
    }
    const back = convertLayout('int8-signed', convertLayout('int8-signed', w32, 24), 32);
    expect(Array.from(back)).toEqual(Array.from(w32));
    // Every byte value at every position of an element and of a word.
    for (const s of scales) {
      const one = new Int32Array(packedWords('int8-unsigned', 12));
      one[0] = packedHeader('int8-unsigned', 12);
      one[1] = s;
      for (let k = 0; k < 3; k++) one[2 + k] = (0xff << 24) | (0x80 << 16) | (0x7f << 8) | (k * 85);
      expect(Array.from(convertLayout('int8-unsigned', convertLayout('int8-unsigned', one, 24), 32))).toEqual(Array.from(one));
    }
  });

  it('bfloat16: all 65536 codes round-trip through the 24-bit layout', () => {
    const n = 65536 + 1;
    const w32 = new Int32Array(packedWords('bfloat16', n));
    w32[0] = packedHeader('bfloat16', n);
    for (let i = 0; i < n; i++) w32[1 + (i >> 1)] |= (i & 0xffff) << (16 * (i & 1));
    const w24 = convertLayout('bfloat16', w32, 24);
    expect(Array.from(convertLayout('bfloat16', w24, 32))).toEqual(Array.from(w32));
  });

  it('checks element 0 against the length, naming both', () => {
    expect(checkPackedWords('bfloat16', new Int32Array([13, 0, 0]))).toEqual({ n: 3, layout: 32 });
    expect(checkPackedWords('bfloat16', new Int32Array([-13, 0, 0]))).toEqual({ n: 3, layout: 24 });
    expect(checkPackedWords('int8-signed', new Int32Array([-14, 0, 0]))).toBe('element 0 -14 (3 values in the 24-bit layout, 4 elements), in 3 elements');
    expect(checkPackedWords('int8-signed', new Int32Array([-13, 0, 0]))).toBe('element 0 -13: a packed bfloat16 leaf, not int8 (signed)');
    expect(checkPackedWords('int8-signed', new Int32Array([]))).toBe('no elements (element 0 must hold the header)');
    expect(() => convertLayout('bfloat16', new Int32Array([29, 1]), 24)).toThrow('a packed bfloat16 leaf holds element 0 29 (7 values in the 32-bit layout, 5 elements), in 2 elements');
  });
});
