import { describe, expect, it } from 'vitest';
import { adam, identity, scale, scaleByLearningRate, scaleBySchedule, sgd } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, gradValues32, makeGrads, makeParams, run } from '../helpers.js';

// References below are written per element in float64 straight from the formulas in the doc
// comments, independently of the tensor code; gradients are the float32 values fed in.

describe('identity, scale, learning rate, schedule', () => {
  it('identity returns the updates unchanged and an empty state', () => {
    const g = makeGrads(0);
    const tx = identity();
    const [u, s] = tx.update(g, tx.init(makeParams()));
    expect(u).toBe(g);
    expect(s).toEqual({});
  });

  it('scale multiplies by a constant', () => {
    const { updates } = run(scale(-2.5), 2);
    expectAllClose(updates[0], gradValues32(0).map((g) => -2.5 * g), 1e-7);
    expectAllClose(updates[1], gradValues32(1).map((g) => -2.5 * g), 1e-7);
  });

  it('scaleByLearningRate flips the sign by default and counts steps', () => {
    const { updates, state } = run(scaleByLearningRate(0.1), 2);
    expectAllClose(updates[1], gradValues32(1).map((g) => -0.1 * g), 1e-7);
    // The state holds the rate the next update uses, as well as the count.
    expect(state).toEqual({ count: 2, learningRate: 0.1 });
    const { updates: plus } = run(scaleByLearningRate(0.1, { flipSign: false }), 1);
    expectAllClose(plus[0], gradValues32(0).map((g) => 0.1 * g), 1e-7);
  });

  it('a schedule sees count = updates done before this one (0, 1, 2)', () => {
    const seen: number[] = [];
    const schedule = (c: number) => {
      seen.push(c);
      return 1 / (c + 1);
    };
    const { updates } = run(scaleBySchedule(schedule), 3);
    expect(seen).toEqual([0, 1, 2]);
    expectAllClose(updates[2], gradValues32(2).map((g) => g / 3), 1e-7);
    const lr = run(scaleByLearningRate((c) => 0.5 * (c + 1)), 2).updates;
    expectAllClose(lr[1], gradValues32(1).map((g) => -1.0 * g), 1e-7);
  });
});

describe('learning rate as a schedule', () => {
  it('adam with a constant schedule equals adam with the number, bit for bit', () => {
    const a = run(adam(0.01), 4);
    const b = run(adam(() => 0.01), 4);
    for (let k = 0; k < 4; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
  });

  it('sgd with a schedule uses lr(count) at each step', () => {
    const { updates } = run(sgd((c) => 0.1 / (c + 1)), 3);
    for (let k = 0; k < 3; k++) expectAllClose(updates[k], gradValues32(k).map((g) => (-0.1 / (k + 1)) * g), 1e-6);
  });
});
