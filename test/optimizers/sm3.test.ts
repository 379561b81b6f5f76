import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { chain, disposeReplaced, getHyperparam, scaleByLearningRate, scaleBySm3, sm3 } from '../../src/index.js';
import { expectAllClose, expectConverges, expectEqualsChain, expectRangeError, flat, run, thrown, trainWithoutLeak } from '../helpers.js';

describe('sm3', () => {
  it('covers a matrix accumulator with a row and a column vector, and follows SM3-II for two steps', () => {
    // scaleBySm3() (b1 0.9, b2 1, eps 1e-8) on W = [2, 2] and a vector.
    // Step 1, W: prev = 0, acc = g^2 = [[1, 4], [9, 16]], g / sqrt(acc) = sign(g) = 1, nu = 0.1;
    //   mu[0] (per row) = max over columns = [4, 16], mu[1] (per column) = max over rows = [9, 16].
    // Step 2, W: prev[i][j] = min(mu[0][i], mu[1][j]) = [[4, 4], [9, 16]]; g = [[1, -1], [2, 0]]:
    //   acc = [[5, 5], [13, 16]], g / sqrt(acc) = [[0.4472136, -0.4472136], [0.5547002, 0]],
    //   nu = 0.1 * that + 0.9 * 0.1 = [[0.1347214, 0.0452786], [0.1454700, 0.09]];
    //   mu[0] = [5, 16], mu[1] = [13, 16].
    // Vector v: g = 2 then 1: acc = 4 then 5; nu = 0.1, then 0.1 / sqrt(5) + 0.09 = 0.1347214.
    const tx = scaleBySm3();
    let state = tx.init({ v: tf.zeros([1]), w: tf.zeros([2, 2]) });
    const mu = (s: typeof state) => (s.mu as { w: tf.Tensor[] }).w;
    expect(mu(state).map((t) => t.shape)).toEqual([[2], [2]]);
    const grads = [
      { v: [2], w: [[1, 2], [3, 4]] },
      { v: [1], w: [[1, -1], [2, 0]] },
    ];
    const expected = [
      [0.1, 0.1, 0.1, 0.1, 0.1],
      [0.1347214, 0.1347214, 0.0452786, 0.14547, 0.09],
    ];
    grads.forEach((g, k) => {
      const gt = { v: tf.tensor1d(g.v), w: tf.tensor2d(g.w) };
      const [u, s] = tx.update(gt, state);
      expectAllClose(flat(u), expected[k], 2e-6, 1e-8);
      disposeReplaced([state, gt, u], [s]);
      state = s;
    });
    expectAllClose(mu(state).flatMap((t) => Array.from(t.dataSync())), [5, 16, 13, 16], 1e-6);
    disposeReplaced([state], []);
  });

  it('equals its documented chain, bit for bit', () => {
    expectEqualsChain(sm3(0.01, { momentum: 0.8 }), chain(scaleBySm3({ b1: 0.8 }), scaleByLearningRate(0.01)));
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(sm3(0.01), 100));

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => sm3(0.1, { momentum: 1 }), 'sm3', 'momentum');
    expectRangeError(() => sm3(-1), 'sm3', 'learningRate');
    expectRangeError(() => scaleBySm3({ b2: 1.5 }), 'scaleBySm3', 'b2');
    expectRangeError(() => scaleBySm3({ eps: -1 }), 'scaleBySm3', 'eps');
  });

  it('names the accumulator when one has the wrong shape', () => {
    const tx = scaleBySm3();
    const state = tx.init({ w: tf.zeros([2, 3]) });
    const bad = { ...state, mu: { w: [tf.zeros([2]), tf.zeros([2])] } };
    const g = { w: tf.ones([2, 3]) };
    const e = thrown(() => tx.update(g, bad));
    expect(e.message).toContain('state.mu.w[1]');
    expect(e.message).toContain('[3]');
    disposeReplaced([state, bad, g], []);
  });

  it('keeps learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    const { state, params } = run(sm3(schedule), 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 1)', () => {
    expectConverges(() => sm3(1));
  });
});
