import { checkChoice } from './options.js';

/**
 * How a transformation keeps its moments (its per-parameter state trees): `'float32'`, plain
 * tensors; `'bfloat16'`, each value rounded to bfloat16 and two packed per int32 element;
 * `'int8'`, blockwise dynamic 8-bit quantisation (Dettmers et al. 2022), four codes per int32
 * element plus one float32 scale per block of 256 values.
 * @group Transform options and states
 */
export type StateDtype = 'float32' | 'bfloat16' | 'int8';

/** The choices of the `stateDtype` option. */
export const STATE_DTYPES = ['float32', 'bfloat16', 'int8'] as const;

/**
 * How one state slot is stored: as float32 tensors, or packed (`'int8-signed'` for a moment
 * that takes both signs, quantised with the signed dynamic map; `'int8-unsigned'` for one kept
 * `>= 0`, with the unsigned map).
 */
export type SlotFormat = 'float32' | 'bfloat16' | 'int8-signed' | 'int8-unsigned';

/** A packed slot format. */
export type PackedFormat = Exclude<SlotFormat, 'float32'>;

/** Values per block of the int8 format, each block with its own absmax scale. */
export const INT8_BLOCK = 256;

/** The `stateDtype` option, checked (`'float32'` when absent). */
export function checkStateDtype(owner: string, value: unknown): StateDtype {
  return value === undefined ? 'float32' : checkChoice(owner, 'stateDtype', value, STATE_DTYPES);
}

/** The format of a slot kept in `dtype`; `signed` for a moment that takes both signs. */
export function slotFormat(dtype: StateDtype, signed: boolean): SlotFormat {
  if (dtype === 'int8') return signed ? 'int8-signed' : 'int8-unsigned';
  return dtype;
}

/**
 * How a packed leaf's bits sit in its int32 elements. `32`: all 32 bits of each element, for
 * backends whose int32 tensors hold every 32-bit value (cpu, wasm, webgpu's own programs).
 * `24`: the low 24 bits of each element, every element a non-negative integer below 2^24 except
 * element 0, which is negative: tfjs-backend-webgl keeps int32 tensors in float32 textures,
 * which hold integers exactly up to 2^24 only. Both layouts hold the same codes, scales and
 * bfloat16 values in the same order, so converting between them is exact.
 */
export type PackedLayout = 32 | 24;

/**
 * The int32 elements of a packed leaf of `n` values in `layout` (32 when absent). Every packed
 * leaf is one 1-D int32 tensor. Its payload is a string of bytes: for bfloat16, the 16-bit codes
 * of the values, two bytes each, low byte first; for int8, one code byte per value. Layout 32:
 * element 0 holds the header ({@link packedHeader}: `4n` plus the format's code); for int8, then `ceil(n / 256)` float32 absmax scales (their bits); then
 * the payload, four bytes per element, the first in bits 0..7 (bfloat16: value `2k` in the low
 * 16 bits of word `k`, value `2k + 1` in the high 16 bits; int8: value `4k + j` in bits
 * `8j..8j+7` of word `k`). Layout 24: element 0 holds the negated header (so its sign tells the
 * layouts apart); for int8, then each scale's bits as two elements, the low 16 bits first; then the
 * payload, three bytes per element (bfloat16: three values per two elements; int8: value
 * `3k + j` in bits `8j..8j+7` of element `k`). Missing bytes of a last element are 0. Byte order:
 * on a little-endian machine the 32-bit words' bytes are the payload in value order.
 */
export function packedWords(format: PackedFormat, n: number, layout: PackedLayout = 32): number {
  const bytes = format === 'bfloat16' ? 2 * n : n;
  const scales = format === 'bfloat16' ? 0 : Math.ceil(n / INT8_BLOCK);
  return layout === 32 ? 1 + scales + Math.ceil(bytes / 4) : 1 + 2 * scales + Math.ceil(bytes / 3);
}

/** Each packed format's code in a leaf's header. */
const FORMAT_CODES: Record<PackedFormat, number> = { bfloat16: 1, 'int8-signed': 2, 'int8-unsigned': 3 };
const FORMATS_BY_CODE: readonly PackedFormat[] = ['bfloat16', 'int8-signed', 'int8-unsigned'];

/** The most values one packed leaf holds in the 32-bit layout: its header, `4n + code`, is an int32. */
export const MAX_PACKED_VALUES = 2 ** 29 - 1;

/** The most values a leaf in the 24-bit layout holds: its header, `-(4n + code)`, must be >= -2^24. */
export const MAX_PACKED24_VALUES = 2 ** 22 - 1;

/**
 * Element 0 of a packed leaf of `n` values in `format` and `layout` (32 when absent), its header:
 * `4n` plus the format's code (1 bfloat16, 2 int8 signed, 3 int8 unsigned), negated in the
 * 24-bit layout. So a leaf says what it holds, how many, and how its bits sit.
 */
export function packedHeader(format: PackedFormat, n: number, layout: PackedLayout = 32): number {
  const h = n * 4 + FORMAT_CODES[format];
  return layout === 32 ? h : -h;
}

/** The format, value count and layout a packed leaf's element 0 says, or `undefined` for no header. */
export function readPackedHeader(word: number): { format: PackedFormat; n: number; layout: PackedLayout } | undefined {
  const h = Math.abs(word);
  if (!Number.isInteger(word) || h > 4 * MAX_PACKED_VALUES + 3 || h % 4 === 0) return undefined;
  const layout: PackedLayout = word > 0 ? 32 : 24;
  if (layout === 24 && h > 2 ** 24) return undefined;
  return { format: FORMATS_BY_CODE[(h % 4) - 1], n: Math.floor(h / 4), layout };
}

/** A packed format in words, for messages: `'int8 (signed)'`. */
export function describeFormat(format: PackedFormat): string {
  return format === 'bfloat16' ? 'bfloat16' : `int8 (${format === 'int8-signed' ? 'signed' : 'unsigned'})`;
}

/**
 * The {@link ElementStep.slotFormats} of a step whose slots are moments kept in `dtype`
 * (`signed[k]` for a slot that takes both signs); `undefined` for float32.
 */
export function momentFormats(dtype: StateDtype, signed: readonly boolean[]): SlotFormat[] | undefined {
  return dtype === 'float32' ? undefined : signed.map((s) => slotFormat(dtype, s));
}
