import { describeFormat, INT8_BLOCK, packedHeader, packedWords, readPackedHeader, type PackedFormat, type PackedLayout } from './state-dtype.js';

/**
 * The two layouts of a packed leaf ({@link packedWords}) over typed arrays: both hold the same
 * payload bytes (bfloat16 codes, or int8 codes) and the same int8 scales, regrouped, so
 * converting is exact and loses nothing. A leaf says its layout in element 0 (its header, negated in the 24-bit layout).
 */

/** The elements of a packed leaf, checked against its count and layout: what `words` hold, or why not. */
export function checkPackedWords(format: PackedFormat, words: ArrayLike<number>): { n: number; layout: PackedLayout } | string {
  if (words.length === 0) return 'no elements (element 0 must hold the header)';
  const head = words[0];
  const said = readPackedHeader(head);
  if (said === undefined) return `element 0 ${head}, which is no packed header`;
  const { n, layout } = said;
  if (said.format !== format) return `element 0 ${head}: a packed ${describeFormat(said.format)} leaf, not ${describeFormat(format)}`;
  const expected = packedWords(format, n, layout);
  if (words.length !== expected) {
    return `element 0 ${head} (${n} values in the ${layout}-bit layout, ${expected} elements), in ${words.length} elements`;
  }
  return { n, layout };
}

/**
 * `words` (a packed leaf in `format`, either layout) in layout `to`: `words` itself when it is
 * in `to` already, a new array otherwise. Throws when element 0 does not fit the length.
 */
export function convertLayout(format: PackedFormat, words: Int32Array, to: PackedLayout): Int32Array {
  const checked = checkPackedWords(format, words);
  if (typeof checked === 'string') throw new Error(`tfjs-optax: a packed ${format} leaf holds ${checked}`);
  const { n, layout: from } = checked;
  if (from === to) return words;
  const out = new Int32Array(packedWords(format, n, to));
  out[0] = packedHeader(format, n, to);
  const scales = format === 'bfloat16' ? 0 : Math.ceil(n / INT8_BLOCK);
  if (from === 32) {
    // Scale k: 32 bits in element 1 + k, to two 16-bit halves at 1 + 2k (low) and 2 + 2k.
    for (let k = 0; k < scales; k++) {
      const bits = words[1 + k];
      out[1 + 2 * k] = bits & 0xffff;
      out[2 + 2 * k] = bits >>> 16;
    }
  } else {
    for (let k = 0; k < scales; k++) out[1 + k] = (words[1 + 2 * k] & 0xffff) | (words[2 + 2 * k] << 16);
  }
  const bytes = format === 'bfloat16' ? 2 * n : n;
  const src = from === 32 ? 1 + scales : 1 + 2 * scales;
  const dst = to === 32 ? 1 + scales : 1 + 2 * scales;
  const srcPer = from === 32 ? 4 : 3;
  const dstPer = to === 32 ? 4 : 3;
  // Byte j of the payload: byte j % per of element j / per. The output starts at zero, so the
  // missing bytes of its last element stay 0.
  for (let j = 0, si = src, sb = 0, di = dst, db = 0; j < bytes; j++) {
    out[di] |= ((words[si] >>> (8 * sb)) & 0xff) << (8 * db);
    if (++sb === srcPer) {
      sb = 0;
      si++;
    }
    if (++db === dstPer) {
      db = 0;
      di++;
    }
  }
  return out;
}
