import * as tf from '@tensorflow/tfjs-core';
import type { Params, Updates } from '../types.js';
import { checkFloatTrees, mapFloatLeaves } from '../internal/leaves.js';
import { tidy } from '../tree/tidy.js';
import { treeFlatten } from '../tree/structure.js';
import { withGradientsRegistered } from '../tree/grad.js';
import { describeNode, isPlainObject, isTensor } from '../tree/walk.js';
import { lossTensor } from './line-evaluation.js';

/**
 * The value and gradient that {@link valueAndGradFromState} returns.
 * @group Transform options and states
 */
export interface ValueAndGrad<P extends Params = Params> {
  /** The loss at the params (a JS number). */
  value: number;
  /** Its gradient, shaped like the params: new tensors the caller owns. */
  grad: P;
}

/**
 * Like `valueAndGrad(valueFn)`, but reuses the loss and gradient a line search computed at the
 * point it accepted (optax's `value_and_grad_from_state`): the line search's state (anywhere in
 * `state`: a chain, `lbfgs`) holds them, so for a full-batch objective the next update costs no
 * extra evaluation.
 *
 * ```ts
 * const vg = valueAndGradFromState(loss);
 * for (let i = 0; i < 50; i++) {
 *   const { value, grad } = vg(params, state);
 *   const [updates, next] = tx.update(grad, state, params, { value, grad, valueFn: loss });
 *   ...
 * }
 * ```
 *
 * Before the first update the stored value is Infinity, so the loss and gradient are computed
 * with `valueFn` (which must then return a scalar tensor built with tf ops from its argument).
 * `grad` is always new tensors owned by the caller (copies sharing the state's buffers); `value`
 * is a JS number. Throws an `Error` when `state` holds no line search's value and gradient, more
 * than one, or a backtracking search without `storeGrad: true` (no gradient kept), and one that
 * says what to import when tfjs has no gradients registered (`@tensorflow/tfjs-core` alone).
 * @group Transforms
 */
export function valueAndGradFromState<P extends Params>(valueFn: (params: P) => tf.Scalar | number): (params: P, state: unknown) => ValueAndGrad<P> {
  const owner = 'valueAndGradFromState';
  if (typeof valueFn !== 'function') throw new TypeError(`${owner}: expected a function (params) => loss, got ${describeNode(valueFn)}`);
  return (params, state) => {
    const found = findLinesearchState(owner, state);
    if (Number.isFinite(found.value)) {
      if (found.grad === null || found.grad === undefined) {
        throw new Error(`${owner}: the line search keeps no gradient in its state; build it with storeGrad: true`);
      }
      checkFloatTrees(owner, ['params', 'state.grad'], [params, found.grad]);
      return { value: found.value, grad: tidy(() => mapFloatLeaves(owner, ['state.grad'], [found.grad], (g) => tf.clone(g))) as P };
    }
    checkFloatTrees(owner, ['params'], [params]);
    const [leaves, def] = treeFlatten(params);
    const { value, grads } = withGradientsRegistered(owner, () =>
      tf.valueAndGrads((...xs: tf.Tensor[]) => lossTensor(owner, valueFn(def.unflatten(xs) as P)))(leaves),
    );
    const v = value.dataSync()[0];
    value.dispose();
    return { value: v, grad: def.unflatten(grads) as P };
  };
}

/** The one line-search state (`{ stepsize, value, grad, ... }`) inside `state`. @internal */
export function findLinesearchState(owner: string, state: unknown): { stepsize: number; value: number; grad: Updates } {
  const found: { stepsize: number; value: number; grad: Updates }[] = [];
  const visit = (node: unknown): void => {
    if (isTensor(node)) return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isPlainObject(node)) return;
    if (typeof node.stepsize === 'number' && typeof node.value === 'number' && 'grad' in node) {
      found.push(node as { stepsize: number; value: number; grad: Updates });
      return;
    }
    for (const key of Object.keys(node)) visit(node[key]);
  };
  visit(state);
  if (found.length !== 1) {
    throw new Error(
      `${owner}: expected the state of exactly one line search (scaleByZoomLinesearch, scaleByBacktrackingLinesearch, lbfgs), found ${found.length}`,
    );
  }
  return found[0];
}
