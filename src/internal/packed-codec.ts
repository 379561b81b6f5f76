import { dynamicMap, dynamicMapMidpoints } from './dynamic-map.js';
import { convertLayout } from './packed-layout.js';
import { describeFormat, INT8_BLOCK, packedHeader, packedWords, readPackedHeader, type PackedFormat, type PackedLayout } from './state-dtype.js';

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

/** Packs `values` in `format` in `layout` (32 when absent; {@link packedWords}). */
export function packValues(format: PackedFormat, values: ArrayLike<number>, layout: PackedLayout = 32): Int32Array {
  const out = new Int32Array(packedWords(format, values.length, layout));
  packInto(format, values instanceof Float32Array ? values : Float32Array.from(values), out, layout);
  return out;
}

/** The values of a packed leaf of `format` in either layout (its count and layout read from its header, element 0). */
export function unpackValues(format: PackedFormat, packed: Int32Array): Float32Array {
  const said = readPackedHeader(packed[0]);
  if (said === undefined || said.format !== format || packedWords(format, said.n, said.layout) !== packed.length) {
    throw new Error(`tfjs-optax: not a packed ${describeFormat(format)} leaf: ${packed.length} elements, element 0 = ${packed[0]}`);
  }
  const out = new Float32Array(said.n);
  unpackInto(format, packed, out);
  return out;
}

/**
 * Packs `values` in `format` and `layout` (32 when absent) into `out`, which must hold
 * {@link packedWords} words: writes every one of them (count, scales, codes, and the zero codes
 * of a partial last word), so `out` may start with any contents (a new tensor's uninitialised
 * memory). The 24-bit layout is the 32-bit one's bytes regrouped (packed-layout.ts).
 */
export function packInto(format: PackedFormat, values: Float32Array, out: Int32Array, layout: PackedLayout = 32): void {
  if (layout === 24) {
    out.set(convertLayout(format, packValues(format, values), 24));
    return;
  }
  const n = values.length;
  out[0] = packedHeader(format, n);
  if (format === 'bfloat16') {
    // Signed bits: (u + 0x7fff + lsb) >>> 16 is the unsigned result for every non-NaN u (no
    // carry leaves 32 bits below the NaNs), and >>> 16 of a negative number reads its bits.
    const bits = new Int32Array(values.buffer, values.byteOffset, n);
    const pairs = n >> 1;
    for (let k = 0; k < pairs; k++) {
      const u = bits[2 * k];
      const v = bits[2 * k + 1];
      // NaN (exponent all ones, fraction not zero) becomes the quiet NaN; the rest round to
      // nearest even on the 16 bits dropped (a carry may reach the exponent, to infinity).
      const lo = (u & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
      const hi = (v & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (v + 0x7fff + ((v >>> 16) & 1)) >>> 16;
      out[1 + k] = lo | (hi << 16);
    }
    if (n & 1) {
      const u = bits[n - 1];
      out[1 + pairs] = (u & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
    }
    return;
  }
  const signed = format === 'int8-signed';
  const mid = sentinelMidpoints(signed);
  const table = codeTable(signed);
  const blocks = Math.ceil(n / INT8_BLOCK);
  const at = 1 + blocks;
  for (let b = 0; b < blocks; b++) {
    const start = b * INT8_BLOCK;
    const end = Math.min(n, start + INT8_BLOCK);
    let absmax = 0;
    let finite = true;
    for (let i = start; i < end; i++) {
      const a = Math.abs(values[i]);
      if (!(a <= 3.4028234663852886e38)) finite = false;
      else if (a > absmax) absmax = a;
    }
    // A block holding NaN or an infinity keeps a NaN scale: all its values read back as NaN.
    out[1 + b] = finite ? bitsOfFloat(absmax) : 0x7fc00000;
    // A zero or poisoned block is all code(0).
    const scale = finite && absmax > 0 ? absmax : 0;
    const whole = start + ((end - start) & ~3);
    let i = start;
    for (; i < whole; i += 4) {
      out[at + (i >> 2)] =
        code(values[i], scale, table, mid) |
        (code(values[i + 1], scale, table, mid) << 8) |
        (code(values[i + 2], scale, table, mid) << 16) |
        (code(values[i + 3], scale, table, mid) << 24);
    }
    // A partial last word: the missing values are code 0.
    if (i < end) {
      let word = 0;
      for (let q = 0; i + q < end; q++) word |= code(values[i + q], scale, table, mid) << (8 * q);
      out[at + (i >> 2)] = word;
    }
  }
}

/** One normalised value, and its bits. */
const NORMED = new Float32Array(1);
const NORMED_BITS = new Uint32Array(NORMED.buffer);

/**
 * The code of `x / scale` (of 0 when `scale` is 0): its float32 quotient (the float64 one
 * rounded once is the float32 division's), whose upper 16 bits give the smallest code of the
 * values sharing them, then one step up per midpoint the quotient exceeds from there (`mid`
 * ends with +Infinity, which nothing exceeds).
 */
function code(x: number, scale: number, table: Uint8Array, mid: Float32Array): number {
  NORMED[0] = scale === 0 ? 0 : x / scale;
  const q = NORMED[0];
  let c = table[NORMED_BITS[0] >>> 16];
  while (q > mid[c]) c++;
  return c;
}

/**
 * The values of a packed leaf of `format` (either layout) into `out` (as many as it holds: the
 * count in element 0), every element of which is written.
 */
export function unpackInto(format: PackedFormat, packed: Int32Array, out: Float32Array): void {
  if (packed[0] < 0) packed = convertLayout(format, packed, 32);
  const n = out.length;
  if (format === 'bfloat16') {
    const bits = new Int32Array(out.buffer, out.byteOffset, n);
    const pairs = n >> 1;
    for (let k = 0; k < pairs; k++) {
      const w = packed[1 + k];
      bits[2 * k] = w << 16;
      bits[2 * k + 1] = w & -65536;
    }
    if (n & 1) bits[n - 1] = packed[1 + pairs] << 16;
    return;
  }
  const map = dynamicMap(format === 'int8-signed');
  const blocks = Math.ceil(n / INT8_BLOCK);
  const at = 1 + blocks;
  for (let b = 0; b < blocks; b++) {
    const scale = floatOfBits(packed[1 + b] >>> 0);
    const start = b * INT8_BLOCK;
    const end = Math.min(n, start + INT8_BLOCK);
    const whole = start + ((end - start) & ~3);
    // The product of two float32 values is exact in float64: storing it rounds once.
    let i = start;
    for (; i < whole; i += 4) {
      const w = packed[at + (i >> 2)];
      out[i] = map[w & 0xff] * scale;
      out[i + 1] = map[(w >>> 8) & 0xff] * scale;
      out[i + 2] = map[(w >>> 16) & 0xff] * scale;
      out[i + 3] = map[w >>> 24] * scale;
    }
    for (; i < end; i++) out[i] = map[(packed[at + (i >> 2)] >>> (8 * (i & 3))) & 0xff] * scale;
  }
}

/**
 * The smallest code of the float32 values whose upper 16 bits are `p`, at index `p`. Codes grow
 * with the value, so it is the code of one end of the range: the end nearer zero for negative
 * values, the other for positive ones, and 0 for the NaNs (which exceed no midpoint).
 */
function codeTable(signed: boolean): Uint8Array {
  const cached = signed ? SIGNED_TABLE : UNSIGNED_TABLE;
  if (cached !== undefined) return cached;
  const mid = dynamicMapMidpoints(signed);
  const table = new Uint8Array(65536);
  for (let p = 0; p < 65536; p++) {
    const a = nearestCode(mid, floatOfBits((p << 16) >>> 0));
    const b = nearestCode(mid, floatOfBits(((p << 16) | 0xffff) >>> 0));
    table[p] = Math.min(a, b);
    // The heap codec (optimizers.wat) makes one comparison past the table's code: it relies on
    // this (finite values only; NaN codes 0).
    if (Math.abs(a - b) > 1 && !Number.isNaN(floatOfBits(((p << 16) | 0xffff) >>> 0))) {
      throw new Error('tfjs-optax: internal error: an int8 code table entry spans more than two codes');
    }
  }
  if (signed) SIGNED_TABLE = table;
  else UNSIGNED_TABLE = table;
  return table;
}

let SIGNED_TABLE: Uint8Array | undefined;
let UNSIGNED_TABLE: Uint8Array | undefined;

/**
 * The int8 codec's tables for a map (`signed` or not), as the SIMD codec on the wasm heap uses
 * them: `mid`, the 255 midpoints then +Infinity; `table`, the smallest code by the upper 16 bits
 * of a normalised value; `map`, the 256 values of the codes.
 */
export function int8CodecTables(signed: boolean): { mid: Float32Array; table: Uint8Array; map: Float32Array } {
  return { mid: sentinelMidpoints(signed), table: codeTable(signed), map: dynamicMap(signed) };
}

/** The 255 midpoints followed by +Infinity. */
function sentinelMidpoints(signed: boolean): Float32Array {
  const cached = signed ? SIGNED_MID : UNSIGNED_MID;
  if (cached !== undefined) return cached;
  const mid = new Float32Array(256);
  mid.set(dynamicMapMidpoints(signed));
  mid[255] = Infinity;
  if (signed) SIGNED_MID = mid;
  else UNSIGNED_MID = mid;
  return mid;
}

let SIGNED_MID: Float32Array | undefined;
let UNSIGNED_MID: Float32Array | undefined;

/** The code of `x`: the number of midpoints it exceeds (NaN exceeds none). */
function nearestCode(mid: Float32Array, x: number): number {
  let code = 0;
  for (let step = 128; step >= 1; step >>= 1) if (x > mid[code + step - 1]) code += step;
  return code;
}
