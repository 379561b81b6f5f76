import * as tf from '@tensorflow/tfjs-core';
import type { Updates } from '../types.js';
import { treeL2Norm } from '../tree/math.js';

/**
 * The factor `clipByGlobalNorm` multiplies the updates by, on the device: 1 when their global
 * norm is at most `maxNorm`, `maxNorm / norm` otherwise (a new scalar tensor). The GPU kernels
 * read it from there, so a fused step computes what the composite one does.
 */
export function globalNormFactor(updates: Updates, maxNorm: number): tf.Scalar {
  return tf.tidy(() => {
    const norm = treeL2Norm(updates);
    const limit = tf.scalar(maxNorm);
    return tf.where(tf.lessEqual(norm, limit), tf.onesLike(norm), tf.div(limit, norm)) as tf.Scalar;
  });
}
