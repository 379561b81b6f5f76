import type * as tf from '@tensorflow/tfjs-core';

/**
 * A nested container of leaves: a leaf `L`, `null`/`undefined` (an empty subtree with no
 * leaves), an array of trees, or a plain object (`{}` literal or `Object.create(null)`) of trees.
 *
 * Leaves are visited arrays-by-index and objects-by-**sorted**-key, as in JAX, so two objects
 * with the same keys in a different insertion order have the same structure.
 * @group Core
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
 * @group Core
 */
export type TensorTree<T> = [T][T extends unknown ? 0 : never] extends infer U
  ? [PyTree] extends [U]
    ? PyTree
    : TensorLeaves<U>
  : never;

/**
 * {@link TensorTree} of a `T` that is not the generic `PyTree`: tensors become `tf.Tensor`,
 * arrays and objects are mapped member by member.
 * @inline
 */
type TensorLeaves<T> = T extends tf.Tensor
  ? tf.Tensor
  : T extends null | undefined
    ? T
    : T extends readonly (infer E)[]
      ? TensorTree<E>[]
      : { [K in keyof T]: TensorTree<T[K]> };

/**
 * Model parameters: a tree of float32 tensors (a `tf.Variable` is a tensor, so it is a leaf).
 * @group Core
 */
export type Params = PyTree<tf.Tensor>;

/**
 * Gradients or updates: a tree with the same structure as the parameters.
 * @group Core
 */
export type Updates = PyTree<tf.Tensor>;

/**
 * A step-size (or weight-decay) schedule. `count` is the number of updates done before this one:
 * 0 for the first update, 1 for the second, and so on. Schedules are pure JS functions of a
 * number and return a number; they are evaluated in float64 once per step.
 * @group Core
 */
export type Schedule = (count: number) => number;

/**
 * A constant number or a {@link Schedule}.
 * @group Core
 */
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
 * @group Core
 */
export interface GradientTransformation<S = unknown> {
  /**
   * Builds the initial state for these parameters: zero moments shaped as the params, step
   * counts at 0, hyperparameters at their values for the first update. Only the params'
   * structure, shapes and dtypes are read (and their values by the few transformations that keep
   * a copy, such as `lookahead`'s slow weights); nothing given is disposed or changed.
   *
   * @param params The parameters the state is for: a tree of float32 tensors.
   * @returns A new state; its tensors belong to the caller (free them with `treeDispose`).
   */
  init(params: Params): S;
  /**
   * Transforms one step's updates: the gradients at the head of a chain, the output of the
   * previous transformation inside one. Pure: nothing given is disposed, mutated or assigned,
   * and every tensor made is returned or disposed (see the contract above).
   *
   * @param updates The incoming updates, a tree with the structure and shapes of the params.
   * @param state The state from `init` or from the previous `update` of this transformation.
   * @param params The current parameters. Needed by the transformations that read them (weight
   *   decay, trust ratios, `keepParamsNonnegative`, `lookahead`, ...), which throw an `Error`
   *   naming the owner when they are missing; ignored by the others.
   * @param extra The loss, gradient or loss function for the transformations that need them
   *   (see {@link ExtraArgs}); passed unchanged through chains and wrappers.
   * @returns `[updates, newState]`: the outgoing updates, with the structure of the incoming
   *   ones, to **add** to the parameters at the end of a chain (`applyUpdates`), and the state
   *   for the next step. They may share tensors with the inputs, so free with `disposeReplaced`.
   */
  update<U extends Updates>(updates: U, state: S, params?: Params, extra?: ExtraArgs): [U, S];
}

/**
 * Extra arguments to `update` (optax's `value`, `grad` and `value_fn`), for transformations that
 * need more than the gradient: the loss (`reduceOnPlateau`), the gradient at the current
 * parameters, or a function that evaluates the loss (line searches). `chain` and every wrapper
 * pass the same object to each inner transformation; those that do not use it ignore it. One
 * that needs a field it was not given throws an `Error` naming the field.
 * @group Core
 */
export interface ExtraArgs {
  /** The loss at the current parameters (a JS number, or a scalar tensor that is read once). */
  value?: number | tf.Scalar;
  /** The gradient of the loss at the current parameters. */
  grad?: Updates;
  /** Evaluates the loss at other parameters. */
  valueFn?: (params: Params) => tf.Scalar | number;
}

/**
 * The state type of a transformation.
 * @group Core
 */
export type StateOf<T> = T extends GradientTransformation<infer S> ? S : never;

/**
 * State of a transformation that keeps nothing between steps.
 * @group Core
 */
export type EmptyState = Record<string, never>;

/**
 * Thrown when two trees that must have the same structure do not. The message names the first
 * differing path (e.g. `params.layers[2].kernel`) and what each side has there.
 * @group Core
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
