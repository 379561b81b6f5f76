import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  chain,
  kernelPath,
  lion,
  scaleByLearningRate,
  scaleByLion,
  trainStep,
  treeDispose,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, inMode, thrown, trainWithoutLeak, vectorSteps } from '../helpers.js';

// Lion's `mode` and `smoothBeta` (optax's scale_by_lion(mode=, smooth_beta=)): the direction is
// sign(x) ('hard'), tanh(smoothBeta * x) ('smooth') or x clipped to [-1, 1] ('refined'), with
// x = (1 - b1) g + b1 mu. Every mode is an element step, so lion stays fused.

// optax's transform_test.py (test_lion_modes_variants): b1 = 0.5, b2 = 0.9, smooth_beta = 2, one
// update of [0.2, -2, 0.5, -0.8] from mu = 0, so x = 0.5 g = [0.1, -1, 0.25, -0.4].
const G1 = [0.2, -2.0, 0.5, -0.8];
// A second gradient: mu = 0.1 G1 = [0.02, -0.2, 0.05, -0.08], so x = 0.5 G2 + 0.5 mu =
// [-0.29, 0.4, 1.525, 0.01].
const G2 = [-0.6, 1.0, 3.0, 0.1];
const X2 = [-0.29, 0.4, 1.525, 0.01];

describe('scaleByLion modes', () => {
  const o = { b1: 0.5, b2: 0.9 };

  it("gives optax's test values on the first update and the formulas' on the second", () => {
    const hard = vectorSteps(scaleByLion(o), [0, 0, 0, 0], [G1, G2]).updates;
    expect(hard[0]).toEqual([1, -1, 1, -1]);
    expect(hard[1]).toEqual([-1, 1, 1, 1]);

    const smooth = vectorSteps(scaleByLion({ ...o, mode: 'smooth', smoothBeta: 2 }), [0, 0, 0, 0], [G1, G2]).updates;
    // tanh(2 x) = tanh([0.2, -2, 0.5, -0.8]).
    expectAllClose(smooth[0], [0.19737532, -0.96402758, 0.46211716, -0.66403677], 1e-6);
    expectAllClose(smooth[1], X2.map((x) => Math.tanh(2 * x)), 1e-6);
    // [-0.5227, 0.6640, 0.9955, 0.0200]: |u| < 1 where x is small.
    expectAllClose(smooth[1], [-0.52266543, 0.66403677, 0.9955243, 0.019997334], 1e-6);

    const refined = vectorSteps(scaleByLion({ ...o, mode: 'refined' }), [0, 0, 0, 0], [G1, G2]).updates;
    // x where |x| < 1, sign(x) elsewhere: -1 is at |x| = 1 exactly.
    expectAllClose(refined[0], [0.1, -1, 0.25, -0.4], 1e-6);
    expectAllClose(refined[1], [-0.29, 0.4, 1, 0.01], 1e-6);
  });

  it("defaults to 'hard' with smoothBeta 1, and keeps the momentum the same in every mode", () => {
    const base = vectorSteps(scaleByLion(o), [0, 0, 0, 0], [G1, G2]);
    expectBitwiseEqual(vectorSteps(scaleByLion({ ...o, mode: 'hard' }), [0, 0, 0, 0], [G1, G2]).updates, base.updates);
    expectAllClose(
      vectorSteps(scaleByLion({ ...o, mode: 'smooth' }), [0, 0, 0, 0], [G1]).updates[0],
      [0.1, -1, 0.25, -0.4].map(Math.tanh),
      1e-6,
    );
    for (const mode of ['smooth', 'refined'] as const) {
      expectBitwiseEqual(vectorSteps(scaleByLion({ ...o, mode }), [0, 0, 0, 0], [G1, G2]).state, base.state);
    }
  });

  it('computes tanh within 7 float32 ulps, exactly ±1 for large inputs, NaN for NaN', () => {
    // b1 = 0: the direction is tanh(g) itself; lion(1) negates it (fused).
    const xs = [
      0, 1e-30, 1e-5, -3.9e-4, 4e-4, 0.01, -0.1, 0.3, 0.5, -0.75, 1, 1.5, -2, 2.5, 3, -4, 5, 5.74, 6.5, -7.5, 7.9, 8, -9,
      20, 1e4, 3e38, Infinity, -Infinity, NaN,
    ];
    const tx = lion(1, { b1: 0, mode: 'smooth', weightDecay: 0 });
    const [got] = vectorSteps(tx, xs.map(() => 0), [xs]).updates;
    got.forEach((u, i) => {
      const x = Math.fround(xs[i]);
      const want = Math.tanh(x);
      if (Number.isNaN(want)) {
        expect(u, `tanh(${x})`).toBeNaN();
        return;
      }
      if (Math.abs(x) >= 7.9053) expect(-u, `tanh(${x})`).toBe(Math.sign(x));
      expect(Math.abs(u)).toBeLessThanOrEqual(1);
      // 7 ulps of the result (2^-23 relative, one ulp at most).
      expect(Math.abs(-u - want), `tanh(${x})`).toBeLessThanOrEqual(7 * 2 ** -23 * Math.abs(want) + 1e-45);
    });
  });

  it('rejects bad modes and slopes, naming the option', () => {
    const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
      [() => scaleByLion({ mode: 'soft' as never }), RangeError, /^scaleByLion: option 'mode' must be 'hard', 'smooth' or 'refined', got "soft"$/],
      [() => lion(0.1, { mode: 3 as never }), TypeError, /^lion: option 'mode' must be 'hard', 'smooth' or 'refined', got 3$/],
      [() => scaleByLion({ mode: 'smooth', smoothBeta: 0 }), RangeError, /^scaleByLion: option 'smoothBeta' must be a finite number > 0, got 0$/],
      [() => lion(0.1, { mode: 'smooth', smoothBeta: NaN }), RangeError, /^lion: option 'smoothBeta' must be a finite number > 0, got NaN$/],
      [() => scaleByLion({ mode: 'smooth', smoothBeta: '2' as never }), TypeError, /^scaleByLion: option 'smoothBeta' must be a number, got "2"$/],
      // optax ignores smooth_beta in the other modes; here it is a mistake worth naming.
      [() => scaleByLion({ smoothBeta: 2 }), TypeError, /^scaleByLion: option 'smoothBeta' needs mode: 'smooth', got mode "hard"$/],
      [() => lion(0.1, { mode: 'refined', smoothBeta: 2 }), TypeError, /^lion: option 'smoothBeta' needs mode: 'smooth', got mode "refined"$/],
      [() => scaleByLion({ smooth_beta: 2 } as never), TypeError, /^scaleByLion: unknown option 'smooth_beta' \(known options: b1, b2, mode, smoothBeta, stateDtype\)$/],
      [() => lion(0.1, { modes: 'hard' } as never), TypeError, /^lion: unknown option 'modes' \(known options: b1, b2, mode, smoothBeta, stateDtype, weightDecay, mask\)$/],
    ];
    for (const [fn, type, message] of cases) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(type);
      expect(e.message).toMatch(message);
    }
  });
});

describe('lion with a mode', () => {
  const grads = [G1, G2, [0.3, -0.1, -2, 0.05], [1e-3, 5, -0.2, 0]];

  it('equals its chain, and runs fused: the kernel equals the composite path to the bit', () => {
    for (const options of [{ mode: 'smooth', smoothBeta: 3 }, { mode: 'refined' }, { mode: 'hard' }] as const) {
      const make = () => lion(0.05, { ...options, b1: 0.8, b2: 0.95, weightDecay: 0.1 });
      expect(inMode('auto', () => kernelPath(make())), options.mode).not.toBe('composite');
      expect(inMode('composite', () => kernelPath(make()))).toBe('composite');
      const fused = inMode('auto', () => vectorSteps(make(), [1, -2, 0.5, 3], grads));
      const composite = inMode('composite', () => vectorSteps(make(), [1, -2, 0.5, 3], grads));
      expectBitwiseEqual(fused.updates, composite.updates);
      expectBitwiseEqual(fused.state, composite.state);
      const chained = vectorSteps(
        chain(scaleByLion({ ...options, b1: 0.8, b2: 0.95 }), addDecayedWeights(0.1), scaleByLearningRate(0.05)),
        [1, -2, 0.5, 3],
        grads,
      );
      expectBitwiseEqual(fused.updates, chained.updates);
    }
  });

  it('updates in place through trainStep as the composite path does', () => {
    const run = () => {
      const tx = lion(0.05, { mode: 'smooth', smoothBeta: 0.5 });
      let params: Params = { w: tf.tensor2d([[1, -2], [0.5, 3]]) };
      let state = tx.init(params);
      for (const g of grads) ({ params, state } = trainStep(tx, params, state, { w: tf.tensor2d(g, [2, 2]) }));
      const out = flat([params, state]);
      treeDispose([params, state]);
      return out;
    };
    expectBitwiseEqual(inMode('auto', run), inMode('composite', run));
  });

  it('leaks nothing over 100 trainSteps in each mode', () => {
    trainWithoutLeak(lion(0.01, { mode: 'smooth', smoothBeta: 2 }), 100);
    trainWithoutLeak(lion(0.01, { mode: 'refined' }), 100);
  });
});
