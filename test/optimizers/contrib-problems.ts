import * as tf from '@tensorflow/tfjs-core';
import { trainStep, treeDispose, type GradientTransformation, type Params } from '../../src/index.js';

// The targets optax's contrib tests (optax/contrib/_common_test.py) minimise with every
// contributed optimizer, checking the params against the minimiser to rtol = atol = 3e-2.

/** A problem: where it starts, its minimiser, and its gradient (in float64). */
export interface Problem {
  x0: number[];
  target: number[];
  grad: (x: number[]) => number[];
}

/** sum((x - [1, -1, 1])^2) from [-1, 10, 1]. */
export const PARABOLA: Problem = {
  x0: [-1, 10, 1],
  target: [1, -1, 1],
  grad: (x) => x.map((v, i) => 2 * (v - [1, -1, 1][i])),
};

/** (1 - x)^2 + 100 (y - x^2)^2 from [0, 0]. */
export const ROSENBROCK: Problem = {
  x0: [0, 0],
  target: [1, 1],
  grad: ([x, y]) => [-2 * (1 - x) + -400 * x * (y - x * x), 200 * (y - x * x)],
};

/**
 * The problems side by side in one vector (a problem of their own): for an element-wise optimizer
 * the same numbers as each alone, in one leaf. `split` cuts a result back into the problems' parts.
 */
export function sideBySide(...problems: Problem[]): Problem & { split: (x: number[]) => number[][] } {
  const ends = problems.map((_, i) => problems.slice(0, i + 1).reduce((n, pr) => n + pr.x0.length, 0));
  const split = (x: number[]) => problems.map((_, i) => x.slice(i === 0 ? 0 : ends[i - 1], ends[i]));
  return {
    x0: problems.flatMap((pr) => pr.x0),
    target: problems.flatMap((pr) => pr.target),
    grad: (x) => split(x).flatMap((part, i) => problems[i].grad(part)),
    split,
  };
}

/**
 * `steps` trainSteps of `tx` on the problems at once, one leaf each (`{ p0, p1, ... }`), with the
 * gradients computed in float64 from the current params: the final params of each problem (all
 * else is freed). For an element-wise optimizer this is each problem's own run, in one pass.
 */
export function minimizeAll(tx: GradientTransformation<any>, problems: readonly Problem[], steps: number): number[][] {
  const keys = problems.map((_, i) => `p${i}`);
  let params: Record<string, tf.Tensor> = Object.fromEntries(problems.map((pr, i) => [keys[i], tf.tensor1d(pr.x0)]));
  let state = tx.init(params as Params);
  for (let k = 0; k < steps; k++) {
    const grads = Object.fromEntries(problems.map((pr, i) => [keys[i], tf.tensor1d(pr.grad(Array.from(params[keys[i]].dataSync())))]));
    ({ params, state } = trainStep(tx, params as Params, state, grads) as { params: Record<string, tf.Tensor>; state: unknown });
  }
  const result = keys.map((key) => Array.from(params[key].dataSync()));
  treeDispose([params as Params, state]);
  return result;
}
