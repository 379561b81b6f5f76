import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { disposeReplaced, scaleByYogi } from '../../src/index.js';
import { expectAllClose, flat, itThrowsRangeError, oneStep } from '../helpers.js';

describe('scaleByYogi', () => {
  it('first step from the default accumulators, derived by hand', () => {
    // t = 1, mu0 = nu0 = 1e-6, g = 2: mu = 0.1 * 2 + 0.9e-6 = 0.2000009;
    // nu = 1e-6 - 0.001 * sign(1e-6 - 4) * 4 = 0.004001; muHat = mu / 0.1 = 2.000009;
    // nuHat = nu / 0.001 = 4.001; u = 2.000009 / (sqrt(4.001) + 1e-3).
    const g = tf.tensor1d([2]);
    expectAllClose(oneStep(scaleByYogi(), g), [2.000009 / (Math.sqrt(4.001) + 1e-3)], 2e-6, 0);
    g.dispose();
  });

  it('moves nu down by a fixed step when g^2 < nu (the additive update)', () => {
    // initialAccumulatorValue = 1, b2 = 0.9, g = 0.5: nu = 1 - 0.1 * sign(1 - 0.25) * 0.25 = 0.975
    // (Adam would give 0.9 * 1 + 0.1 * 0.25 = 0.925). mu = 0.9 + 0.05 = 0.95, t = 1:
    // u = (0.95 / 0.1) / (sqrt(0.975 / 0.1) + 1e-3) = 9.5 / (sqrt(9.75) + 1e-3).
    const tx = scaleByYogi({ initialAccumulatorValue: 1, b2: 0.9 });
    const g = tf.tensor1d([0.5]);
    const s0 = tx.init(g);
    const [u, s1] = tx.update(g, s0, g);
    expectAllClose(flat(s1.nu), [0.975], 1e-6, 0);
    expectAllClose(flat(u), [9.5 / (Math.sqrt(9.75) + 1e-3)], 2e-6, 0);
    disposeReplaced([u, s0, s1, g], []);
  });
});

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['scaleByYogi initialAccumulatorValue', () => scaleByYogi({ initialAccumulatorValue: -1 }), /scaleByYogi: option 'initialAccumulatorValue' .* got -1/],
  ];
  itThrowsRangeError(cases);
});
