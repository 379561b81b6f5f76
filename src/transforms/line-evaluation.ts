import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, Params, Updates } from '../types.js';
import { checkFloatTrees, mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { readDots } from '../internal/dots.js';
import { tidy } from '../tree/tidy.js';
import { treeFlatten } from '../tree/structure.js';
import { withGradientsRegistered } from '../tree/grad.js';
import { describeNode, isTensor } from '../tree/walk.js';
import { readValue } from './reduce-on-plateau.js';

// Line searches (optax's scale_by_backtracking_linesearch and scale_by_zoom_linesearch): a
// transformation that receives a direction `d` and returns `t * d` for a step size `t` it finds
// by evaluating `extra.valueFn` along `w + t d`. Every scalar of the search (values, slopes,
// step sizes, the decrease and curvature errors) is a float64 JS number, read back once per
// evaluation; the gradient at the accepted point is kept in the state for the next step
// (see valueAndGradFromState).
//
// This file holds what both searches share: reading `extra` and evaluating the loss on the line.
// The searches are in backtracking-linesearch.ts and zoom-linesearch.ts; reusing the last
// evaluation is value-and-grad-from-state.ts.

/** What one evaluation on the line `w + t d` gives. */
export interface Evaluation {
  value: number;
  /** `<grad, d>`, the derivative of `t -> f(w + t d)` (NaN when no gradient was computed). */
  slope: number;
  /** The gradient at `w + t d` (owned by the search), or `null` when not computed. */
  grad: Updates | null;
}

/** The extra arguments a line search needs, checked, with `value` read as a number. */
export interface LineInputs {
  value: number;
  grad: Updates;
  valueFn: (params: Params) => tf.Scalar | number;
}

/** Reads and checks `extra.value`, `extra.grad` and `extra.valueFn`, naming a missing one. */
export function lineInputs(owner: string, updates: Updates, params: Params | undefined, extra: ExtraArgs | undefined): LineInputs & { params: Params } {
  if (params === undefined) throw missingParams(owner);
  const call = 'call update(direction, state, params, { value, grad, valueFn })';
  for (const field of ['value', 'grad', 'valueFn'] as const) {
    if (extra?.[field] === undefined || extra[field] === null) {
      throw new Error(
        `${owner}: needs extra.${field} (${field === 'value' ? 'the loss at params' : field === 'grad' ? 'its gradient at params' : 'a function computing the loss at any params'}); ${call}` +
          (extra === undefined ? ' (no extra argument was given)' : ''),
      );
    }
  }
  const { grad, valueFn } = extra as Required<ExtraArgs>;
  if (typeof valueFn !== 'function') throw new TypeError(`${owner}: extra.valueFn must be a function (params) => loss, got ${describeNode(valueFn)}`);
  checkFloatTrees(owner, ['updates', 'params', 'extra.grad'], [updates, params, grad]);
  const value = readValue(owner, extra);
  return { value, grad, valueFn, params };
}

/** `d * t`, leaf by leaf: the same op whether it makes a trial point or the returned update. */
export function scaledDirection(owner: string, direction: Updates, t: number): Updates {
  return tidy(() => {
    const ts = tf.scalar(t);
    return mapFloatLeaves(owner, ['updates'], [direction], (d) => tf.mul(d, ts));
  });
}

/** The loss as a scalar tensor (the gradient needs one), or an error naming `extra.valueFn`. */
export function lossTensor(owner: string, loss: unknown): tf.Scalar {
  if (isTensor(loss) && loss.size === 1) return (loss.rank === 0 ? loss : tf.reshape(loss, [])) as tf.Scalar;
  throw new TypeError(
    `${owner}: extra.valueFn must return the loss as a one-element tensor computed with tf ops from its argument ` +
      `(its gradient is taken), got ${describeNode(loss)}`,
  );
}

/**
 * Evaluates the loss at `w + t d` and, if `withGrad`, its gradient and the slope `<grad, d>`:
 * one read-back for the value and the slope together. The trial point is freed.
 */
export function evaluate(owner: string, inputs: LineInputs & { params: Params }, direction: Updates, t: number, withGrad: boolean): Evaluation {
  const step = scaledDirection(owner, direction, t);
  const point = tidy(() => mapFloatLeaves(owner, ['params', 'updates'], [inputs.params, step], (w, u) => tf.add(w, u)));
  tf.dispose(step as tf.TensorContainer);
  try {
    if (!withGrad) {
      const loss = tf.tidy(() => {
        const v = inputs.valueFn(point);
        return typeof v === 'number' ? tf.scalar(v) : lossTensor(owner, v);
      });
      const value = loss.dataSync()[0];
      loss.dispose();
      return { value, slope: NaN, grad: null };
    }
    const [leaves, def] = treeFlatten(point);
    const { value: loss, grads } = withGradientsRegistered(owner, () =>
      tf.valueAndGrads((...xs: tf.Tensor[]) => lossTensor(owner, inputs.valueFn(def.unflatten(xs))))(leaves),
    );
    const grad = def.unflatten(grads);
    const { dots, extra } = readDots([[grad, direction]], [loss]);
    loss.dispose();
    return { value: extra[0], slope: dots[0], grad };
  } finally {
    tf.dispose(point as tf.TensorContainer);
  }
}

/**
 * `extra.valueFn`, checked: a missing one is an `Error` that says what it is for (`purpose`, e.g.
 * "whose Hessian is estimated") and how to pass it, another value a `TypeError`. For the
 * transformations that differentiate the loss themselves (sophia's estimator, sam's opaque mode).
 */
export function requireValueFn(owner: string, extra: ExtraArgs | undefined, purpose: string, who = owner): (params: Params) => tf.Scalar | number {
  const valueFn = extra?.valueFn;
  if (valueFn === undefined || valueFn === null) {
    throw new Error(
      `${who} needs extra.valueFn (a function computing the loss at any params, with tf ops, ${purpose}); ` +
        'call update(grads, state, params, { valueFn })' + (extra === undefined ? ' (no extra argument was given)' : ''),
    );
  }
  if (typeof valueFn !== 'function') throw new TypeError(`${owner}: extra.valueFn must be a function (params) => loss, got ${describeNode(valueFn)}`);
  return valueFn;
}
