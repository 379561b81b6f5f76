import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  chain,
  disposeReplaced,
  getHyperparam,
  polyakSgd,
  scaleByLearningRate,
  scaleByPolyak,
  type GradientTransformation,
} from '../../src/index.js';
import {
  expectAllClose,
  expectConverges,
  expectEqualsChain,
  expectRangeError,
  failsCleanly,
  run,
  trainWithoutLeak,
  updatesFor,
} from '../helpers.js';

type AnyTx = GradientTransformation<any>;

describe('polyakSgd', () => {
  it('steps by min((value - fMin) / |g|^2, maxLearningRate)', () => {
    // f(x) = sum(x^2) from x = [1, 2, 3] (optax's docstring example): f = 14, g = [2, 4, 6],
    // |g|^2 = 56, step = min(14 / 56, 1) = 0.25, u = [-0.5, -1, -1.5]; then x = [0.5, 1, 1.5],
    // f = 3.5, g = [1, 2, 3], |g|^2 = 14, step 0.25 again, u = [-0.25, -0.5, -0.75].
    const x0 = [1, 2, 3];
    const got = updatesFor(polyakSgd(), x0, [[2, 4, 6], [1, 2, 3]], (k) => ({ value: k === 0 ? 14 : 3.5 }));
    expectAllClose(got.flat(), [-0.5, -1, -1.5, -0.25, -0.5, -0.75], 1e-6);
    // maxLearningRate 0.1 caps the step: u = -0.1 * g. scaling 0.5 scales g first, as optax's
    // code: step = min(14 / (0.25 * 56), 1) = 1, u = -0.5 * g (test/optimizers/polyak-sgd.test.ts).
    expectAllClose(updatesFor(polyakSgd(0.1), x0, [[2, 4, 6]], () => ({ value: 14 }))[0], [-0.2, -0.4, -0.6], 1e-6);
    expectAllClose(updatesFor(polyakSgd(1, { scaling: 0.5 }), x0, [[2, 4, 6]], () => ({ value: 14 }))[0], [-1, -2, -3], 1e-6);
    // fMin 7, eps 8: step = (14 - 7) / (56 + 8) = 0.109375.
    expectAllClose(
      updatesFor(polyakSgd(1, { fMin: 7, eps: 8 }), x0, [[2, 4, 6]], () => ({ value: 14 }))[0],
      [-0.21875, -0.4375, -0.65625],
      1e-6,
    );
  });

  it("'sps+' clips a negative gap to 0; 'sps' steps uphill; a zero gradient gives a zero step", () => {
    // value 1 below fMin 2: gap -1, |g|^2 = 4: 'sps' step = -0.25 (u = +0.25 * g), 'sps+' 0.
    expectAllClose(updatesFor(polyakSgd(1, { fMin: 2 }), [0], [[2]], () => ({ value: 1 }))[0], [0.5], 1e-6);
    expectAllClose(updatesFor(polyakSgd(1, { fMin: 2, variant: 'sps+' }), [0], [[2]], () => ({ value: 1 }))[0], [-0], 0, 0);
    expectAllClose(updatesFor(scaleByPolyak(), [0, 0], [[0, 0]], () => ({ value: 5 }))[0], [0, 0], 0, 0);
  });

  it('reads a scalar tensor as extra.value, and names the field when it is missing', () => {
    const v = tf.scalar(14);
    expectAllClose(updatesFor(polyakSgd(), [1, 2, 3], [[2, 4, 6]], () => ({ value: v }))[0], [-0.5, -1, -1.5], 1e-6);
    v.dispose();
    const tx = polyakSgd();
    const p = tf.tensor1d([1]);
    const state = tx.init(p);
    const e = failsCleanly(() => tx.update(p, state, p));
    expect(e.message).toContain('extra.value');
    const e2 = failsCleanly(() => tx.update(p, state, p, {}));
    expect(e2.message).toContain('extra.value');
    p.dispose();
  });

  it('equals its documented chain, bit for bit', () => {
    const withValue = (tx: AnyTx): AnyTx => ({ init: tx.init, update: (u, s, p) => tx.update(u, s, p, { value: 3 }) });
    expectEqualsChain(
      withValue(polyakSgd(0.5, { scaling: 0.1, fMin: 1, eps: 1e-3, variant: 'sps+' })),
      withValue(chain(scaleByLearningRate(0.1), scaleByPolyak({ maxLearningRate: 0.5, fMin: 1, eps: 1e-3, variant: 'sps+' }))),
    );
  });

  it('leaks nothing over 100 trainSteps', () => {
    const tx = polyakSgd(0.1);
    trainWithoutLeak({ init: tx.init, update: (u, s, p) => tx.update(u, s, p, { value: 1 }) }, 100);
  });

  it('rejects bad options, naming the option', () => {
    expectRangeError(() => polyakSgd(-1), 'polyakSgd', 'maxLearningRate');
    expectRangeError(() => polyakSgd(1, { eps: -1 }), 'polyakSgd', 'eps');
    expectRangeError(() => polyakSgd(1, { fMin: Number.NaN }), 'polyakSgd', 'fMin');
    expectRangeError(() => polyakSgd(1, { scaling: -1 }), 'polyakSgd', 'scaling');
    expectRangeError(() => polyakSgd(1, { variant: 'sgd' as never }), 'polyakSgd', 'variant');
    expectRangeError(() => scaleByPolyak({ maxLearningRate: Infinity }), 'scaleByPolyak', 'maxLearningRate');
  });

  it('keeps the scaling schedule(k) after k updates (under learningRate, as scaleByLearningRate)', () => {
    const schedule = (c: number) => 1 / (c + 1);
    const tx = polyakSgd(1, { scaling: schedule });
    const { state, params } = run({ init: tx.init, update: (u, s, p) => tx.update(u, s, p, { value: 2 }) }, 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (maxLearningRate 1)', () => {
    expectConverges(() => polyakSgd(1), true);
  });
});
