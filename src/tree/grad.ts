import * as tf from '@tensorflow/tfjs-core';
import type { Params, TensorTree } from '../types.js';
import { treeFlatten } from './structure.js';

/**
 * Turns a loss of a parameter tree into a function returning the loss and its gradients as a
 * tree shaped like the parameters, the tree version of `tf.valueAndGrads`:
 *
 * ```ts
 * const lossAndGrads = valueAndGrad((p: typeof params) => loss(p, xBatch, yBatch));
 * const { value, grads } = lossAndGrads(params);
 * ```
 *
 * When every leaf is a `tf.Variable` (a layers model's weights from `modelParams(model)`), the
 * gradients are taken with respect to the variables wherever the loss uses them, as
 * `tf.variableGrads` does, so the loss may ignore its argument and call the model:
 * `valueAndGrad(() => tf.losses.meanSquaredError(ys, model.apply(xs)))`. A variable the loss
 * does not depend on gets a zero gradient.
 *
 * `value` and every gradient are new tensors owned by the caller. Gradients need tfjs's gradient
 * functions registered: importing `@tensorflow/tfjs` (or `@tensorflow/tfjs-node`) does it; a
 * bundled app on `@tensorflow/tfjs-core` alone imports
 * `@tensorflow/tfjs-core/dist/register_all_gradients` once.
 * @group Training loop
 */
export function valueAndGrad<P extends Params>(
  loss: (params: P) => tf.Scalar,
): (params: P) => {
  /** The loss at `params`, a new scalar tensor. */
  value: tf.Scalar;
  /** The gradient of the loss with respect to each leaf of `params`, new tensors in a tree of the same structure and shapes. */
  grads: TensorTree<P>;
} {
  return (params) => {
    const [leaves, def] = treeFlatten(params);
    if (leaves.length > 0 && leaves.every((t) => t instanceof tf.Variable)) {
      const variables = leaves as tf.Variable[];
      const { value, grads } = tf.variableGrads(() => loss(params), variables);
      const ordered = variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
      return { value, grads: def.unflatten(ordered) as TensorTree<P> };
    }
    const f = tf.valueAndGrads((...xs: tf.Tensor[]) => loss(def.unflatten(xs) as P));
    const { value, grads } = f(leaves);
    return { value, grads: def.unflatten(grads) as TensorTree<P> };
  };
}
