import { describe, expect, it } from 'vitest';
import { adan, addDecayedWeights, chain, disposeReplaced, getHyperparam, scaleByAdan, scaleByLearningRate } from '../../src/index.js';
import { expectAllClose, expectConverges, expectEqualsChain, expectRangeError, run, trainWithoutLeak, updatesFor } from '../helpers.js';

describe('adan', () => {
  it('follows the paper (Algorithm 1, decays as b = 1 - beta) for three steps', () => {
    // scaleByAdan() defaults b1 0.98, b2 0.92, b3 0.99, eps 1e-8, epsRoot 0; gradients 1, -2, 0.5.
    // Step 1: d = 0. m = 0.02, v = 0, n = 0.01 * 1^2 = 0.01; corrections 0.02, 0.08, 0.01:
    //         u = (1 + 0) / (sqrt(1) + 1e-8) = 0.99999999.
    // Step 2: d = -3. m = 0.02 * -2 + 0.98 * 0.02 = -0.0204, mHat = -0.0204 / 0.0396 = -0.5151515;
    //         v = 0.08 * -3 = -0.24, vHat = -0.24 / 0.1536 = -1.5625, b2 * vHat = -1.4375;
    //         n = 0.01 * (-2 + 0.92 * -3)^2 + 0.99 * 0.01 = 0.01 * 22.6576 + 0.0099 = 0.236476,
    //         nHat = 0.236476 / 0.0199 = 11.883216, sqrt = 3.4472041;
    //         u = (-0.5151515 - 1.4375) / 3.4472041 = -0.5664450.
    // Step 3: d = 2.5. m = 0.01 + 0.98 * -0.0204 = -0.009992, v = 0.2 + 0.92 * -0.24 = -0.0208,
    //         n = 0.01 * (0.5 + 2.3)^2 + 0.99 * 0.236476 = 0.31251124; corrections 0.058808,
    //         0.221312, 0.029701: u = (-0.1699089 + 0.92 * -0.0939850) / sqrt(10.521909) = -0.0790366.
    const got = updatesFor(scaleByAdan(), [0], [[1], [-2], [0.5]]).flat();
    expectAllClose(got, [0.9999999900000002, -0.5664449957219024, -0.07903663158657856], 2e-6, 1e-9);
    // optax (PR #1715's bug) weighs d by 1 - b2 = 0.08: its step 2 would be
    // (-0.5151515 + 0.08 * -1.5625) / sqrt((0.01 * 2.24^2 + 0.0099) / 0.0199) = -0.3684.
    expect(Math.abs(got[1] + 0.3684)).toBeGreaterThan(0.1);
  });

  it('equals its documented chain, bit for bit (alias epsRoot 1e-8)', () => {
    expectEqualsChain(
      adan(0.01, { weightDecay: 1e-2 }),
      chain(scaleByAdan({ epsRoot: 1e-8 }), addDecayedWeights(1e-2), scaleByLearningRate(0.01)),
    );
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(adan(0.01, { weightDecay: 1e-3 }), 100));

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => adan(0.1, { b1: 1 }), 'adan', 'b1');
    expectRangeError(() => adan(0.1, { b2: -0.1 }), 'adan', 'b2');
    expectRangeError(() => adan(0.1, { b3: 1.5 }), 'adan', 'b3');
    expectRangeError(() => adan(0.1, { eps: -1 }), 'adan', 'eps');
    expectRangeError(() => adan(0.1, { weightDecay: -1 }), 'adan', 'weightDecay');
    expectRangeError(() => scaleByAdan({ epsRoot: -1 }), 'scaleByAdan', 'epsRoot');
  });

  it('keeps learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    const { state, params } = run(adan(schedule), 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 0.1)', () => {
    expectConverges(() => adan(0.1));
  });
});
