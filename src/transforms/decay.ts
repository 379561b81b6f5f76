import * as tf from '@tensorflow/tfjs-core';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../tree/tidy.js';
import type { GradientTransformation, Params, PyTree, ScalarOrSchedule } from '../types.js';
import { mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { HyperRate } from '../internal/hyper.js';
import { checkLabelTree, labelTreeFor, MASK, resolveLabels } from '../internal/labels.js';
import { declareState } from '../internal/state.js';
import { withElementStep } from '../internal/record.js';
import { describeNode } from '../tree/walk.js';

/**
 * Which leaves a transformation applies to: a tree of booleans with the structure of the
 * parameters (or a prefix of it: a boolean at a subtree covers all its leaves), or a function
 * from the parameters to such a tree. `true` means "apply to this leaf".
 * @group Core
 */
export type Mask = PyTree<boolean> | MaskFn;

/**
 * A function from the parameters to a mask tree. Declared as a method so that a function typed
 * for your own parameter type, `(p: MyParams) => ...`, is accepted.
 * @inline
 */
type MaskFn = { mask(params: Params): PyTree<boolean> }['mask'];

/**
 * Options of {@link addDecayedWeights}.
 * @group Transform options and states
 */
export interface AddDecayedWeightsOptions {
  /** Which parameters to decay (`true` = decay). Default: all of them. */
  mask?: Mask;
}

/**
 * State of {@link addDecayedWeights}: the number of updates done, and the weight-decay rate the
 * next update will use (`schedule(count)` for a schedule).
 * @group Transform options and states
 */
export interface AddDecayedWeightsState {
  /** Updates done so far (a JS number, `0` after `init`). */
  count: number;
  /**
   * The rate the next update multiplies the parameters by, a JS number: the constant, or
   * `schedule(count)` for a schedule (`schedule(0)` after `init`). A value put here with
   * `setHyperparam` is used by the next update; a constant rate then keeps it, a schedule gives
   * the one after.
   */
  weightDecay: number;
}

/**
 * Adds the parameters scaled by a weight-decay rate to the updates:
 *
 *     u = g + weightDecay(count) * p       for the leaves the mask selects
 *     u = g                                for the others
 *
 * Placed **after** an adaptive direction and **before** the learning rate, as in `adamw`, this
 * is decoupled weight decay (Loshchilov & Hutter 2019, arXiv:1711.05101): the parameters shrink
 * by `lr * weightDecay * p` per step, the convention of optax and PyTorch's AdamW (the rate is
 * multiplied by the learning rate). Placed **before** the optimizer,
 * `chain(addDecayedWeights(wd), sgd(lr))`, it is classic L2 regularisation added to the
 * gradient, which an adaptive optimizer then rescales.
 *
 * `weightDecay` is a number (>= 0) or a schedule of the step count. A step whose rate is 0
 * leaves the updates exactly as they are (as optax skips a zero decay): no `0 * p`, so an
 * infinite parameter does not turn its update into NaN and `-0` stays `-0`. Needs `params` in
 * `update` otherwise.
 *
 * State: `{ count, weightDecay }`, the rate the **next** update uses (see `getHyperparam` and
 * `setHyperparam`).
 * @group Transforms
 */
export function addDecayedWeights(
  weightDecay: ScalarOrSchedule,
  options: AddDecayedWeightsOptions = {},
): GradientTransformation<AddDecayedWeightsState> {
  return addDecayedWeightsDownTo(0, weightDecay, options);
}

/**
 * {@link addDecayedWeights} with a rate that may go below zero, down to `min`: `fromage` shrinks
 * the parameters with a rate in (-1, 0]. The public factory takes rates >= 0 only (a negative
 * user rate is an error there), so this variant stays internal. @internal
 */
export function addDecayedWeightsDownTo(
  min: number,
  weightDecay: ScalarOrSchedule,
  options: AddDecayedWeightsOptions = {},
): GradientTransformation<AddDecayedWeightsState> {
  const owner = ownerOr('addDecayedWeights');
  checkOptions(owner, options, ['mask']);
  const rate = new HyperRate(owner, 'weightDecay', weightDecay, min);
  const mask = options.mask;
  if (mask !== undefined && typeof mask !== 'function') checkMaskTree(owner, mask);
  const tx = declareState<AddDecayedWeightsState>(owner, { count: 'count', weightDecay: rate }, {
    init: () => ({ count: 0, weightDecay: rate.at(0) }),
    update: (updates, state, params) => {
      const next = nextDecayState(rate, state);
      const wd = state.weightDecay;
      if (wd === 0) return [updates, next];
      if (params === undefined) throw missingParams(owner);
      const selected = mask === undefined ? null : maskLeaves(owner, mask, params);
      return tidy(() => {
        const wdS = tf.scalar(wd);
        let i = 0;
        const out = mapFloatLeaves(owner, ['updates', 'params'], [updates, params], (g, p) => {
          if (selected !== null && !selected[i++]) return g;
          const s = new Scratch();
          return s.add(g, s.mul(wdS, p));
        });
        return [out, next];
      }) as [typeof updates, AddDecayedWeightsState];
    },
  });
  // u + wd * p on the leaves the mask selects; nothing at all while the rate is 0.
  return withElementStep(tx, {
    owner,
    slotNames: [],
    slots: () => [],
    scalars: (s) => [s.weightDecay],
    usesParams: (s) => s.weightDecay !== 0,
    ...(mask === undefined ? {} : { leafMask: (params: Params) => maskLeaves(owner, mask, params) }),
    emit: (ops, { u, p, scalars, masked }) => ({ u: p === null || masked ? u : ops.add(u, ops.mul(scalars[0], p)), slots: [] }),
    next: (s) => {
      const next = nextDecayState(rate, s);
      return () => next;
    },
  });
}

/**
 * The weight-decay state after an update from `state` (the fused kernels build it too).
 * @internal
 */
export function nextDecayState(rate: HyperRate, state: AddDecayedWeightsState): AddDecayedWeightsState {
  return { count: state.count + 1, weightDecay: rate.next(state.weightDecay, state.count) };
}

/** Checks that a mask tree holds only booleans and containers. */
function checkMaskTree(owner: string, mask: PyTree<boolean>): void {
  checkLabelTree(owner, MASK, mask);
}

/**
 * Checks a mask option when the optimizer is made (a function, or a tree of booleans), with
 * errors naming the option `name`, so that a bad mask fails there and not at the first step.
 * @internal
 */
export function checkMaskOption(owner: string, mask: unknown, name = 'mask'): void {
  if (mask === undefined || typeof mask === 'function' || typeof mask === 'boolean') return;
  if (mask === null || typeof mask !== 'object') {
    throw new TypeError(`${owner}: option '${name}' must be a tree of booleans or a function from the params to one, got ${describeNode(mask)}`);
  }
  checkLabelTree(owner, { ...MASK, name }, mask);
}

/**
 * Resolves a mask against the parameters: one boolean per parameter leaf, in flatten order. A
 * boolean in the mask where the parameters have a subtree applies to the whole subtree.
 * @internal
 */
export function maskLeaves(owner: string, mask: Mask, params: Params): boolean[] {
  return resolveLabels(owner, MASK, labelTreeFor(owner, MASK, mask, params), params);
}
