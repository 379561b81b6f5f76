// Full-batch problems for the quasi-Newton and line-search tests: losses as functions of the
// params (Rosenbrock, a quadratic of four variables and its exact minimum), and the loop a user
// writes around them.
import * as tf from '@tensorflow/tfjs-core';
import { applyUpdates, disposeReplaced, treeDispose, valueAndGradFromState, type GradientTransformation, type Params } from '../src/index.js';
import { flat } from './helpers.js';

export type P = { x: tf.Tensor };

/** Rosenbrock's function (1 - x0)^2 + 100 (x1 - x0^2)^2, minimum 0 at (1, 1). */
export function rosenbrock(p: P): tf.Scalar {
  return tf.tidy(() => {
    const x0 = tf.slice(p.x, [0], [1]);
    const x1 = tf.slice(p.x, [1], [1]);
    return tf.reshape(tf.add(tf.square(tf.sub(1, x0)), tf.mul(100, tf.square(tf.sub(x1, tf.square(x0))))), []) as tf.Scalar;
  });
}

/** 0.5 x^T A x - b^T x for a fixed symmetric positive definite A (n = 4); minimum at A^-1 b. */
export const A = [
  [4, 1, 0, 0.5],
  [1, 3, 0.5, 0],
  [0, 0.5, 2, 0.25],
  [0.5, 0, 0.25, 1],
];
export const B = [1, -2, 0.5, 3];
export function quadratic(p: P): tf.Scalar {
  return tf.tidy(() => {
    const Ax = tf.matMul(tf.tensor2d(A), tf.reshape(p.x, [4, 1]));
    return tf.reshape(tf.sub(tf.mul(0.5, tf.sum(tf.mul(tf.reshape(Ax, [4]), p.x))), tf.sum(tf.mul(tf.tensor1d(B), p.x))), []) as tf.Scalar;
  });
}
/** A^-1 b in float64, by Gaussian elimination. */
export function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let i = 0; i < n; i++) {
    for (let r = i + 1; r < n; r++) {
      const f = m[r][i] / m[i][i];
      for (let c = i; c <= n; c++) m[r][c] -= f * m[i][c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = m[i][n];
    for (let c = i + 1; c < n; c++) s -= m[i][c] * x[c];
    x[i] = s / m[i][i];
  }
  return x;
}

export interface Step {
  value: number;
  slope: number;
  params: number[];
  newParams: number[];
  state: unknown;
}

/**
 * The full-batch loop a user writes: `valueAndGradFromState`, `update` with the extra arguments,
 * `applyUpdates`, and everything replaced freed. Calls `onStep` after each update; stops when
 * `stop(params)` holds or after `n` updates. Returns the updates made and the params (to free).
 */
export function runLoop(
  tx: GradientTransformation<any>,
  fn: (p: P) => tf.Scalar,
  start: number[],
  n: number,
  { stop, onStep }: { stop?: (x: number[]) => boolean; onStep?: (s: Step) => void } = {},
): { iterations: number; x: number[]; evaluations: number } {
  let evaluations = 0;
  const counted = (p: P) => {
    evaluations++;
    return fn(p);
  };
  const vg = valueAndGradFromState(counted);
  let params: P = { x: tf.tensor1d(start) };
  let state = tx.init(params);
  let k = 0;
  for (; k < n; k++) {
    const x = flat(params);
    if (stop?.(x)) break;
    const { value, grad } = vg(params, state);
    const [updates, next] = tx.update(grad, state, params, { value, grad, valueFn: counted as (p: Params) => tf.Scalar });
    const newParams = applyUpdates(params, updates);
    if (onStep) {
      const slope = flat(grad).reduce((s, g, i) => s + g * flat(updates)[i], 0);
      onStep({ value, slope, params: x, newParams: flat(newParams), state: next });
    }
    disposeReplaced([params, state, grad, updates], [newParams, next]);
    params = newParams;
    state = next;
  }
  const x = flat(params);
  treeDispose([params, state]);
  return { iterations: k, x, evaluations };
}

export const near = (target: number[], tol: number) => (x: number[]) => x.every((v, i) => Math.abs(v - target[i]) <= tol);
