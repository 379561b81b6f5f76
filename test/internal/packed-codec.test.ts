import { describe, expect, it } from 'vitest';
import { bfloat16Bits, bfloat16Value, packValues, unpackValues } from '../../src/internal/packed-codec.js';
import { dynamicMap, dynamicMapMidpoints } from '../../src/internal/dynamic-map.js';
import { packedWords } from '../../src/internal/state-dtype.js';

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];

describe('bfloat16 codec', () => {
  it('rounds the float32 bits to the upper 16, ties to even', () => {
    expect(bfloat16Bits(1)).toBe(0x3f80);
    expect(bfloat16Bits(-2)).toBe(0xc000);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even 1.
    expect(bfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up to the even one.
    expect(bfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(bfloat16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(bfloat16Bits(f32(0x3f80_7fff))).toBe(0x3f80);
    expect(bfloat16Bits(f32(0x3f80_8001))).toBe(0x3f81);
  });
  it('keeps infinities, signed zeros and NaN; overflows to infinity', () => {
    expect(bfloat16Bits(Infinity)).toBe(0x7f80);
    expect(bfloat16Bits(-Infinity)).toBe(0xff80);
    expect(bfloat16Bits(0)).toBe(0);
    expect(bfloat16Bits(-0)).toBe(0x8000);
    expect(bfloat16Bits(NaN)).toBe(0x7fc0);
    expect(bfloat16Bits(f32(0x7f7f_ffff))).toBe(0x7f80);
    expect(bfloat16Value(0x7fc0)).toBeNaN();
    expect(Object.is(bfloat16Value(0x8000), -0)).toBe(true);
  });
  it('rounds subnormals on the grid 2^-133', () => {
    expect(bfloat16Bits(2 ** -149)).toBe(0);
    expect(bfloat16Bits(2 ** -133)).toBe(1);
    expect(bfloat16Bits(1.5 * 2 ** -133)).toBe(2); // tie, to even
    expect(bfloat16Bits(2.5 * 2 ** -133)).toBe(2); // tie, to even
    expect(bfloat16Value(1)).toBe(2 ** -133);
    expect(bfloat16Bits(127.5 * 2 ** -133)).toBe(0x80); // to the smallest normal
  });
  it('packs two per word, the first in the low half, after the header (4 n + 1); odd counts padded', () => {
    const packed = packValues('bfloat16', [1, -2, 0.5]);
    expect(Array.from(packed)).toEqual([4 * 3 + 1, (0xc000 << 16) | 0x3f80, 0x3f00]);
    expect(Array.from(unpackValues('bfloat16', packed))).toEqual([1, -2, 0.5]);
    expect(packedWords('bfloat16', 3)).toBe(3);
  });
});

describe('dynamic maps', () => {
  it('are sorted, 256 values, with 0 and 1', () => {
    for (const signed of [true, false]) {
      const map = dynamicMap(signed);
      expect(map.length).toBe(256);
      for (let i = 1; i < 256; i++) expect(map[i]).toBeGreaterThan(map[i - 1]);
      expect(map[255]).toBe(1);
      expect(map[signed ? 127 : 0]).toBe(0);
    }
  });
  it('hold bitsandbytes values', () => {
    // Signed: exponent 0 has one interval, mean 0.55, times 1e-6; the top interval of 64 ends at 1 - 0.9/128.
    const s = dynamicMap(true);
    expect(s[128]).toBe(Math.fround(0.55e-6));
    expect(s[126]).toBe(Math.fround(-0.55e-6));
    expect(s[254]).toBe(Math.fround(1 - 0.9 / 128));
    expect(s[0]).toBe(Math.fround(-(1 - 0.9 / 128)));
    // Unsigned: exponent 0 has two intervals (means 0.325, 0.775), the top one 128.
    const u = dynamicMap(false);
    expect(u[1]).toBe(Math.fround(0.325e-6));
    expect(u[2]).toBe(Math.fround(0.775e-6));
    expect(u[254]).toBe(Math.fround(1 - 0.9 / 256));
    expect(dynamicMapMidpoints(false)[1]).toBe(Math.fround((0.325e-6 + 0.775e-6) / 2));
  });
  it('never round a positive value to the unsigned code 0 (a second moment decoding to 0 makes Adam divide by eps)', () => {
    expect(dynamicMapMidpoints(false)[0]).toBe(0);
    expect(dynamicMapMidpoints(true)[127]).toBe(Math.fround(0.55e-6 / 2));
    // One block: its largest 1, then values far below the smallest code (3.25e-7), and 0.
    const values = [1, 1e-8, 2 ** -149, 1e-30, 1.6e-7, 0];
    const back = unpackValues('int8-unsigned', packValues('int8-unsigned', values));
    expect(Array.from(back)).toEqual([1, 0.325e-6, 0.325e-6, 0.325e-6, 0.325e-6, 0].map(Math.fround));
    // The signed map (first moments) rounds to nearest as before: tiny values to 0.
    expect(Array.from(unpackValues('int8-signed', packValues('int8-signed', [1, 1e-8, -1e-8])))).toEqual([1, 0, 0]);
  });
});

describe('int8 codec', () => {
  it('scales by the block absmax and picks the nearest code', () => {
    const values = [0.5, -1, 0.25, 0];
    const packed = packValues('int8-signed', values);
    expect(packed[0]).toBe(4 * 4 + 2); // the header: 4 values, int8 signed
    expect(new Float32Array(packed.buffer, 4, 1)[0]).toBe(1);
    const back = unpackValues('int8-signed', packed);
    const map = dynamicMap(true);
    // -1 has no code of its own: the nearest is the smallest one.
    expect(back[1]).toBe(map[0]);
    expect(back[3]).toBe(0);
    for (let i = 0; i < 4; i++) {
      const nearest = Math.min(...Array.from(map, (c) => Math.abs(c - values[i])));
      expect(Math.abs(back[i] - values[i])).toBe(Math.fround(nearest));
    }
  });
  it('keeps zero blocks at zero, poisons blocks with non-finite values, pads to 4 and 256', () => {
    const n = 600;
    const values = new Float32Array(n);
    for (let i = 256; i < 512; i++) values[i] = Math.sin(i);
    values[300] = Infinity;
    for (let i = 512; i < n; i++) values[i] = i / 1000;
    const packed = packValues('int8-unsigned', values);
    expect(packed.length).toBe(packedWords('int8-unsigned', n));
    expect(packed.length).toBe(1 + 3 + 150);
    const back = unpackValues('int8-unsigned', packed);
    for (let i = 0; i < 256; i++) expect(back[i]).toBe(0);
    for (let i = 256; i < 512; i++) expect(back[i]).toBeNaN();
    expect(new Float32Array(packed.buffer, 4 * 3, 1)[0]).toBe(Math.fround(0.599));
    for (let i = 512; i < n; i++) expect(Math.abs(back[i] - values[i])).toBeLessThan(0.599 * 0.004);
    expect(packedWords('int8-signed', 5)).toBe(1 + 1 + 2);
  });
});
