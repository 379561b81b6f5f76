import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import { disposeReplaced, lbfgs, scaleByLbfgs } from '../../src/index.js';
import { expectAllClose, flat, noLeak, thrown } from '../helpers.js';
import { A, B, near, quadratic, runLoop, solve } from '../problems.js';

describe('scaleByLbfgs', () => {
  it('gives the two-loop recursion derived by hand for two updates', () => {
    // Update 1: w0 = (1, 2), u0 = (3, 4); no pair yet, gamma0 = min(1, 1/||u0||) = 1/5:
    //   direction = u0 / 5 = (0.6, 0.8).
    // Update 2: w1 = (0.5, 1), u1 = (1, 1): s = (-0.5, -1), y = (-2, -3), <y, s> = 4, <y, y> = 13,
    //   rho = 1/4, gamma = 4/13.
    //   q = u1;  a = rho <s, q> = -1.5/4 = -0.375;  q = q - a y = (0.25, -0.125)
    //   r = gamma q = (1/13, -0.5/13);  b = rho <y, r> = (-2/13 + 1.5/13)/4 = -0.125/13
    //   r = r + (a - b) s, a - b = -4.75/13:  r = (3.375/13, 4.25/13).
    noLeak(() => {
      const tx = scaleByLbfgs();
      const w0 = { x: tf.tensor1d([1, 2]) };
      const w1 = { x: tf.tensor1d([0.5, 1]) };
      const u0 = { x: tf.tensor1d([3, 4]) };
      const u1 = { x: tf.tensor1d([1, 1]) };
      const s0 = tx.init(w0);
      const [d0, s1] = tx.update(u0, s0, w0);
      expectAllClose(flat(d0), [0.6, 0.8], 1e-6);
      const [d1, s2] = tx.update(u1, s1, w1);
      expectAllClose(flat(d1), [3.375 / 13, 4.25 / 13], 1e-6);
      expect(s2.count).toBe(2);
      expect(s2.weights[0]).toBeCloseTo(0.25, 12);
      expect(s2.weights.slice(1)).toEqual(new Array(9).fill(0));
      disposeReplaced([w0, w1, u0, u1, s0, d0, s1, d1, s2], []);
    });
  });

  it('without scaleInitPrecond, the first direction is the update itself', () => {
    noLeak(() => {
      const tx = scaleByLbfgs({ scaleInitPrecond: false });
      const w = { x: tf.tensor1d([1, 2]) };
      const u = { x: tf.tensor1d([3, 4]) };
      const s = tx.init(w);
      const [d, s1] = tx.update(u, s, w);
      expectAllClose(flat(d), [3, 4], 0);
      disposeReplaced([w, u, s, d, s1], []);
    });
  });

  it('keeps memorySize pairs in a ring and reaches the optimum of a quadratic with memorySize 1', () => {
    const target = solve(A, B);
    const { x } = runLoop(lbfgs(undefined, { memorySize: 1 }), quadratic, [0, 0, 0, 0], 60, { stop: near(target, 1e-4) });
    expectAllClose(x, target, 0, 1e-4);
  });

  it('rejects bad options with a RangeError naming the option', () => {
    expect(() => scaleByLbfgs({ memorySize: 0 })).toThrow(RangeError);
    expect(thrown(() => scaleByLbfgs({ memorySize: 0 })).message).toMatch(/scaleByLbfgs: option 'memorySize'.*got 0/);
    expect(thrown(() => lbfgs(undefined, { memorySize: 2.5 })).message).toMatch(/lbfgs: option 'memorySize'/);
    expect(() => scaleByLbfgs({ scaleInitPrecond: 1 as never })).toThrow(TypeError);
    expect(thrown(() => scaleByLbfgs({ memory: 3 } as never)).message).toMatch(/unknown option 'memory'/);
  });
});
