import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { canonicalJson, crc32, crc32Hex } from '../../src/interop/crc32.js';

// The checkpoints' checksum: CRC-32 as zlib computes it, and the canonical JSON it is taken of.

describe('crc32', () => {
  it("is zlib's CRC-32: the check value, every length up to 100 bytes, chained over parts", () => {
    expect(crc32Hex(new TextEncoder().encode('123456789'))).toBe('cbf43926');
    expect(crc32(new Uint8Array(0))).toBe(0);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let n = 1; n <= 100; n++) {
      const bytes = Uint8Array.from({ length: n }, random);
      expect(crc32(bytes), `${n} bytes`).toBe(zlibCrc32(bytes));
      const cut = random() % n;
      expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(zlibCrc32(bytes));
    }
  });

  it('changes with any one flipped bit', () => {
    const bytes = Uint8Array.from({ length: 37 }, (_, i) => (i * 31) & 255);
    const sums = new Set([crc32(bytes)]);
    for (let bit = 0; bit < 8 * bytes.length; bit++) {
      bytes[bit >> 3] ^= 1 << (bit & 7);
      sums.add(crc32(bytes));
      bytes[bit >> 3] ^= 1 << (bit & 7);
    }
    expect(sums.size).toBe(8 * bytes.length + 1);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, leaves out undefined as JSON does, and reads back as the value', () => {
    const a = { b: [1, { z: 'x', y: null }], a: 1.5, u: undefined, n: { '10': 1, '9': 2 } };
    const b = { n: { '9': 2, '10': 1 }, a: 1.5, b: [1, { y: null, z: 'x' }] };
    expect(canonicalJson(a)).toBe('{"a":1.5,"b":[1,{"y":null,"z":"x"}],"n":{"10":1,"9":2}}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(canonicalJson(JSON.parse(JSON.stringify(a)))).toBe(canonicalJson(a));
    expect(JSON.parse(canonicalJson(a))).toEqual(JSON.parse(JSON.stringify(a)));
  });
});
