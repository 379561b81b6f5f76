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
 * `@tensorflow/tfjs-core/dist/register_all_gradients` once. Without them the call throws an
 * `Error` that says so (tfjs's own, "gradient function not found for Sum", does not).
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
      const { value, grads } = withGradientsRegistered('valueAndGrad', () => tf.variableGrads(() => loss(params), variables));
      const ordered = variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
      return { value, grads: def.unflatten(ordered) as TensorTree<P> };
    }
    const f = tf.valueAndGrads((...xs: tf.Tensor[]) => loss(def.unflatten(xs) as P));
    const { value, grads } = withGradientsRegistered('valueAndGrad', () => f(leaves));
    return { value, grads: def.unflatten(grads) as TensorTree<P> };
  };
}

/** tfjs's message when an op on the tape has no gradient function: "... not found for Sum." */
const MISSING_GRADIENT = /gradient function not found for (\w+)/;

/**
 * Runs `fn`, which takes gradients with tfjs, and turns tfjs's error for an op without a
 * gradient function into one that says what to import. With `@tensorflow/tfjs-core` alone no
 * gradient is registered, and tfjs only says "Cannot compute gradient: gradient function not
 * found for Sum". Any other error passes through unchanged. `fn` runs in a `tf.tidy`: when the
 * backward pass throws, tfjs has already made the loss value, which would otherwise leak. @internal
 */
export function withGradientsRegistered<T extends tf.TensorContainer>(owner: string, fn: () => T): T {
  try {
    return tf.tidy(fn);
  } catch (e) {
    const kernel = e instanceof Error ? MISSING_GRADIENT.exec(e.message)?.[1] : undefined;
    if (kernel === undefined) throw e;
    // Sum's gradient is among the first any registration adds: without it, none is registered.
    const noneRegistered = tf.getGradient('Sum') === undefined;
    const what = noneRegistered
      ? 'no tfjs gradient function is registered'
      : `tfjs has no gradient function for the op '${kernel}' the loss uses`;
    throw new Error(
      `${owner}: cannot differentiate the loss: ${what}. Import '@tensorflow/tfjs' (or '@tensorflow/tfjs-node'), ` +
        `which registers them; a bundled app on '@tensorflow/tfjs-core' alone imports ` +
        `'@tensorflow/tfjs-core/dist/register_all_gradients' once (tfjs: ${(e as Error).message})`,
      { cause: e },
    );
  }
}
