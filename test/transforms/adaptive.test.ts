import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { scaleByAdam, scaleByRms, scaleByRss, scaleByStddev } from '../../src/index.js';
import { expectAllClose, flat, gradValues32, run } from '../helpers.js';

// References below are written per element in float64 straight from the formulas in the doc
// comments, independently of the tensor code; gradients are the float32 values fed in.

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
