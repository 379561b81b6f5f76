import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import {
  applyUpdates,
  chain,
  disposeReplaced,
  lbfgs,
  scale,
  scaleByBacktrackingLinesearch,
  scaleByZoomLinesearch,
  valueAndGradFromState,
  type Params,
} from '../../src/index.js';
import { expectAllClose, flat, noLeak, thrown } from '../helpers.js';
import { rosenbrock, runLoop, type P } from '../problems.js';

describe('scaleByZoomLinesearch', () => {
  it('brackets and zooms to the step derived by hand on x^2', () => {
    // f(x) = x^2 at x = 1: value 1, grad 2, direction d = -2 (scale(-1)), phi'(0) = -4.
    // Trial t = 1: phi(1) = f(-1) = 1, phi'(1) = f'(-1) d = 4.
    //   Armijo error: 1 - 1 - 1e-4 * 1 * (-4) = 4e-4; approximate condition:
    //   max(4 - (2e-4 - 1)(-4), 1 - 1 - 1e-6 * 1) = 8e-4; error = min(8e-4, 4e-4) > 0, so the
    //   interval is [low 0, high 1] (phase 2).
    // Zoom: the cubic reference is low itself (a degenerate cubic: NaN), so the quadratic through
    //   phi(0) = 1, phi'(0) = -4, phi(1) = 1: B = (1 - 1 + 4) / 1 = 4, t = 0 + 4 / 8 = 0.5, inside
    //   [0.1, 0.9]. phi(0.5) = f(0) = 0, phi'(0.5) = 0: both conditions hold. Step 0.5, update -1.
    noLeak(() => {
      const tx = chain(scale(-1), scaleByZoomLinesearch({ maxLinesearchSteps: 10 }));
      const sq = (p: P) => tf.sum(tf.square(p.x)) as tf.Scalar;
      const params = { x: tf.tensor1d([1]) };
      const grad = { x: tf.tensor1d([2]) };
      const s0 = tx.init(params);
      const [u, s1] = tx.update(grad, s0, params, { value: 1, grad, valueFn: sq as (p: Params) => tf.Scalar });
      expectAllClose(flat(u), [-1], 0);
      const ls = s1[1];
      expect(ls.stepsize).toBe(0.5);
      expect(ls.numLinesearchSteps).toBe(2);
      expect(ls.value).toBe(0);
      expect(ls.decreaseError).toBe(0);
      expect(ls.curvatureError).toBe(0);
      expect(flat(ls.grad)).toEqual([0]);
      disposeReplaced([params, grad, s0, u, s1], []);
    });
  });

  it("with 'keep', starts from the last step size", () => {
    // Second update from x = 0.5 (value 0.25, grad 1, d = -1): the first trial is t = 0.5 (kept),
    // phi(0.5) = f(0) = 0 with slope 0: accepted at once, one evaluation.
    noLeak(() => {
      const tx = chain(scale(-1), scaleByZoomLinesearch({ maxLinesearchSteps: 10 }));
      const sq = (p: P) => tf.sum(tf.square(p.x)) as tf.Scalar;
      const p0 = { x: tf.tensor1d([1]) };
      const g0 = { x: tf.tensor1d([2]) };
      const s0 = tx.init(p0);
      const [u0, s1] = tx.update(g0, s0, p0, { value: 1, grad: g0, valueFn: sq as (p: Params) => tf.Scalar });
      const p1 = { x: tf.tensor1d([0.5]) };
      const g1 = { x: tf.tensor1d([1]) };
      const [u1, s2] = tx.update(g1, s1, p1, { value: 0.25, grad: g1, valueFn: sq as (p: Params) => tf.Scalar });
      expectAllClose(flat(u1), [-0.5], 0);
      expect(s2[1].numLinesearchSteps).toBe(1);
      disposeReplaced([p0, g0, s0, u0, s1, p1, g1, u1, s2], []);
    });
  });
});

describe('scaleByBacktrackingLinesearch', () => {
  it('satisfies the Armijo condition at every accepted step (gradient descent on Rosenbrock)', () => {
    // Gradient descent directions, so the condition can always be met. (Under L-BFGS, Armijo
    // alone does not keep <y, s> > 0, so a direction may stop being a descent direction; the
    // zoom search's curvature condition is what L-BFGS needs.)
    const tx = chain(scale(-1), scaleByBacktrackingLinesearch({ maxBacktrackingSteps: 40, storeGrad: true }));
    let steps = 0;
    runLoop(tx, rosenbrock, [-1.2, 1], 40, {
      onStep: ({ value, slope, newParams, state }) => {
        const ls = (state as any[]).at(-1);
        // Recomputed independently at the new params (the same float32 point the search evaluated).
        const p = { x: tf.tensor1d(newParams) };
        const f = rosenbrock(p);
        const newValue = f.dataSync()[0];
        tf.dispose([p.x, f]);
        expect(newValue).toBe(ls.value);
        expect(ls.decreaseError).toBe(0);
        // Armijo with c = 1e-4: f(w + u) <= f(w) + c <u, grad>  (u = t d, slope here is <u, grad>).
        expect(slope).toBeLessThan(0);
        expect(newValue).toBeLessThanOrEqual(value + 1e-4 * slope + 1e-6 * Math.abs(value));
        steps++;
      },
    });
    expect(steps).toBe(40);
  });

  it('takes the first trial min(1.5 t_prev, 1) when it passes, and backtracks by 0.8 when it does not', () => {
    // f(x) = x^2 at x = 1, direction d = -g = -2 (sgd(1) then the search). Trial t = min(1.5, 1) = 1:
    //   f(1 - 2) = 1 > 1 - 1e-4 * 1 * 4: rejected; t = 0.8: f(1 - 1.6) = 0.36 <= 1 - 3.2e-4: accepted.
    noLeak(() => {
      const tx = chain(scale(-1), scaleByBacktrackingLinesearch({ maxBacktrackingSteps: 10 }));
      // Without storeGrad, valueFn may return a JS number.
      const sq = (p: P) => flat(p).reduce((s, v) => s + v * v, 0);
      const params = { x: tf.tensor1d([1]) };
      const grad = { x: tf.tensor1d([2]) };
      const s0 = tx.init(params);
      const [u, s1] = tx.update(grad, s0, params, { value: 1, grad, valueFn: sq as (p: Params) => number });
      expectAllClose(flat(u), [-1.6], 1e-7);
      const ls = s1[1];
      expect(ls.stepsize).toBeCloseTo(0.8, 15);
      expect(ls.numLinesearchSteps).toBe(2);
      expect(ls.value).toBeCloseTo(0.36, 6);
      expect(ls.grad).toBeNull();
      disposeReplaced([params, grad, s0, u, s1], []);
    });
  });

  it('valueAndGradFromState needs storeGrad', () => {
    const tx = chain(scale(-1), scaleByBacktrackingLinesearch({ maxBacktrackingSteps: 10 }));
    const params = { x: tf.tensor1d([1]) };
    const grad = { x: tf.tensor1d([2]) };
    const sq = (p: P) => tf.sum(tf.square(p.x)) as tf.Scalar;
    const s0 = tx.init(params);
    const [u, s1] = tx.update(grad, s0, params, { value: 1, grad, valueFn: sq as (p: Params) => tf.Scalar });
    expect(thrown(() => valueAndGradFromState(sq)(params, s1)).message).toMatch(/storeGrad: true/);
    expect(thrown(() => valueAndGradFromState(sq)(params, [s1, s1])).message).toMatch(/exactly one line search.*found 2/);
    disposeReplaced([params, grad, s0, u, s1], []);
  });
});

describe('valueAndGradFromState', () => {
  it('evaluates before the first update and reuses the line search evaluation after', () => {
    noLeak(() => {
      let calls = 0;
      const f = (p: P) => {
        calls++;
        return rosenbrock(p);
      };
      const vg = valueAndGradFromState(f);
      const tx = lbfgs();
      const params = { x: tf.tensor1d([-1.2, 1]) };
      const s0 = tx.init(params);
      const first = vg(params, s0);
      expect(calls).toBe(1);
      // f(-1.2, 1) = 2.2^2 + 100 * 0.44^2 = 4.84 + 19.36 = 24.2; grad = (-2(1 - x) - 400 x (y - x^2), 200 (y - x^2)) = (-215.6, -88)
      expectAllClose([first.value], [24.2], 1e-6);
      expectAllClose(flat(first.grad), [-215.6, -88], 1e-6);
      const [u, s1] = tx.update(first.grad, s0, params, { ...first, valueFn: f as (p: Params) => tf.Scalar });
      const used = calls;
      const next = applyUpdates(params, u);
      const second = vg(next, s1);
      expect(calls).toBe(used);
      const f1 = rosenbrock(next);
      expect(second.value).toBe(f1.dataSync()[0]);
      disposeReplaced([params, s0, first.grad, u, s1, next, second.grad, f1], []);
    });
  });
});
