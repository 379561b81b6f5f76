// One optimizer step with tfjs-optax, as both pages take it: the loss and its gradients from
// valueAndGrad, then trainStep, which applies the update and disposes what the step replaced.
import type * as tf from '@tensorflow/tfjs-core';
import { trainStep, treeDispose, valueAndGrad, type GradientTransformation, type Params } from 'tfjs-optax';
import { buildTransformation, type RacerConfig } from './racer.js';

/** An optimizer on its way down: the transformation, the current parameters and state. */
export interface Descent<P extends Params> {
  tx: GradientTransformation<unknown>;
  params: P;
  state: unknown;
}

/**
 * A racer's optimizer at its start: the transformation for a run of `steps` steps, the
 * parameters `makeParams` creates, and the state `init` builds for them. Throws the library's
 * error for a bad hyperparameter (a RangeError naming the option and the value).
 */
export function startDescent<P extends Params>(config: RacerConfig, steps: number, makeParams: () => P): Descent<P> {
  const tx = buildTransformation(config, steps);
  const params = makeParams();
  try {
    return { tx, params, state: tx.init(params) };
  } catch (err) {
    treeDispose(params);
    throw err;
  }
}

/**
 * Takes one step of `descent` on `loss` (updating its params and state) and returns the loss
 * before the step, a scalar the caller disposes. `extra` carries the loss, the gradient and the
 * loss function to the optimizers that read them (L-BFGS's line search, Polyak's step size);
 * the others ignore it. On an error nothing is left allocated and the error is thrown.
 */
export function descend<P extends Params>(descent: Descent<P>, loss: (params: P) => tf.Scalar): tf.Scalar {
  const { value, grads } = valueAndGrad(loss)(descent.params);
  try {
    const extra = { value, grad: grads, valueFn: loss as (params: Params) => tf.Scalar };
    ({ params: descent.params, state: descent.state } = trainStep(descent.tx, descent.params, descent.state, grads, { extra }));
    return value;
  } catch (err) {
    // On an error trainStep changes and disposes nothing: the gradients are still ours.
    treeDispose([grads, value]);
    throw err;
  }
}

/** The message of an error (the library's errors name the optimizer, the option and the value). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
