import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.tidy` for functions returning trees and states: tfjs walks nested arrays and objects of
 * the result to keep their tensors, and skips numbers, `null` and `undefined`, which its
 * `TensorContainer` type does not admit.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}
