import * as tfc from '@tensorflow/tfjs-core';
import type * as tf from '@tensorflow/tfjs-core';
import { describeNode } from '../tree/walk.js';

/**
 * The parts of a tfjs-layers weight (`LayerVariable`) that {@link modelParams} uses.
 * @group tfjs interop
 */
export interface LayerWeightLike {
  /** The name in the model, stable across processes (`dense_Dense1/kernel`). */
  readonly originalName: string;
  /** The tf.Variable holding the value (typed as a tensor by tfjs-layers). */
  read(): tf.Tensor;
}

/**
 * A tfjs-layers model or layer: anything with `trainableWeights`.
 * @group tfjs interop
 */
export interface LayersModelLike {
  /** The weights that training updates, as tfjs-layers' `model.trainableWeights` lists them. */
  readonly trainableWeights: readonly LayerWeightLike[];
}

/**
 * The trainable weights of a tfjs-layers model (or layer) as a params tree for a custom
 * training loop: a plain object from each weight's name in the model (`'dense_Dense1/kernel'`)
 * to its `tf.Variable`. `trainStep` and `assignUpdates` write into the variables in place, so
 * the model sees every step:
 *
 * ```ts
 * const params = modelParams(model);
 * let state = tx.init(params);
 * const lossAndGrads = valueAndGrad(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor) as tf.Scalar);
 * for (let step = 0; step < 100; step++) {
 *   const { value, grads } = lossAndGrads(params);
 *   ({ state } = trainStep(tx, params, state, grads));
 *   value.dispose();
 * }
 * ```
 *
 * Keys are the weights' `originalName`s, which come from the layer names, so a checkpoint saved
 * with these params loads into the same model built or loaded in another process.
 * @group tfjs interop
 */
export function modelParams(model: LayersModelLike): Record<string, tf.Variable> {
  const weights = (model as Partial<LayersModelLike> | null)?.trainableWeights;
  if (!Array.isArray(weights)) {
    throw new TypeError(`modelParams: expected a tfjs-layers model or layer (with trainableWeights), got ${describeNode(model)}`);
  }
  const out: Record<string, tf.Variable> = {};
  weights.forEach((w: LayerWeightLike, i: number) => {
    if (w === null || typeof w !== 'object' || typeof w.read !== 'function' || typeof w.originalName !== 'string') {
      throw new TypeError(`modelParams: trainableWeights[${i}] is ${describeNode(w)}, not a tfjs-layers weight`);
    }
    if (Object.prototype.hasOwnProperty.call(out, w.originalName)) {
      throw new Error(`modelParams: two trainable weights are named '${w.originalName}'; give the layers unique names`);
    }
    const variable = w.read();
    if (!(variable instanceof tfc.Variable)) {
      throw new TypeError(`modelParams: weight '${w.originalName}' reads as ${describeNode(variable)}, not a tf.Variable`);
    }
    out[w.originalName] = variable;
  });
  return out;
}
