import * as tf from '@tensorflow/tfjs-core';
import type { Params, TensorTree } from '../types.js';
import { treeFlatten } from '../tree/structure.js';

/**
 * Turns a loss of a parameter tree into a function returning the loss and its gradients as a
 * tree shaped like the parameters, the tree version of `tf.valueAndGrads`:
 *
 * ```ts
 * const lossAndGrads = valueAndGrad((p: typeof params) => loss(p, xBatch, yBatch));
 * const { value, grads } = lossAndGrads(params);
 * ```
 *
 * `value` and every gradient are new tensors owned by the caller. Gradients need tfjs's gradient
 * functions registered: importing `@tensorflow/tfjs` (or `@tensorflow/tfjs-node`) does it; a
 * bundled app on `@tensorflow/tfjs-core` alone imports
 * `@tensorflow/tfjs-core/dist/register_all_gradients` once.
 */
export function valueAndGrad<P extends Params>(
  loss: (params: P) => tf.Scalar,
): (params: P) => { value: tf.Scalar; grads: TensorTree<P> } {
  return (params) => {
    const [leaves, def] = treeFlatten(params);
    const f = tf.valueAndGrads((...xs: tf.Tensor[]) => loss(def.unflatten(xs) as P));
    const { value, grads } = f(leaves);
    return { value, grads: def.unflatten(grads) as TensorTree<P> };
  };
}
