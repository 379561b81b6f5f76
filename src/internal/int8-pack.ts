import * as tf from '@tensorflow/tfjs-core';
import { dynamicMap, dynamicMapMidpoints } from './dynamic-map.js';
import { splitWord } from './float-bits.js';
import { INT8_BLOCK } from './state-dtype.js';

/**
 * Blockwise dynamic 8-bit state in tf ops, the composite path's reference (packed-codec.ts has
 * the same format over typed arrays). Values are cut into blocks of 256 (the last one padded
 * with zeros); each block keeps its absmax `s = max |x|` as float32 and each value the code of
 * the dynamic map (dynamic-map.ts) nearest to `x / s` (0 for a block of zeros). A block holding
 * NaN or an infinity keeps the scale NaN, so all its values read back as NaN. A value reads back
 * as `map[code] * s`. Four codes per int32 word, the first in the low 8 bits. Call inside a tidy.
 */

/** The absmax scales (float32, one per block) and the codes (int32, 0..255) of 1-D `x`. */
export function int8Quantize(x: tf.Tensor1D, signed: boolean): [tf.Tensor1D, tf.Tensor1D] {
  const n = x.size;
  const blocks = Math.ceil(n / INT8_BLOCK);
  const padded = blocks * INT8_BLOCK === n ? x : tf.concat([x, tf.zeros([blocks * INT8_BLOCK - n])]);
  const X = tf.reshape(padded, [blocks, INT8_BLOCK]);
  const a = tf.abs(X);
  // 0 for a block of finite values, NaN for one with NaN or an infinity (0 * inf is NaN).
  const poison = tf.sum(tf.mul(a, tf.scalar(0)), 1);
  const absmax = tf.add(tf.max(a, 1), poison) as tf.Tensor1D;
  const s = tf.expandDims(absmax, 1);
  const normed = tf.reshape(tf.where(tf.greater(s, tf.scalar(0)), tf.div(X, s), tf.zerosLike(X)), [-1]);
  const mid = tf.tensor1d(dynamicMapMidpoints(signed));
  // The number of midpoints below each value, by binary search.
  let code: tf.Tensor = tf.zeros([blocks * INT8_BLOCK], 'int32');
  for (let step = 128; step >= 1; step >>= 1) {
    const next = tf.add(code, tf.scalar(step, 'int32'));
    const threshold = tf.gather(mid, tf.sub(next, tf.scalar(1, 'int32')));
    code = tf.where(tf.greater(normed, threshold), next, code);
  }
  return [absmax, (blocks * INT8_BLOCK === n ? code : tf.slice(code, 0, n)) as tf.Tensor1D];
}

/** The first `n` values of blocks with scales `absmax` and codes `codes` (int32, 0..255). */
export function int8Dequantize(absmax: tf.Tensor1D, codes: tf.Tensor1D, n: number, signed: boolean): tf.Tensor1D {
  const blocks = absmax.size;
  const all = codes.size === blocks * INT8_BLOCK ? codes : tf.concat([codes, tf.zeros([blocks * INT8_BLOCK - codes.size], 'int32')]);
  const values = tf.gather(tf.tensor1d(dynamicMap(signed)), all);
  const scaled = tf.reshape(tf.mul(tf.reshape(values, [blocks, INT8_BLOCK]), tf.expandDims(absmax, 1)), [-1]);
  return (scaled.size === n ? scaled : tf.slice(scaled, 0, n)) as tf.Tensor1D;
}

/** The int32 words holding `codes` (int32, 0..255, 1-D) four by four, missing ones 0. */
export function packQuads(codes: tf.Tensor1D): tf.Tensor1D {
  const n = codes.size;
  const m = Math.ceil(n / 4);
  const padded = m * 4 === n ? codes : tf.concat([codes, tf.zeros([m * 4 - n], 'int32')]);
  const [b0, b1, b2, b3] = tf.unstack(tf.transpose(tf.reshape(padded, [m, 4])));
  const byte = tf.scalar(256, 'int32');
  // The top byte as a signed 8-bit number, so that the word stays in the int32 range.
  const top = tf.sub(b3, tf.mul(tf.cast(tf.greaterEqual(b3, tf.scalar(128, 'int32')), 'int32'), byte));
  const word = tf.add(tf.mul(tf.add(tf.mul(tf.add(tf.mul(top, byte), b2), byte), b1), byte), b0);
  return tf.reshape(word, [-1]);
}

/** The first `n` codes (int32, 0..255) held by `words` four by four. */
export function unpackQuads(words: tf.Tensor1D, n: number): tf.Tensor1D {
  const [b0, r1] = splitWord(words, 256);
  const [b1, r2] = splitWord(r1, 256);
  const [b2, top] = splitWord(r2, 256);
  const b3 = tf.add(top, tf.mul(tf.cast(tf.less(top, tf.scalar(0, 'int32')), 'int32'), tf.scalar(256, 'int32')));
  const codes = tf.reshape(tf.transpose(tf.concat([b0, b1, b2, b3].map((b) => tf.reshape(b, [1, -1])))), [-1]);
  return (codes.size === n ? codes : tf.slice(codes, 0, n)) as tf.Tensor1D;
}

/**
 * The elements of the 24-bit layout holding `codes` (int32, 0..255, 1-D) three by three, value
 * `3k + j` in bits `8j..8j+7` of element `k`, missing ones 0: integers below 2^24, exact on webgl.
 */
export function packTrios(codes: tf.Tensor1D): tf.Tensor1D {
  const n = codes.size;
  const m = Math.ceil(n / 3);
  const padded = m * 3 === n ? codes : tf.concat([codes, tf.zeros([m * 3 - n], 'int32')]);
  const [b0, b1, b2] = tf.unstack(tf.transpose(tf.reshape(padded, [m, 3])));
  const byte = tf.scalar(256, 'int32');
  return tf.reshape(tf.add(tf.mul(tf.add(tf.mul(b2, byte), b1), byte), b0), [-1]);
}

/** The first `n` codes (int32, 0..255) held by 24-bit `elements` three by three. */
export function unpackTrios(elements: tf.Tensor1D, n: number): tf.Tensor1D {
  const [b0, r1] = splitWord(elements, 256);
  const [b1, b2] = splitWord(r1, 256);
  const codes = tf.reshape(tf.transpose(tf.concat([b0, b1, b2].map((b) => tf.reshape(b, [1, -1])))), [-1]);
  return (codes.size === n ? codes : tf.slice(codes, 0, n)) as tf.Tensor1D;
}
