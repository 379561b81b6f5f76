import * as tf from '@tensorflow/tfjs-core';
import { treeL2Norm } from '../tree/math.js';

// Per-leaf ("per-block") norms for the layer-wise transformations (trust ratio, NovoGrad, the
// block clips and scalings): one scalar tensor per leaf, kept on the device (never read back to
// JS). Call them inside a tidy.

/**
 * The L2 norm of all elements of one leaf, as a scalar tensor: {@link treeL2Norm} of the leaf,
 * so it neither overflows nor underflows in float32 (and an empty leaf has norm 0).
 */
export function leafNorm(x: tf.Tensor): tf.Scalar {
  return treeL2Norm(x);
}

/** The squared L2 norm of one leaf (`Infinity` when it exceeds float32's range). */
export function leafSquaredNorm(x: tf.Tensor): tf.Scalar {
  return treeL2Norm(x, { squared: true });
}

/**
 * The root mean square of one leaf's elements, `norm / sqrt(size)` (the square root of the size
 * in float64). A leaf with no elements has no RMS (NaN, as `sqrt(mean([]))`): callers skip it.
 */
export function leafRms(x: tf.Tensor): tf.Scalar {
  return tf.mul(leafNorm(x), tf.scalar(1 / Math.sqrt(x.size)));
}

/**
 * optax's `safe_norm` floor on a norm: `norm <= min ? min : norm` (NaN stays NaN, unlike a
 * maximum on some backends).
 */
export function atLeast(norm: tf.Scalar, min: tf.Scalar): tf.Scalar {
  return tf.where(tf.lessEqual(norm, min), min, norm);
}
