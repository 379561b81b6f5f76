import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { disposeReplaced, scaleByBelief } from '../../src/index.js';
import { expectAllClose, flat, itThrowsRangeError, oneStep } from '../helpers.js';

describe('scaleByBelief', () => {
  it('first step: g / (0.9 |g| + eps), derived by hand', () => {
    // t = 1: mu = 0.1 g; g - mu = 0.9 g; nu = 0.001 (0.9 g)^2 + 1e-16 = 0.00081 g^2 + 1e-16;
    // muHat = mu / 0.1 = g; nuHat = nu / 0.001 = 0.81 g^2 + 1e-13; u = g / (sqrt(nuHat) + 1e-16).
    // For g = 2: 2 / sqrt(3.24 + 1e-13) = 1/0.9 to float32; g = 0: 0 / (sqrt(1e-13) + 1e-16) = 0.
    const g = tf.tensor1d([2, -0.5, 0]);
    expectAllClose(oneStep(scaleByBelief(), g), [1 / 0.9, -1 / 0.9, 0], 1e-6, 0);
    g.dispose();
  });

  it('keeps epsRoot in the stored second moment (optax), and uses the new mean in the prediction error', () => {
    // g = 0 twice with epsRoot = 0.5: nu1 = 0.999 * 0 + 0.001 * 0 + 0.5 = 0.5,
    // nu2 = 0.999 * 0.5 + 0 + 0.5 = 0.9995.
    const tx = scaleByBelief({ epsRoot: 0.5 });
    const g = tf.tensor1d([0]);
    const s0 = tx.init(g);
    const [u1, s1] = tx.update(g, s0, g);
    const [u2, s2] = tx.update(g, s1, g);
    expectAllClose(flat(s1.nu), [0.5], 1e-7, 0);
    expectAllClose(flat(s2.nu), [0.9995], 1e-7, 0);
    disposeReplaced([u1, u2, s0, s1, s2, g], []);
  });
});

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['scaleByBelief b1', () => scaleByBelief({ b1: 1 }), /scaleByBelief: option 'b1' .* got 1/],
  ];
  itThrowsRangeError(cases);
});
