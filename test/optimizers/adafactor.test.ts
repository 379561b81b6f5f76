import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adafactor,
  addDecayedWeights,
  chain,
  clipByBlockRms,
  disposeReplaced,
  ema,
  getHyperparam,
  scale,
  scaleByFactoredRms,
  scaleByLearningRate,
  scaleByParamBlockRms,
} from '../../src/index.js';
import { expectAllClose, expectConverges, expectEqualsChain, expectRangeError, run, trainWithoutLeak, updatesFor } from '../helpers.js';

describe('adafactor', () => {
  it('follows its chain of formulas for two steps on an unfactored leaf', () => {
    // adafactor(0.1) on x = [3, 4], gradients [1, -2] then [2, 2].
    // Step 1: beta = 0, v = g^2, u = g / sqrt(v) = [1, -1]; rms(u) = 1 <= threshold 1 (no clip);
    //   times lr 0.1, times rms(x) = sqrt(12.5) = 3.5355339, negated: [-0.3535534, 0.3535534].
    // Step 2: beta = 1 - 2^-0.8 = 0.4256508, v = [beta + (1 - beta) * 4, 4] = [2.7230475, 4],
    //   u = [2 / 1.6501659, 1] = [1.2119993, 1]; rms(u) = 1.1110676 > 1: u / 1.1110676;
    //   x = [2.6464466, 4.3535534], rms(x) = 3.6025759: u = -[0.3929842, 0.3242445].
    const got = updatesFor(adafactor(0.1), [3, 4], [[1, -2], [2, 2]]).flat();
    expectAllClose(got, [-0.35355339, 0.35355339, -0.39298416, -0.32424453], 2e-6);
  });

  it('keeps row and column statistics, not a full matrix, for a large matrix', () => {
    const params = { w: tf.zeros([128, 256]), b: tf.zeros([256]) };
    const state = adafactor(0.01).init(params);
    const factoredState = (state as unknown as [{ vRow: { w: tf.Tensor }; vCol: { w: tf.Tensor }; v: { w: tf.Tensor; b: tf.Tensor } }])[0];
    expect([factoredState.vRow.w.shape, factoredState.vCol.w.shape, factoredState.v.w.shape]).toEqual([[128], [256], [0]]);
    expect(factoredState.v.b.shape).toEqual([256]);
    disposeReplaced([params, state], []);
  });

  it('equals its documented chain, bit for bit', () => {
    expectEqualsChain(
      adafactor(0.01, { minDimSizeToFactor: 2, clippingThreshold: 0.5 }),
      chain(
        scaleByFactoredRms({ minDimSizeToFactor: 2 }),
        clipByBlockRms(0.5),
        scaleByLearningRate(0.01, { flipSign: false }),
        scaleByParamBlockRms(),
        scale(-1),
      ),
    );
    expectEqualsChain(
      adafactor(0.01, { clippingThreshold: null, multiplyByParameterScale: false, momentum: 0.9, weightDecay: 0.1 }),
      chain(scaleByFactoredRms(), scaleByLearningRate(0.01, { flipSign: false }), ema({ decay: 0.9, debias: false }), addDecayedWeights(0.1), scale(-1)),
    );
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(adafactor(0.01, { minDimSizeToFactor: 2 }), 100);
    trainWithoutLeak(adafactor(0.01, { momentum: 0.9, weightDecay: 1e-3 }), 100);
  });

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => adafactor(0.1, { clippingThreshold: 0 }), 'adafactor', 'clippingThreshold');
    expectRangeError(() => adafactor(0.1, { momentum: 1 }), 'adafactor', 'momentum');
    expectRangeError(() => adafactor(0.1, { decayOffset: -1 }), 'adafactor', 'decayOffset');
    expectRangeError(() => adafactor(0.1, { eps: -1 }), 'adafactor', 'eps');
    expectRangeError(() => adafactor(0.1, { minDimSizeToFactor: 0 }), 'adafactor', 'minDimSizeToFactor');
    expectRangeError(() => adafactor(0.1, { weightDecay: -1 }), 'adafactor', 'weightDecay');
    expectRangeError(() => adafactor(-0.1), 'adafactor', 'learningRate');
  });

  it('keeps learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    const { state, params } = run(adafactor(schedule), 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 5e-3)', () => {
    expectConverges(() => adafactor(5e-3));
  });
});
