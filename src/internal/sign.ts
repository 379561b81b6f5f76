import * as tf from '@tensorflow/tfjs-core';
import type { Scratch } from './scratch.js';
import type { Ops } from './ops.js';

/** The scalars {@link signOf} needs, made once per update and shared by every leaf. */
export interface SignScalars {
  zero: tf.Scalar;
  one: tf.Scalar;
  minusOne: tf.Scalar;
}

/** Makes the scalars of {@link signOf} (inside the caller's tidy). */
export function signScalars(): SignScalars {
  return { zero: tf.scalar(0), one: tf.scalar(1), minusOne: tf.scalar(-1) };
}

/**
 * `sign(x)` as JAX defines it, on every backend: -1, 0 or 1, and NaN for NaN. `tf.sign` maps
 * `|x| < 2^-23` to 0 on the wasm backend and NaN to 0 on the cpu backend, so it is built from
 * comparisons instead. `x` is consumed if it is a temporary of `s`.
 *
 * An empty `x` is returned as is: `tf.where` broadcasts its scalar branches with
 * `tf.broadcastTo`, which leaves them one element (shape [1], [1, 1]) for a target with no
 * dimension above 1 to tile, such as [0] or [0, 1].
 */
export function signOf(s: Scratch, x: tf.Tensor, { zero, one, minusOne }: SignScalars): tf.Tensor {
  if (x.size === 0) return x;
  const negative = s.op(tf.less(x, zero));
  const lower = s.op(tf.where(negative, minusOne, x), negative);
  const positive = s.op(tf.greater(x, zero), x);
  return s.op(tf.where(positive, one, lower), positive, lower);
}

/**
 * {@link signOf} as an element step's operations (the same comparisons and selections, so the
 * same results on every backend); `x` is read three times, so the caller keeps it.
 */
export function signOps<V>(ops: Ops<V>, x: V): V {
  const zero = ops.constant(0);
  const lower = ops.where(ops.lt(x, zero), ops.constant(-1), x);
  return ops.where(ops.gt(x, zero), ops.constant(1), lower);
}
