// One optimizer step with tfjs-optax, as both pages take it: the loss and its gradients from
// valueAndGrad, then trainStep, which applies the update and disposes what the step replaced.
import type * as tf from '@tensorflow/tfjs-core';
import { trainStep, treeDispose, valueAndGrad, type GradientTransformation, type Params } from 'tfjs-optax';

/** Wraps a racer's transformation (the MLP page puts a monitor in front of it). */
export type Wrap = (tx: GradientTransformation<unknown>) => GradientTransformation<unknown>;
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
export function startDescent<P extends Params>(config: RacerConfig, steps: number, makeParams: () => P, wrap?: Wrap): Descent<P> {
  const built = buildTransformation(config, steps);
  const tx = wrap ? wrap(built) : built;
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

/** What a page records of a racer: its status, and why it stopped. */
export interface RacerRecord {
  status: string;
  message?: string;
}

/**
 * The racers' descents, side by side as both pages run them: each one's live parameters and
 * state, or `null` once its racer has stopped (finished, diverged or failed), its tensors freed
 * and its record saying why.
 */
export class Descents<P extends Params> {
  readonly live: Array<Descent<P> | null>;

  constructor(
    private readonly records: RacerRecord[],
    configs: RacerConfig[],
    steps: number,
    makeParams: (config: RacerConfig) => P,
    wrap?: Wrap,
  ) {
    this.live = configs.map((config, i) => {
      try {
        return startDescent(config, steps, () => makeParams(config), wrap);
      } catch (err) {
        Object.assign(records[i], { status: 'failed', message: messageOf(err) });
        return null;
      }
    });
  }

  /** Whether every racer has stopped. */
  get allStopped(): boolean {
    return this.live.every((l) => l === null);
  }

  /** Stops racer `i` with the library's error. */
  fail(i: number, err: unknown): void {
    this.stop(i, 'failed', messageOf(err));
  }

  /** Stops racer `i` with `status` and `message`. */
  stop(i: number, status: string, message: string): void {
    Object.assign(this.records[i], { status, message });
    this.release(i);
  }

  /** Frees racer `i`'s parameters and state; its record stays as it is. */
  release(i: number): void {
    const live = this.live[i];
    if (live) treeDispose([live.params, live.state]);
    this.live[i] = null;
  }

  /** Frees every tensor the racers still hold; the records keep their numbers. */
  dispose(): void {
    this.live.forEach((_, i) => this.release(i));
  }
}

/** The message of an error (the library's errors name the optimizer, the option and the value). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
