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
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  if (format === 'bfloat16') {
    const bits = new Uint32Array(floats.buffer, floats.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const u = bits[i];
      // NaN (exponent all ones, fraction not zero) becomes the quiet NaN; the rest round to
      // nearest even on the 16 bits dropped (a carry may reach the exponent, to infinity).
      const code = (u & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
      out[1 + (i >> 1)] |= code << (16 * (i & 1));
    }
    return out;
  }
  const signed = format === 'int8-signed';
  const mid = dynamicMapMidpoints(signed);
  const table = codeTable(signed);
  const normed = new Float32Array(INT8_BLOCK);
  const normedBits = new Uint32Array(normed.buffer);
  const blocks = Math.ceil(n / INT8_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const start = b * INT8_BLOCK;
    const end = Math.min(n, start + INT8_BLOCK);
    let absmax = 0;
    let finite = true;
    for (let i = start; i < end; i++) {
      const a = Math.abs(floats[i]);
      if (!(a <= 3.4028234663852886e38)) finite = false;
      else if (a > absmax) absmax = a;
    }
    // A block holding NaN or an infinity keeps a NaN scale: all its values read back as NaN.
    out[1 + b] = finite ? bitsOfFloat(absmax) : 0x7fc00000;
    const at = 1 + blocks;
    // The float32 quotients (the float64 ones rounded once are the float32 division's).
    for (let i = start; i < end; i++) normed[i - start] = finite && absmax > 0 ? floats[i] / absmax : 0;
    for (let i = start; i < end; i++) {
      const j = i - start;
      let code = table[normedBits[j] >>> 16];
      if (code > 255) code = nearestCode(mid, normed[j]);
      out[at + (i >> 2)] |= code << (8 * (i & 3));
    }
  }
  return out;
}

/** The values of a packed leaf of `format` (its count read from element 0). */
export function unpackValues(format: PackedFormat, packed: Int32Array): Float32Array {
  const n = packed[0];
  const out = new Float32Array(n);
  if (format === 'bfloat16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = ((packed[1 + (i >> 1)] >>> (16 * (i & 1))) & 0xffff) << 16;
    return out;
  }
  const map = dynamicMap(format === 'int8-signed');
  const blocks = Math.ceil(n / INT8_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const scale = floatOfBits(packed[1 + b] >>> 0);
    const end = Math.min(n, (b + 1) * INT8_BLOCK);
    // The product of two float32 values is exact in float64: storing it rounds once.
    for (let i = b * INT8_BLOCK; i < end; i++) out[i] = map[(packed[1 + blocks + (i >> 2)] >>> (8 * (i & 3))) & 0xff] * scale;
  }
  return out;
}

/**
 * The code of every float32 whose upper 16 bits are `p`, at index `p`, where one code serves them
 * all (codes grow with the value, so the two ends of the range decide), else 256: a lookup that
 * spares most values the binary search.
 */
function codeTable(signed: boolean): Uint16Array {
  const cached = signed ? SIGNED_TABLE : UNSIGNED_TABLE;
  if (cached !== undefined) return cached;
  const mid = dynamicMapMidpoints(signed);
  const table = new Uint16Array(65536);
  for (let p = 0; p < 65536; p++) {
    const a = nearestCode(mid, floatOfBits((p << 16) >>> 0));
    const b = nearestCode(mid, floatOfBits(((p << 16) | 0xffff) >>> 0));
    table[p] = a === b ? a : 256;
  }
  if (signed) SIGNED_TABLE = table;
  else UNSIGNED_TABLE = table;
  return table;
}

let SIGNED_TABLE: Uint16Array | undefined;
let UNSIGNED_TABLE: Uint16Array | undefined;

/** The code of `x`: the number of midpoints it exceeds (NaN exceeds none). */
function nearestCode(mid: Float32Array, x: number): number {
  let code = 0;
  for (let step = 128; step >= 1; step >>= 1) if (x > mid[code + step - 1]) code += step;
  return code;
}
