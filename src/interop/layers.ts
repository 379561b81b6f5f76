import * as tfc from '@tensorflow/tfjs-core';
import type * as tf from '@tensorflow/tfjs-core';
import { describeNode } from '../tree/walk.js';

/**
 * The parts of a tfjs-layers weight (`LayerVariable`) that {@link modelParams} uses.
 * @group tfjs interop
 */
export interface LayerWeightLike {
  /**
   * The name in the model (`dense_Dense1/kernel`), the same in every copy of the model; used in
   * messages only (the params are keyed by the tf.Variable's name).
   */
  readonly originalName?: string;
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
 * training loop: a plain object from each weight's tf.Variable **name**
 * (`'dense_Dense1/kernel'`) to the `tf.Variable`. `trainStep` and `assignUpdates` write into the
 * variables in place, so the model sees every step:
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
 * The keys are the names `tf.variableGrads(f, Object.values(params)).grads` and
 * `optimizer.computeGradients` key the gradients by (and the names `toTfOptimizer` keys its
 * state by), so their gradients are a tree of the same structure: `trainStep(tx, params, state,
 * tf.variableGrads(f, Object.values(params)).grads)` works as it is. A tf.Variable's name is the
 * weight's name in the model (`originalName`), unless a variable of that name already existed
 * when the model was built or loaded: tfjs-layers then adds a suffix (`dense_Dense1/kernel_1` for
 * a second copy of a model in one process, such as a checkpoint loaded next to the model in
 * training). `loadState` of a state saved with another copy's params then names the keys that
 * differ; `toTfOptimizer`'s `resumeTfOptimizer` matches such suffixed names itself.
 * @group tfjs interop
 */
export function modelParams(model: LayersModelLike): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const { variable } of trainableVariables('modelParams', model)) out[variable.name] = variable;
  return out;
}

/** One trainable weight of a model and its tf.Variable. */
export interface TrainableVariable {
  weight: LayerWeightLike;
  variable: tf.Variable;
}

/**
 * The trainable weights of `model` with their tf.Variables, in `trainableWeights` order,
 * checked as {@link modelParams} checks them (errors name `owner`).
 * @internal
 */
export function trainableVariables(owner: string, model: LayersModelLike): TrainableVariable[] {
  const weights = (model as Partial<LayersModelLike> | null)?.trainableWeights;
  if (!Array.isArray(weights)) {
    throw new TypeError(`${owner}: expected a tfjs-layers model or layer (with trainableWeights), got ${describeNode(model)}`);
  }
  const seen = new Set<string>();
  return weights.map((w: LayerWeightLike, i: number) => {
    if (w === null || typeof w !== 'object' || typeof w.read !== 'function') {
      throw new TypeError(`${owner}: trainableWeights[${i}] is ${describeNode(w)}, not a tfjs-layers weight`);
    }
    const variable = w.read();
    const label = typeof w.originalName === 'string' ? `'${w.originalName}'` : `${i}`;
    if (!(variable instanceof tfc.Variable)) {
      throw new TypeError(`${owner}: weight ${label} (trainableWeights[${i}]) reads as ${describeNode(variable)}, not a tf.Variable`);
    }
    if (seen.has(variable.name)) {
      throw new Error(`${owner}: the tf.Variable '${variable.name}' is at trainableWeights[${i}] and before it; list each weight once`);
    }
    seen.add(variable.name);
    return { weight: w, variable };
  });
}
