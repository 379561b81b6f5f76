import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  chain,
  clip,
  clipByGlobalNorm,
  identity,
  scale,
  scaleByAdam,
  scaleByLearningRate,
  scaleByRms,
  scaleByRss,
  scaleBySchedule,
  scaleByStddev,
  trace,
} from '../../src/index.js';
import { expectAllClose, flat, gradValues32, makeGrads, makeParams, PARAM_VALUES, run } from '../helpers.js';

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

describe('trace (momentum)', () => {
  it('accumulates t = g + decay * t, two steps by hand', () => {
    const g = makeGrads(0);
    const tx = trace({ decay: 0.9 });
    const s0 = tx.init(makeParams());
    const [u1, s1] = tx.update(g, s0);
    const [u2, s2] = tx.update(g, s1);
    const g0 = gradValues32(0);
    expectAllClose(flat(u1), g0);
    expectAllClose(flat(u2), g0.map((x) => 1.9 * x));
    expectAllClose(flat(s2.trace), g0.map((x) => 1.9 * x));
  });

  it('nesterov returns g + decay * t over three steps', () => {
    const { updates } = run(trace({ decay: 0.5, nesterov: true }), 3);
    let t = new Array(10).fill(0);
    for (let k = 0; k < 3; k++) {
      const g = gradValues32(k);
      t = t.map((tk, i) => g[i] + 0.5 * tk);
      expectAllClose(updates[k], g.map((gi, i) => gi + 0.5 * t[i]));
    }
  });
});

function adamReference(steps: number, { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, nesterov = false } = {}) {
  let m = new Array(10).fill(0);
  let v = new Array(10).fill(0);
  const out: number[][] = [];
  for (let k = 0; k < steps; k++) {
    const g = gradValues32(k);
    const t = k + 1;
    m = m.map((mi, i) => (1 - b1) * g[i] + b1 * mi);
    v = v.map((vi, i) => (1 - b2) * g[i] * g[i] + b2 * vi);
    out.push(
      g.map((gi, i) => {
        const mHat = nesterov
          ? (b1 * m[i]) / (1 - b1 ** (t + 1)) + ((1 - b1) * gi) / (1 - b1 ** t)
          : m[i] / (1 - b1 ** t);
        const vHat = v[i] / (1 - b2 ** t);
        return mHat / (Math.sqrt(vHat + epsRoot) + eps);
      }),
    );
  }
  return { out, m, v };
}

describe('scaleByAdam', () => {
  it('first step is g / (|g| + eps): a unit step in the direction of g', () => {
    const { updates } = run(scaleByAdam(), 1);
    expectAllClose(updates[0], gradValues32(0).map((g) => g / (Math.abs(g) + 1e-8)), 1e-6);
  });

  it.each([
    ['defaults', {}],
    ['nesterov', { nesterov: true }],
    ['epsRoot and large eps', { eps: 1e-3, epsRoot: 1e-4, b1: 0.8, b2: 0.99 }],
  ])('three steps match the formula (%s)', (_name, options) => {
    const { updates, state } = run(scaleByAdam(options), 3);
    const ref = adamReference(3, options);
    for (let k = 0; k < 3; k++) expectAllClose(updates[k], ref.out[k], 2e-5);
    expect(state.count).toBe(3);
    expectAllClose(flat(state.mu), ref.m, 1e-5);
    expectAllClose(flat(state.nu), ref.v, 1e-5);
  });
});

describe('scaleByRms and scaleByStddev', () => {
  function rmsReference(
    steps: number,
    { decay = 0.9, eps = 1e-8, initialScale = 0, epsInSqrt = true, biasCorrection = false, centered = false } = {},
  ) {
    let mu = new Array(10).fill(0);
    let nu = new Array(10).fill(initialScale);
    const out: number[][] = [];
    for (let k = 0; k < steps; k++) {
      const g = gradValues32(k);
      const bc = biasCorrection ? 1 - decay ** (k + 1) : 1;
      mu = mu.map((m, i) => (1 - decay) * g[i] + decay * m);
      nu = nu.map((n, i) => (1 - decay) * g[i] * g[i] + decay * n);
      out.push(
        g.map((gi, i) => {
          const s = nu[i] / bc - (centered ? (mu[i] / bc) ** 2 : 0);
          return epsInSqrt ? gi / Math.sqrt(s + eps) : gi / (Math.sqrt(s) + eps);
        }),
      );
    }
    return out;
  }

  it('scaleByRms: first step by hand is g / sqrt(0.1 g^2 + eps)', () => {
    const { updates } = run(scaleByRms(), 1);
    expectAllClose(updates[0], gradValues32(0).map((g) => g / Math.sqrt(0.1 * g * g + 1e-8)), 1e-5);
  });

  it.each([
    ['defaults', {}],
    ['eps outside sqrt', { epsInSqrt: false, eps: 1e-3 }],
    ['bias correction and initial scale', { biasCorrection: true, initialScale: 0.5, decay: 0.8 }],
  ])('scaleByRms three steps (%s)', (_name, options) => {
    const { updates } = run(scaleByRms(options), 3);
    const ref = rmsReference(3, options);
    for (let k = 0; k < 3; k++) expectAllClose(updates[k], ref[k], 2e-5);
  });

  it.each([
    ['defaults', {}],
    ['eps outside sqrt', { epsInSqrt: false, eps: 1e-3 }],
    ['bias correction', { biasCorrection: true, initialScale: 1, decay: 0.5 }],
  ])('scaleByStddev three steps (%s)', (_name, options) => {
    const { updates, state } = run(scaleByStddev(options), 3);
    const ref = rmsReference(3, { ...options, centered: true });
    for (let k = 0; k < 3; k++) expectAllClose(updates[k], ref[k], 1e-4);
    expect(state.count).toBe(3);
  });

  it('scaleByRms({ epsInSqrt: false, biasCorrection: true }) equals scaleByAdam({ b1: 0 })', () => {
    const a = run(scaleByRms({ epsInSqrt: false, biasCorrection: true, decay: 0.999 }), 5).updates;
    const b = run(scaleByAdam({ b1: 0 }), 5).updates;
    for (let k = 0; k < 5; k++) expectAllClose(a[k], b[k], 1e-6);
  });
});

describe('scaleByRss (AdaGrad direction)', () => {
  it('two steps by hand: g / sqrt(0.1 + sum g^2 + eps)', () => {
    const { updates } = run(scaleByRss(), 2);
    const g0 = gradValues32(0);
    const g1 = gradValues32(1);
    expectAllClose(updates[0], g0.map((g) => g / Math.sqrt(0.1 + g * g + 1e-7)), 1e-5);
    expectAllClose(updates[1], g1.map((g, i) => g / Math.sqrt(0.1 + g0[i] ** 2 + g * g + 1e-7)), 1e-5);
  });

  it('gives 0 where the accumulator is still zero', () => {
    const tx = scaleByRss({ initialAccumulatorValue: 0 });
    const p = { a: tf.tensor1d([1, 2]) };
    const [u] = tx.update({ a: tf.tensor1d([0, 3]) }, tx.init(p));
    expectAllClose(flat(u), [0, 3 / Math.sqrt(9 + 1e-7)], 1e-6);
  });
});

describe('addDecayedWeights', () => {
  it('adds weightDecay * params', () => {
    const tx = addDecayedWeights(0.1);
    const params = makeParams();
    const [u, s] = tx.update(makeGrads(0), tx.init(params), params);
    expectAllClose(flat(u), gradValues32(0).map((g, i) => g + 0.1 * PARAM_VALUES[i]), 1e-6);
    expect(s).toEqual({ count: 1, weightDecay: 0.1 });
  });

  it('a mask tree, a mask function and a prefix mask select the same leaves', () => {
    const params = makeParams();
    const g = makeGrads(0);
    const expected = gradValues32(0).map((gi, i) => (i >= 3 && i < 9 ? gi + 0.5 * PARAM_VALUES[i] : gi));
    const masks = [
      { layer: { kernel: true, bias: false }, scale: false },
      (p: typeof params) => ({ layer: { kernel: p.layer.kernel.rank > 1, bias: false }, scale: false }),
    ];
    for (const mask of masks) {
      const tx = addDecayedWeights(0.5, { mask: mask as never });
      const [u] = tx.update(g, tx.init(params), params);
      expectAllClose(flat(u), expected, 1e-6);
      // Masked-out leaves are passed through untouched (the same tensor).
      expect((u as typeof g).scale).toBe(g.scale);
    }
    const prefix = addDecayedWeights(0.5, { mask: { layer: true, scale: false } });
    const [u] = prefix.update(g, prefix.init(params), params);
    expectAllClose(flat(u), gradValues32(0).map((gi, i) => (i < 9 ? gi + 0.5 * PARAM_VALUES[i] : gi)), 1e-6);
  });

  it('takes a schedule of the step count', () => {
    const { updates } = run(addDecayedWeights((c) => (c + 1) * 0.1), 2, (k) => makeGrads(k), makeParams());
    expectAllClose(updates[0], gradValues32(0).map((g, i) => g + 0.1 * PARAM_VALUES[i]), 1e-6);
    // Step 2 decays the params after step 1 (params + updates[0]) at rate 0.2.
    const p1 = PARAM_VALUES.map((p, i) => p + updates[0][i]);
    expectAllClose(updates[1], gradValues32(1).map((g, i) => g + 0.2 * p1[i]), 1e-5);
  });
});

describe('clipping', () => {
  it('clip bounds every element', () => {
    const { updates } = run(clip(0.5), 1);
    expectAllClose(updates[0], gradValues32(0).map((g) => Math.min(Math.max(g, -0.5), 0.5)), 0);
  });

  it('clipByGlobalNorm leaves updates with norm <= maxNorm bit-identical', () => {
    const g = makeGrads(0);
    const norm = Math.hypot(...gradValues32(0));
    const tx = clipByGlobalNorm(norm * 1.01);
    const [u] = tx.update(g, tx.init(makeParams()));
    expect(flat(u)).toEqual(flat(g));
  });

  it('clipByGlobalNorm rescales to maxNorm above it', () => {
    const g0 = gradValues32(0);
    const norm = Math.hypot(...g0);
    const { updates } = run(clipByGlobalNorm(1), 1);
    expectAllClose(updates[0], g0.map((g) => g / norm), 1e-6);
    expect(Math.hypot(...updates[0])).toBeCloseTo(1, 5);
  });

  it('clipByGlobalNorm turns a NaN gradient into NaN everywhere (never silently finite)', () => {
    const tx = clipByGlobalNorm(1);
    const g = { a: tf.tensor1d([1, NaN]), b: tf.tensor1d([2]) };
    const [u] = tx.update(g, tx.init(g));
    expect(flat(u).every(Number.isNaN)).toBe(true);
  });
});

describe('chain', () => {
  it('applies transforms in order and keeps their states in an array', () => {
    const tx = chain(scale(2), trace({ decay: 0.5 }), scaleByLearningRate(0.1));
    const { updates, state } = run(tx, 2);
    const g0 = gradValues32(0);
    const g1 = gradValues32(1);
    expectAllClose(updates[0], g0.map((g) => -0.1 * 2 * g), 1e-6);
    expectAllClose(updates[1], g1.map((g, i) => -0.1 * (2 * g + 0.5 * 2 * g0[i])), 1e-6);
    expect(state).toHaveLength(3);
    expect(state[0]).toEqual({});
    expect(state[2]).toEqual({ count: 2, learningRate: 0.1 });
    expectAllClose(flat(state[1].trace), g1.map((g, i) => 2 * g + g0[i]), 1e-6);
  });

  it('an empty chain is the identity', () => {
    const g = makeGrads(0);
    const tx = chain();
    const [u, s] = tx.update(g, tx.init(makeParams()));
    expect(u).toBe(g);
    expect(s).toEqual([]);
  });
});
