import * as tf from '@tensorflow/tfjs-core';
import type { Scratch } from './scratch.js';

/**
 * `sign(x)` as JAX defines it, the same on every backend: 1 above zero, -1 below, and zeros and
 * NaN passed through. (`tf.sign` maps |x| < 2^-23 to 0 on the wasm backend and NaN to 0 on the
 * cpu backend.) `one` and `minusOne` are scalars; `x` must not be empty, since `tf.where`
 * broadcasts scalar branches to one element for an empty target. Consumes `x` if it is a
 * temporary of `s`.
 */
export function jaxSign(s: Scratch, x: tf.Tensor, zero: tf.Scalar, one: tf.Scalar, minusOne: tf.Scalar): tf.Tensor {
  const negative = s.op(tf.less(x, zero));
  const lower = s.op(tf.where(negative, minusOne, x), negative);
  const positive = s.op(tf.greater(x, zero), x);
  return s.op(tf.where(positive, one, lower), positive, lower);
}
