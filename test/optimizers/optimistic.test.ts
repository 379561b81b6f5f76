import { describe, expect, it } from 'vitest';
import {
  chain,
  disposeReplaced,
  getHyperparam,
  optimisticAdam,
  optimisticGradientDescent,
  scaleByAdam,
  scaleByLearningRate,
  scaleByOptimisticGradient,
  type GradientTransformation,
} from '../../src/index.js';
import { expectAllClose, expectConverges, expectEqualsChain, expectRangeError, run, trainWithoutLeak, updatesFor } from '../helpers.js';

type AnyTx = GradientTransformation<any>;

describe('optimistic gradient', () => {
  it('optimisticGradientDescent follows u = (alpha + beta) g - beta gPrev, gPrev = g at first', () => {
    // lr 0.1, alpha = beta = 1; gradients [1, -2], [3, 0.5], [-1, 1]:
    // step 1: -0.1 * 1 * g1 = [-0.1, 0.2]
    // step 2: -0.1 * (2 * [3, 0.5] - [1, -2]) = -0.1 * [5, 3] = [-0.5, -0.3]
    // step 3: -0.1 * (2 * [-1, 1] - [3, 0.5]) = -0.1 * [-5, 1.5] = [0.5, -0.15]
    const grads = [[1, -2], [3, 0.5], [-1, 1]];
    expectAllClose(updatesFor(optimisticGradientDescent(0.1), [0, 0], grads).flat(), [-0.1, 0.2, -0.5, -0.3, 0.5, -0.15], 1e-6, 1e-9);
    // alpha 0.7, beta 0.1: step 1: -0.1 * 0.7 * g1 = [-0.07, 0.14];
    // step 2: -0.1 * (0.8 * [3, 0.5] - 0.1 * [1, -2]) = -0.1 * [2.3, 0.6] = [-0.23, -0.06].
    expectAllClose(
      updatesFor(optimisticGradientDescent(0.1, { alpha: 0.7, beta: 0.1 }), [0, 0], grads.slice(0, 2)).flat(),
      [-0.07, 0.14, -0.23, -0.06],
      1e-6,
      1e-9,
    );
  });

  it('optimisticAdam applies the optimistic step to Nesterov Adam directions', () => {
    // lr 0.01, alpha = beta = 1, b1 0.9, b2 0.999, eps 1e-8, nesterov; gradients 1, -2.
    // Step 1: m = 0.1, v = 0.001; mHat = 0.9 * 0.1 / (1 - 0.81) + 0.1 * 1 / 0.1 = 1.4736842,
    //         vHat = 1, r1 = 1.4736842 / (1 + 1e-8); u = -0.01 * r1 = -0.0147368.
    // Step 2: m = -0.2 + 0.09 = -0.11, v = 0.004 + 0.000999 = 0.004999;
    //         mHat = 0.9 * -0.11 / 0.271 + 0.1 * -2 / 0.19 = -0.3653137 - 1.0526316 = -1.4179452,
    //         vHat = 0.004999 / 0.001999 = 2.5007504, r2 = -1.4179452 / 1.5813761 = -0.8966527;
    //         u = -0.01 * (2 * r2 - r1) = -0.01 * -3.2669897 = 0.0326699.
    expectAllClose(updatesFor(optimisticAdam(0.01), [0], [[1], [-2]]).flat(), [-0.01473684195789474, 0.03266989686555113], 2e-6, 1e-9);
  });

  it('equal their documented chains, bit for bit', () => {
    expectEqualsChain(
      optimisticGradientDescent(0.01, { alpha: 0.7, beta: 0.1 }),
      chain(scaleByOptimisticGradient({ alpha: 0.7, beta: 0.1 }), scaleByLearningRate(0.01)),
    );
    expectEqualsChain(
      optimisticAdam(0.01, { beta: 0.5, b1: 0.8 }),
      chain(scaleByAdam({ b1: 0.8, nesterov: true }), scaleByOptimisticGradient({ beta: 0.5 }), scaleByLearningRate(0.01)),
    );
  });

  it('leak nothing over 100 trainSteps', () => {
    trainWithoutLeak(optimisticGradientDescent(0.01), 100);
    trainWithoutLeak(optimisticAdam(0.01), 100);
  });

  it('reject bad options with a RangeError naming the option', () => {
    expectRangeError(() => optimisticGradientDescent(0.1, { alpha: -1 }), 'optimisticGradientDescent', 'alpha');
    expectRangeError(() => optimisticGradientDescent(0.1, { beta: Number.NaN }), 'optimisticGradientDescent', 'beta');
    expectRangeError(() => optimisticGradientDescent(-0.1), 'optimisticGradientDescent', 'learningRate');
    expectRangeError(() => optimisticAdam(0.1, { b1: 1 }), 'optimisticAdam', 'b1');
    expectRangeError(() => optimisticAdam(0.1, { beta: -1 }), 'optimisticAdam', 'beta');
    expectRangeError(() => scaleByOptimisticGradient({ alpha: Infinity }), 'scaleByOptimisticGradient', 'alpha');
  });

  it('keep learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    for (const tx of [optimisticGradientDescent(schedule), optimisticAdam(schedule)] as AnyTx[]) {
      const { state, params } = run(tx, 3);
      expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
      disposeReplaced([state, params], []);
    }
  });

  it('converge on the parabola and on Rosenbrock with optax alias_test.py hyperparameters', () => {
    // optimistic_gradient_descent(2e-3, alpha=0.7, beta=0.1); optimistic_adam_v2(2e-3).
    expectConverges(() => optimisticGradientDescent(2e-3, { alpha: 0.7, beta: 0.1 }));
    expectConverges(() => optimisticAdam(2e-3));
  });
});
