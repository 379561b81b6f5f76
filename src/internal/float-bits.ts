import * as tf from '@tensorflow/tfjs-core';

/**
 * The fields of float32 numbers and of int32 words in tf ops, exactly, on backends whose int32
 * tensors hold 32 bits (cpu, wasm, webgpu), and (the 16-bit halves, every intermediate below
 * 2^24) on webgl. tfjs has no bit cast, so a float's exponent is found
 * from its logarithm and corrected by comparison with exact powers of two, and a float is rebuilt
 * from its fields by multiplying by a power of two (gathered from a table, never `pow`); every
 * such product and quotient is exact (subnormals included, as IEEE 754 has them on cpu and wasm). Integer
 * fields come out of words by {@link splitWord}. Every function here creates only temporaries
 * and its result; call them inside a `tf.tidy`.
 */

/** 2^k for k = -149 .. 127, every power of two a float32 holds (subnormals included). */
const POW2 = /* @__PURE__ */ (() => Float32Array.from({ length: 277 }, (_, i) => 2 ** (i - 149)))();

/** `2^k` (float32) for an integer-valued float tensor `k` in [-149, 127]. */
export function pow2(k: tf.Tensor): tf.Tensor {
  const table = tf.tensor1d(POW2);
  return tf.gather(table, tf.cast(tf.add(k, tf.scalar(149)), 'int32'));
}

/**
 * `floor(log2(a))` for finite `a > 0`, exactly (an integer-valued float tensor in [-149, 127]);
 * for `a = 0`, -150. The logarithm is off by at most one near powers of two; one comparison
 * each way corrects it.
 */
export function exponentOf(a: tf.Tensor): tf.Tensor {
  const guess = tf.clipByValue(tf.floor(tf.mul(tf.log(a), tf.scalar(Math.LOG2E))), -149, 127);
  const p = pow2(guess);
  const below = tf.cast(tf.less(a, p), 'float32');
  const above = tf.cast(tf.greaterEqual(a, tf.mul(p, tf.scalar(2))), 'float32');
  return tf.add(tf.sub(guess, below), above);
}

/**
 * `[w mod base, floor(w / base)]` of int32 words, exact for every int32 `w` when
 * `|w| / base < 2^24`: `mod` is exact on every backend, and `w - (w mod base)` is a multiple of
 * `base` that a float32 holds exactly, so the division (which some backends do in float32)
 * is exact too.
 */
export function splitWord(w: tf.Tensor, base: number): [tf.Tensor, tf.Tensor] {
  const b = tf.scalar(base, 'int32');
  const low = tf.mod(w, b);
  return [low, tf.floorDiv(tf.sub(w, low), b)];
}

/**
 * `x * 2^k` for an integer-valued float tensor `k` in [-298, 254], as two products by powers of
 * two that are normal floats (`2^floor(k / 2)`, then the rest): exact wherever neither product
 * over- or underflows, with no subnormal factor, which webgl (SwiftShader's among others) reads
 * as zero.
 */
export function scalePow2(x: tf.Tensor, k: tf.Tensor): tf.Tensor {
  const k1 = tf.floor(tf.mul(k, tf.scalar(0.5)));
  return tf.mul(tf.mul(x, pow2(k1)), pow2(tf.sub(k, k1)));
}

/** The biased exponent field (0..255) and the 23-bit fraction of float32 values `>= 0` (integer-valued floats), and where they are NaN. */
function fieldsOf(a: tf.Tensor): { nan: tf.Tensor; exponent: tf.Tensor; mantissa: tf.Tensor } {
  const nan = tf.notEqual(a, a);
  const a0 = tf.where(nan, tf.zerosLike(a), a);
  const e = tf.maximum(exponentOf(a0), tf.scalar(-126));
  // The significand as an integer: a0 * 2^(23 - e), exact (a power of two in [2^-104, 2^149]).
  const m = scalePow2(a0, tf.sub(tf.scalar(23), e));
  const normal = tf.greaterEqual(a0, tf.scalar(2 ** -126));
  const exponent = tf.where(normal, tf.add(e, tf.scalar(127)), tf.zerosLike(e));
  return { nan, exponent, mantissa: tf.where(normal, tf.sub(m, tf.scalar(2 ** 23)), m) };
}

/** The int32 bits of float32 values that are `>= 0` or NaN (NaN gives 0x7FC00000). */
export function nonNegativeFloatBits(a: tf.Tensor): tf.Tensor {
  const { nan, exponent, mantissa } = fieldsOf(a);
  const bits = tf.add(tf.mul(tf.cast(exponent, 'int32'), tf.scalar(2 ** 23, 'int32')), tf.cast(mantissa, 'int32'));
  return tf.where(nan, tf.fill(a.shape, 0x7fc00000, 'int32'), bits);
}

/**
 * The bits of float32 values that are `>= 0` or NaN as two int32 tensors of 16 bits each, `[low,
 * high]` (NaN gives `[0, 0x7FC0]`): every intermediate an integer below 2^24, so exact on webgl.
 */
export function nonNegativeFloatHalves(a: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const { nan, exponent, mantissa } = fieldsOf(a);
  const top = tf.floor(tf.mul(mantissa, tf.scalar(2 ** -16)));
  const low = tf.sub(mantissa, tf.mul(top, tf.scalar(2 ** 16)));
  const high = tf.add(tf.mul(exponent, tf.scalar(128)), top);
  return [
    tf.where(nan, tf.zeros(a.shape, 'int32'), tf.cast(low, 'int32')),
    tf.where(nan, tf.fill(a.shape, 0x7fc0, 'int32'), tf.cast(high, 'int32')),
  ];
}

/** The float32 values of int32 bits that are >= 0 (the inverse of {@link nonNegativeFloatBits}). */
export function floatOfNonNegativeBits(bits: tf.Tensor): tf.Tensor {
  const [m, e] = splitWord(bits, 2 ** 23);
  return floatOfFields(m, tf.clipByValue(e, 0, 255));
}

/** The float32 values of `[low, high]` 16-bit halves (the inverse of {@link nonNegativeFloatHalves}). */
export function floatOfNonNegativeHalves(low: tf.Tensor, high: tf.Tensor): tf.Tensor {
  const [top, e] = splitWord(high, 128);
  return floatOfFields(tf.add(tf.mul(top, tf.scalar(2 ** 16, 'int32')), low), tf.clipByValue(e, 0, 255));
}

/** The float32 values of a 23-bit fraction `m` and a biased exponent `e` (0..255; int32 tensors), sign bit 0. */
function floatOfFields(m: tf.Tensor, e: tf.Tensor): tf.Tensor {
  const mf = tf.cast(m, 'float32');
  const ef = tf.cast(e, 'float32');
  const sub = tf.equal(ef, tf.scalar(0));
  const significand = tf.where(sub, mf, tf.add(mf, tf.scalar(2 ** 23)));
  // significand * 2^k, k in [-149, 104]: exact (the product is a multiple of 2^-149).
  const value = scalePow2(significand, tf.where(sub, tf.fill(ef.shape, -149), tf.sub(ef, tf.scalar(150))));
  const special = tf.where(tf.equal(mf, tf.scalar(0)), tf.fill(ef.shape, Infinity), tf.fill(ef.shape, NaN));
  return tf.where(tf.equal(ef, tf.scalar(255)), special, value);
}
