import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { polyakSgd, scaleByPolyak, trainStep, treeDispose, type GradientTransformation, type Params } from '../../src/index.js';
import { expectAllClose, flat } from '../helpers.js';

// The Polyak step is cut to 0 only when |g|^2 + eps <= 2^-52 (float64's epsilon, optax's
// jnp.finfo(float).eps), not float32's 2^-23: near the optimum |g|^2 is far below 2^-23 and the
// step must go on. Values here are optax's, which this file derives by hand: on f = sum(x^2) the
// Polyak step is f / |2x|^2 = 1/4 whatever x, so each update halves x exactly (in float32 too).

type AnyTx = GradientTransformation<any>;

/** One update of `tx` at params `x` with gradient `g` and loss `value`. */
function update(tx: AnyTx, x: number[], g: number[], value: number): number[] {
  const params = tf.tensor1d(x);
  const grads = tf.tensor1d(g);
  const state = tx.init(params);
  const [u, next] = tx.update(grads, state, params, { value });
  const out = flat(u);
  treeDispose([params, grads, state, u, next]);
  return out;
}

/** The loss f = sum(x^2) after each of `steps` trainSteps from x0, f and its gradient computed in float64 from the float32 params. */
function losses(tx: AnyTx, x0: number[], steps: number): number[] {
  let params: Params = { x: tf.tensor1d(x0) };
  let state = tx.init(params);
  const f = (x: number[]) => x.reduce((s, v) => s + v * v, 0);
  const out: number[] = [];
  for (let k = 0; k < steps; k++) {
    const x = flat(params);
    ({ params, state } = trainStep(tx, params, state, { x: tf.tensor1d(x.map((v) => 2 * v)) }, { extra: { value: f(x) } }));
    out.push(f(flat(params)));
  }
  treeDispose([params, state]);
  return out;
}

describe('scaleByPolyak near the optimum', () => {
  it('keeps stepping where |g|^2 is below float32 epsilon: polyakSgd on x = [1e-4], f = x^2 gives -5e-5', () => {
    // g = 2e-4, |g|^2 = 4e-8 (< 2^-23 = 1.2e-7, where the step used to be cut to 0, an update of
    // -0), f = 1e-8: step = 1e-8 / 4e-8 = 0.25, u = -0.25 * 2e-4 = -5e-5 (optax's value).
    const x = Math.fround(1e-4);
    const u = update(polyakSgd(), [x], [2 * x], x * x);
    expectAllClose(u, [-5e-5], 1e-6, 0);
    expect(Object.is(u[0], -0)).toBe(false);
  });

  it('cuts the step at |g|^2 + eps <= 2^-52, and only there', () => {
    // |g|^2 = (2^-26)^2 = 2^-52: cut, u = 0 * g.
    expect(update(scaleByPolyak(), [0], [2 ** -26], 1)).toEqual([0]);
    // |g|^2 = 2^-50: step = min(2^-52 / 2^-50, 1) = 0.25, u = 0.25 * 2^-25 = 2^-27.
    expect(update(scaleByPolyak(), [0], [2 ** -25], 2 ** -52)).toEqual([2 ** -27]);
    // eps moves the denominator over the cut: 2^-52 + 2^-52 = 2^-51, step = min(2^-53 / 2^-51, 1) = 0.25.
    expect(update(scaleByPolyak({ eps: 2 ** -52 }), [0], [2 ** -26], 2 ** -53)).toEqual([2 ** -28]);
  });

  it("reaches f = 4.86e-17 in 40 steps of polyakSgd on sum(x^2) from [1, 2, 3], optax's 4.9e-17", () => {
    // f_k = 14 / 4^k. The step stops once |g|^2 = 4 f_k = 56 / 4^k <= 2^-52, at k = 29:
    // 56 / 2^58 = 1.9e-16. So f stays at f_29 = 14 / 2^58 = 4.857e-17. (With the cut-off at
    // 2^-23 it stopped at k = 15: f = 14 / 2^30 = 1.3e-8.)
    const f = losses(polyakSgd(), [1, 2, 3], 40);
    // optax's docstring example: 3.5, 0.875, 0.21875, 0.0546875, 0.013671875.
    expect(f.slice(0, 5)).toEqual([3.5, 0.875, 0.21875, 0.0546875, 0.013671875]);
    expect(f[28]).toBe(14 / 2 ** 58);
    expect(f[39]).toBe(14 / 2 ** 58);
    expect(f[39]).toBeLessThan(1e-15);
    expectAllClose([f[39]], [4.857e-17], 1e-3, 0);
    expect(f[27]).toBe(14 / 2 ** 56);
  });
});
