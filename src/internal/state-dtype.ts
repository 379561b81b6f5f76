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
 * The int32 elements of a packed leaf of `n` values. Every packed leaf is one 1-D int32 tensor:
 * element 0 holds its header ({@link packedHeader}: the count and the format); then, for bfloat16, `ceil(n / 2)` words, value `2k` in the low 16 bits of
 * word `k` and value `2k + 1` in the high 16 bits (a missing last value is code 0); for int8,
 * `ceil(n / 256)` float32 absmax scales (their bits), then `ceil(n / 4)` words, value `4k + j`
 * in bits `8j..8j+7` of word `k` (missing values are code 0). Byte order: on a little-endian
 * machine the words' bytes are the codes in value order.
 */
export function packedWords(format: PackedFormat, n: number): number {
  if (format === 'bfloat16') return 1 + Math.ceil(n / 2);
  return 1 + Math.ceil(n / INT8_BLOCK) + Math.ceil(n / 4);
}

/** Each packed format's code in a leaf's header. */
const FORMAT_CODES: Record<PackedFormat, number> = { bfloat16: 1, 'int8-signed': 2, 'int8-unsigned': 3 };
const FORMATS_BY_CODE: readonly PackedFormat[] = ['bfloat16', 'int8-signed', 'int8-unsigned'];

/** The most values one packed leaf holds: its header, `4n + code`, is a non-negative int32. */
export const MAX_PACKED_VALUES = 2 ** 29 - 1;

/**
 * Element 0 of a packed leaf of `n` values in `format`: `4n` plus the format's code (1 bfloat16,
 * 2 int8 signed, 3 int8 unsigned), so that a leaf says both what it holds and how many.
 */
export function packedHeader(format: PackedFormat, n: number): number {
  return n * 4 + FORMAT_CODES[format];
}

/** The format and value count a packed leaf's element 0 says, or `undefined` for no header. */
export function readPackedHeader(word: number): { format: PackedFormat; n: number } | undefined {
  if (!Number.isInteger(word) || word < 1 || word > 4 * MAX_PACKED_VALUES + 3 || word % 4 === 0) return undefined;
  return { format: FORMATS_BY_CODE[(word % 4) - 1], n: Math.floor(word / 4) };
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
