import * as tf from '@tensorflow/tfjs-core';
import { exponentOf, scalePow2, splitWord } from './float-bits.js';

/**
 * bfloat16 state in tf ops, the composite path's reference (packed-codec.ts has the same format
 * over typed arrays). A value is rounded to bfloat16 as rounding its float32 bits to the upper
 * 16 with ties to even would: to the nearest multiple of `2^(max(e, -126) - 7)`, `e` its binary
 * exponent, ties to even, overflowing to infinity. NaN becomes 0x7FC0, infinities and signed
 * zeros are kept. Two codes per int32 word, the first in the low 16 bits. Call inside a tidy.
 */

const MAX_FLOAT32 = 3.4028234663852886e38;

/** The bfloat16 codes (int32, 0..65535) of float32 `x`. */
export function bfloat16Codes(x: tf.Tensor): tf.Tensor {
  const a = tf.abs(x);
  const finite = tf.lessEqual(a, tf.scalar(MAX_FLOAT32));
  const a0 = tf.where(finite, a, tf.zerosLike(a));
  const e = tf.maximum(exponentOf(a0), tf.scalar(-126));
  // a0 / ulp, ulp = 2^(e - 7): exact (a power of two in [2^-133, 2^120], applied as two normal ones).
  const z = scalePow2(a0, tf.sub(tf.scalar(7), e));
  // Round to the nearest integer, ties to even: z < 2^8, so adding 2^23 rounds at the units.
  const magic = tf.scalar(2 ** 23);
  const r = tf.sub(tf.add(z, magic), magic);
  const magnitude = tf.where(finite, tf.add(tf.mul(tf.add(e, tf.scalar(126)), tf.scalar(128)), r), tf.fill(x.shape, 0x7f80));
  const negative = tf.logicalOr(tf.less(x, tf.scalar(0)), tf.less(tf.div(tf.scalar(1), x), tf.scalar(0)));
  const signed = tf.add(magnitude, tf.where(negative, tf.fill(x.shape, 32768), tf.zerosLike(x)));
  const code = tf.where(tf.notEqual(x, x), tf.fill(x.shape, 0x7fc0), signed);
  return tf.cast(code, 'int32');
}

/** The float32 values of bfloat16 codes (int32, 0..65535). */
export function bfloat16Values(codes: tf.Tensor): tf.Tensor {
  const [low, sign] = splitWord(codes, 32768);
  const [m, e] = splitWord(low, 128);
  const mf = tf.cast(m, 'float32');
  const ef = tf.cast(e, 'float32');
  const sub = tf.equal(ef, tf.scalar(0));
  const significand = tf.where(sub, mf, tf.add(mf, tf.scalar(128)));
  // significand * 2^k, k in [-133, 120] (the subnormal codes at -133): exact.
  const k = tf.where(sub, tf.fill(ef.shape, -133), tf.sub(ef, tf.scalar(134)));
  const value = scalePow2(significand, k);
  const special = tf.where(tf.equal(mf, tf.scalar(0)), tf.fill(ef.shape, Infinity), tf.fill(ef.shape, NaN));
  const magnitude = tf.where(tf.equal(ef, tf.scalar(255)), special, value);
  return tf.where(tf.equal(sign, tf.scalar(1, 'int32')), tf.neg(magnitude), magnitude);
}

/** The int32 words holding `codes` (int32, 0..65535, 1-D) two by two, a missing last one 0. */
export function packPairs(codes: tf.Tensor1D): tf.Tensor1D {
  const n = codes.size;
  const padded = n % 2 === 0 ? codes : tf.concat([codes, tf.zeros([1], 'int32')]);
  // Rows of the transpose are the even and the odd codes (a transpose is far cheaper than a split).
  const [lo, hi] = tf.unstack(tf.transpose(tf.reshape(padded, [-1, 2])));
  // The high code as a signed 16-bit number, so that the word stays in the int32 range.
  const high = tf.sub(hi, tf.mul(tf.cast(tf.greaterEqual(hi, tf.scalar(32768, 'int32')), 'int32'), tf.scalar(65536, 'int32')));
  return tf.reshape(tf.add(tf.mul(high, tf.scalar(65536, 'int32')), lo), [-1]);
}

/** The first `n` codes (int32, 0..65535) held by `words` two by two. */
export function unpackPairs(words: tf.Tensor1D, n: number): tf.Tensor1D {
  const [lo, hiSigned] = splitWord(words, 65536);
  const hi = tf.add(hiSigned, tf.mul(tf.cast(tf.less(hiSigned, tf.scalar(0, 'int32')), 'int32'), tf.scalar(65536, 'int32')));
  const codes = tf.reshape(tf.transpose(tf.concat([tf.reshape(lo, [1, -1]), tf.reshape(hi, [1, -1])])), [-1]);
  return (codes.size === n ? codes : tf.slice(codes, 0, n)) as tf.Tensor1D;
}

/**
 * The elements of the 24-bit layout holding `codes` (int32, 0..65535, 1-D): three codes (48
 * bits) per two elements, `c0 + (c1 mod 256) * 2^16` and `floor(c1 / 256) + c2 * 2^8`, the last
 * group cut after the elements its codes reach (`ceil(2n / 3)` in all). Every intermediate is an
 * integer below 2^24, so webgl computes it exactly.
 */
export function packTriples(codes: tf.Tensor1D): tf.Tensor1D {
  const n = codes.size;
  const groups = Math.ceil(n / 3);
  const padded = groups * 3 === n ? codes : tf.concat([codes, tf.zeros([groups * 3 - n], 'int32')]);
  const [c0, c1, c2] = tf.unstack(tf.transpose(tf.reshape(padded, [groups, 3])));
  const [low, high] = splitWord(c1, 256);
  const first = tf.add(c0, tf.mul(low, tf.scalar(65536, 'int32')));
  const second = tf.add(high, tf.mul(c2, tf.scalar(256, 'int32')));
  const elements = tf.reshape(tf.transpose(tf.stack([first, second])), [-1]) as tf.Tensor1D;
  const m = Math.ceil((2 * n) / 3);
  return elements.size === m ? elements : tf.slice(elements, 0, m);
}

/** The first `n` codes (int32, 0..65535) held by 24-bit `elements` three per two ({@link packTriples}). */
export function unpackTriples(elements: tf.Tensor1D, n: number): tf.Tensor1D {
  const groups = Math.ceil(n / 3);
  const padded = elements.size === 2 * groups ? elements : tf.concat([elements, tf.zeros([2 * groups - elements.size], 'int32')]);
  const [first, second] = tf.unstack(tf.transpose(tf.reshape(padded, [groups, 2])));
  const [c0, low] = splitWord(first, 65536);
  const [high, c2] = splitWord(second, 256);
  const c1 = tf.add(tf.mul(high, tf.scalar(256, 'int32')), low);
  const codes = tf.reshape(tf.transpose(tf.stack([c0, c1, c2])), [-1]);
  return (codes.size === n ? codes : tf.slice(codes, 0, n)) as tf.Tensor1D;
}
