import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { disposeReplaced, scaleByFactoredRms, type Params } from '../../src/index.js';
import { expectAllClose, expectRangeError, flat, thrown, trainWithoutLeak, updatesFor } from '../helpers.js';

describe('scaleByFactoredRms', () => {
  const g1 = [[1, 2, 3], [4, 5, 6]];
  const g2 = [[-1, 0.5, 2], [3, -2, 1]];

  it('keeps a row and a column vector for a factored matrix, not a full matrix', () => {
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
    const state = tx.init({ w: tf.zeros([2, 3]), b: tf.zeros([3]) });
    // [2, 3]: d0 = 1 (largest), d1 = 0; vRow drops d0 -> [2], vCol drops d1 -> [3], v empty.
    const w = (t: Params) => (t as { w: tf.Tensor }).w.shape;
    const b = (t: Params) => (t as { b: tf.Tensor }).b.shape;
    expect([w(state.vRow), w(state.vCol), w(state.v)]).toEqual([[2], [3], [0]]);
    // A vector is never factored: full v, empty vRow and vCol.
    expect([b(state.vRow), b(state.vCol), b(state.v)]).toEqual([[0], [0], [3]]);
    // Below minDimSizeToFactor (default 128) a matrix keeps a full v.
    const plain = scaleByFactoredRms().init({ w: tf.zeros([2, 3]) });
    expect([w(plain.vRow), w(plain.vCol), w(plain.v)]).toEqual([[0], [0], [2, 3]]);
    disposeReplaced([state, plain], []);
  });

  it('follows the factored second-moment formula for two steps', () => {
    // G = g^2 (+ 1e-30). Step 1: beta = 1 - 1^-0.8 = 0, so
    //   vRow = mean over columns = [14/3, 77/3], vCol = mean over rows = [8.5, 14.5, 22.5];
    //   vRow / mean(vRow) = [14/3, 77/3] / (91/6) = [0.3076923, 1.6923077];
    //   u[0][0] = 1 / sqrt(0.3076923) / sqrt(8.5) = 1.8027756 * 0.3429972 = 0.6183469, ...
    // Step 2: beta = 1 - 2^-0.8 = 0.4256508; vRow = beta * vRow + (1 - beta) * [7/3, 14/3]
    //   = [2.9914816, 13.6053339], vCol = beta * vCol + (1 - beta) * [5, 2.125, 2.5]
    //   = [6.4897779, 7.3924289, 11.0130165]; u = g * rsqrt(vRow / mean)[row] * rsqrt(vCol)[col].
    const expected = [
      [0.61834694, 0.94686415, 1.14017543, 1.05465609, 1.00936058, 0.97234487],
      [-0.65379155, 0.30628847, 1.00376274, 0.91970621, -0.57448567, 0.23533669],
    ];
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
    let state = tx.init(tf.zeros([2, 3]));
    [g1, g2].forEach((g, k) => {
      const gt = tf.tensor2d(g);
      const [u, s] = tx.update(gt, state);
      expectAllClose(flat(u), expected[k], 2e-6, 1e-9);
      disposeReplaced([state, gt, u], [s]);
      state = s;
    });
    expectAllClose(flat(state.vRow), [2.99148157, 13.60533394], 2e-6);
    expectAllClose(flat(state.vCol), [6.48977788, 7.39242893, 11.01301645], 2e-6);
    disposeReplaced([state], []);
  });

  it('is RMSprop-like, u = g / sqrt(v), on a leaf it does not factor', () => {
    // Step 1: v = g^2 + 1e-30, u = g / |g| = sign(g). Step 2: beta = 0.4256508,
    // v = beta * 1 + (1 - beta) * 4 = 2.7230475 for g = [1, -1] then [2, -2]: u = 2 / sqrt(v) = 1.2119993.
    const got = updatesFor(scaleByFactoredRms(), [0, 0], [[1, -1], [2, -2]]).flat();
    expectAllClose(got, [1, -1, 1.2119993, -1.2119993], 2e-6);
  });

  it('leaks nothing over 100 trainSteps, factored or not', () => {
    trainWithoutLeak(scaleByFactoredRms({ minDimSizeToFactor: 2 }), 100);
    trainWithoutLeak(scaleByFactoredRms(), 100);
  });

  it('rejects bad options', () => {
    expectRangeError(() => scaleByFactoredRms({ decayRate: -1 }), 'scaleByFactoredRms', 'decayRate');
    expectRangeError(() => scaleByFactoredRms({ minDimSizeToFactor: 0 }), 'scaleByFactoredRms', 'minDimSizeToFactor');
    expectRangeError(() => scaleByFactoredRms({ epsilon: -1 }), 'scaleByFactoredRms', 'epsilon');
    expectRangeError(() => scaleByFactoredRms({ stepOffset: 1.5 }), 'scaleByFactoredRms', 'stepOffset');
  });

  it('names the path and the expected shape when a state leaf has the wrong shape', () => {
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
    const state = tx.init({ w: tf.zeros([2, 3]) });
    const bad = { ...state, vCol: { w: tf.zeros([2]) } };
    const g = { w: tf.ones([2, 3]) };
    const e = thrown(() => tx.update(g, bad));
    expect(e.message).toContain('state.vCol.w');
    expect(e.message).toContain('[3]');
    disposeReplaced([state, bad, g], []);
  });
});
