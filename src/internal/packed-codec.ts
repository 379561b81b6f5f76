import { dynamicMap, dynamicMapMidpoints } from './dynamic-map.js';
import { INT8_BLOCK, packedWords, type PackedFormat } from './state-dtype.js';

/**
 * The packed state formats over typed arrays, written from their definitions with bit casts: a
 * second implementation of what the composite path computes in tf ops (bfloat16-pack.ts,
 * int8-pack.ts), against which tests check it bit for bit, and what `init` uploads. Layouts:
 * {@link packedWords}.
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The bfloat16 bits (0..65535) of `x` rounded to nearest even; NaN gives 0x7FC0. */
export function bfloat16Bits(x: number): number {
  F32[0] = x;
  const u = U32[0];
  if (Number.isNaN(F32[0])) return 0x7fc0;
  // Round to nearest even on the 16 bits dropped; a carry may reach the exponent (to infinity).
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/** The float32 value of bfloat16 bits. */
export function bfloat16Value(bits: number): number {
  U32[0] = (bits & 0xffff) << 16;
  return F32[0];
}

/** The float32 value whose bits are `bits` (unsigned). */
function floatOfBits(bits: number): number {
  U32[0] = bits;
  return F32[0];
}

function bitsOfFloat(x: number): number {
  F32[0] = x;
  return U32[0];
}

/** Packs `values` in `format` (the layout of {@link packedWords}). */
export function packValues(format: PackedFormat, values: ArrayLike<number>): Int32Array {
  const n = values.length;
  const out = new Int32Array(packedWords(format, n));
  out[0] = n;
  if (format === 'bfloat16') {
    for (let i = 0; i < n; i++) out[1 + (i >> 1)] |= bfloat16Bits(values[i]) << (16 * (i & 1));
    return out;
  }
  const mid = dynamicMapMidpoints(format === 'int8-signed');
  const blocks = Math.ceil(n / INT8_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const start = b * INT8_BLOCK;
    const end = Math.min(n, start + INT8_BLOCK);
    let absmax = 0;
    let finite = true;
    for (let i = start; i < end; i++) {
      const a = Math.abs(Math.fround(values[i]));
      if (!Number.isFinite(a)) finite = false;
      else if (a > absmax) absmax = a;
    }
    // A block holding NaN or an infinity keeps a NaN scale: all its values read back as NaN.
    const scale = finite ? absmax : NaN;
    out[1 + b] = finite ? bitsOfFloat(scale) : 0x7fc00000;
    for (let i = start; i < end; i++) {
      const normed = scale > 0 ? Math.fround(Math.fround(values[i]) / scale) : 0;
      out[1 + blocks + (i >> 2)] |= nearestCode(mid, normed) << (8 * (i & 3));
    }
  }
  return out;
}

/** The values of a packed leaf of `format` (its count read from element 0). */
export function unpackValues(format: PackedFormat, packed: Int32Array): Float32Array {
  const n = packed[0];
  const out = new Float32Array(n);
  if (format === 'bfloat16') {
    for (let i = 0; i < n; i++) out[i] = bfloat16Value(packed[1 + (i >> 1)] >>> (16 * (i & 1)));
    return out;
  }
  const map = dynamicMap(format === 'int8-signed');
  const blocks = Math.ceil(n / INT8_BLOCK);
  for (let i = 0; i < n; i++) {
    const scale = floatOfBits(packed[1 + Math.floor(i / INT8_BLOCK)] >>> 0);
    const code = (packed[1 + blocks + (i >> 2)] >>> (8 * (i & 3))) & 0xff;
    out[i] = Math.fround(map[code] * scale);
  }
  return out;
}

/** The code of `x`: the number of midpoints it exceeds (NaN exceeds none). */
function nearestCode(mid: Float32Array, x: number): number {
  let code = 0;
  for (let step = 128; step >= 1; step >>= 1) if (x > mid[code + step - 1]) code += step;
  return code;
}
