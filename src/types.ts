import type * as tf from '@tensorflow/tfjs-core';

/**
 * A nested container of leaves: a leaf `L`, `null`/`undefined` (an empty subtree with no
 * leaves), an array of trees, or a plain object (`{}` literal or `Object.create(null)`) of trees.
 *
 * Leaves are visited arrays-by-index and objects-by-**sorted**-key, as in JAX, so two objects
 * with the same keys in a different insertion order have the same structure.
 */
export type PyTree<L = tf.Tensor> =
  | L
  | null
  | undefined
  | PyTree<L>[]
  | readonly PyTree<L>[]
  | { [key: string]: PyTree<L> };

/**
 * A tree with the structure of `T` whose leaves are plain tensors of any rank: the type of the
 * gradients and updates for parameters of type `T`. (`tf.Variable` leaves and tfjs's rank types,
 * such as `tf.Tensor2D`, become `tf.Tensor`, so gradients from `tf.grads` or `tf.tidy` fit.)
 * `T` is not inferred from a `TensorTree<T>` argument: the parameters decide it.
 */
export type TensorTree<T> = [T][T extends unknown ? 0 : never] extends infer U
  ? [PyTree] extends [U]
    ? PyTree
    : TensorLeaves<U>
  : never;

type TensorLeaves<T> = T extends tf.Tensor
  ? tf.Tensor
  : T extends null | undefined
    ? T
    : T extends readonly (infer E)[]
      ? TensorTree<E>[]
      : { [K in keyof T]: TensorTree<T[K]> };

/** Model parameters: a tree of float32 tensors (a `tf.Variable` is a tensor, so it is a leaf). */
export type Params = PyTree<tf.Tensor>;

/** Gradients or updates: a tree with the same structure as the parameters. */
export type Updates = PyTree<tf.Tensor>;

/**
 * A step-size (or weight-decay) schedule. `count` is the number of updates done before this one:
 * 0 for the first update, 1 for the second, and so on. Schedules are pure JS functions of a
 * number and return a number; they are evaluated in float64 once per step.
 */
export type Schedule = (count: number) => number;

/** A constant number or a {@link Schedule}. */
export type ScalarOrSchedule = number | Schedule;

/**
 * A pure gradient transformation, as in optax: `init` builds the state for some parameters,
 * `update` turns incoming updates (gradients, at the head of a chain) into outgoing updates
 * and a new state.
 *
 * Contract:
 * - `update` never disposes, mutates or assigns its inputs;
 * - every tensor it creates is either returned (in the updates or the new state) or disposed
 *   before it returns; the returned trees may share tensors with the inputs;
 * - state is a plain object of tensor trees and JS numbers (step counts are JS numbers);
 * - the library's transformations check, before computing anything, that `state` has the
 *   layout their `init` makes and that every tensor they read is a live float32 tensor of the
 *   right shape; errors name the owner and the path (`adam: state[0] must be {count, mu, nu},
 *   got ...`, `sgd: updates.layer.bias was disposed ...`).
 */
export interface GradientTransformation<S = unknown> {
  init(params: Params): S;
  update<U extends Updates>(updates: U, state: S, params?: Params, extra?: ExtraArgs): [U, S];
}

/**
 * Extra arguments to `update` (optax's `value`, `grad` and `value_fn`), for transformations that
 * need more than the gradient: the loss (`reduceOnPlateau`), the gradient at the current
 * parameters, or a function that evaluates the loss (line searches). `chain` and every wrapper
 * pass the same object to each inner transformation; those that do not use it ignore it. One
 * that needs a field it was not given throws an `Error` naming the field.
 */
export interface ExtraArgs {
  /** The loss at the current parameters (a JS number, or a scalar tensor that is read once). */
  value?: number | tf.Scalar;
  /** The gradient of the loss at the current parameters. */
  grad?: Updates;
  /** Evaluates the loss at other parameters. */
  valueFn?: (params: Params) => tf.Scalar | number;
}

/** The state type of a transformation. */
export type StateOf<T> = T extends GradientTransformation<infer S> ? S : never;

/** State of a transformation that keeps nothing between steps. */
export type EmptyState = Record<string, never>;

/**
 * Thrown when two trees that must have the same structure do not. The message names the first
 * differing path (e.g. `params.layers[2].kernel`) and what each side has there.
 */
export class TreeStructureError extends Error {
  /** The first path at which the two trees differ, e.g. `layers[2].kernel` (`''` at the root). */
  readonly path: string;

  constructor(message: string, path: string) {
    super(message);
    this.name = 'TreeStructureError';
    this.path = path;
  }
}
