import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  applyUpdates,
  chain,
  disposeReplaced,
  scaleByLearningRate,
  scaleBySoap,
  soap,
  treeDispose,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, run, thrown, trainWithoutLeak } from '../helpers.js';
import { expectBadFactorChangesNothing, expectCheckpointRoundTrip } from './preconditioned.js';
import { eighDescending, eye, gramSchmidtQ, map1, map2, mul, tr, zeros, type Matrix } from './dense.js';

// soap against a float64 transcription of the authors' reference step (nikhilvyas/SOAP,
// soap.py, SOAP.step), on a 2x2 and a 3x4 matrix leaf and a vector leaf.

type AnyTx = GradientTransformation<any>;

interface RefOptions {
  lr: number;
  b1?: number;
  b2?: number;
  shampooBeta?: number;
  eps?: number;
  weightDecay?: number;
  precondFrequency?: number;
  precondition1d?: boolean;
  normalizeGrads?: boolean;
  correctBias?: boolean;
}

/**
 * The reference's step for one leaf, as a matrix (a vector is an n x 1 matrix whose second axis
 * is never preconditioned), in the reference's order: the first call only sets up GG and Q;
 * later calls project, step Adam, project back, step the parameters, decay the stepped
 * parameters, then update GG, refresh Q every precondFrequency steps (sorting exp_avg_sq) and
 * re-project exp_avg. Returns the change of the parameters.
 */
function soapLeafRef(o: RefOptions, pre: [boolean, boolean]) {
  const { lr, b1 = 0.95, b2 = 0.95, eps = 1e-8, weightDecay = 0.01, precondFrequency = 10, normalizeGrads = false, correctBias = true } = o;
  const sb = (o.shampooBeta ?? -1) >= 0 ? o.shampooBeta! : b2;
  let step = 0;
  type Factors = Array<Matrix | null>;
  let gg: Factors | null = null;
  let q: Factors | null = null;
  let expAvg: Matrix = [];
  let expAvgSq: Matrix = [];
  const project = (x: Matrix) => {
    let y = x;
    if (q![0]) y = mul(tr(q![0]), y);
    if (q![1]) y = mul(y, q![1]);
    return y;
  };
  const projectBack = (x: Matrix) => {
    let y = x;
    if (q![0]) y = mul(q![0], y);
    if (q![1]) y = mul(y, tr(q![1]));
    return y;
  };
  const updatePreconditioner = (g: Matrix) => {
    if (q !== null) expAvg = projectBack(expAvg);
    const outer: [Matrix, Matrix] = [mul(g, tr(g)), mul(tr(g), g)];
    gg = gg!.map((m, i) => (m === null ? null : map2(m, outer[i], (a, b) => a + (1 - sb) * (b - a))));
    if (q === null) q = gg!.map((m) => (m === null ? null : eighDescending(m)));
    if (step > 0 && step % precondFrequency === 0) {
      q = q!.map((o, i) => {
        const m = gg![i];
        if (m === null || o === null) return null;
        const est = o[0].map((_, c) => o.reduce((s, row, r) => s + row[c] * m[r].reduce((t, x, k) => t + x * o[k][c], 0), 0));
        const order = est.map((_, c) => c).sort((x, y) => est[y] - est[x]);
        expAvgSq = i === 0 ? order.map((r) => expAvgSq[r]) : expAvgSq.map((row) => order.map((c) => row[c]));
        const sorted = o.map((row) => order.map((c) => row[c]));
        return gramSchmidtQ(mul(m, sorted));
      });
    }
    if (step > 0) expAvg = project(expAvg);
  };
  return (g: Matrix, p: Matrix): Matrix => {
    if (gg === null) {
      expAvg = zeros(g.length, g[0].length);
      expAvgSq = zeros(g.length, g[0].length);
      gg = [pre[0] ? zeros(g.length, g.length) : null, pre[1] ? zeros(g[0].length, g[0].length) : null];
      updatePreconditioner(g);
      return zeros(g.length, g[0].length);
    }
    const gp = project(g);
    step++;
    expAvg = map2(expAvg, gp, (m, x) => m * b1 + (1 - b1) * x);
    expAvgSq = map2(expAvgSq, gp, (v, x) => v * b2 + (1 - b2) * x * x);
    const denom = map1(expAvgSq, (v) => Math.sqrt(v) + eps);
    let stepSize = lr;
    if (correctBias) stepSize *= Math.sqrt(1 - b2 ** step) / (1 - b1 ** step);
    let n = projectBack(map2(expAvg, denom, (m, d) => m / d));
    if (normalizeGrads) {
      const rms = Math.sqrt(n.flat().reduce((s, x) => s + x * x, 0) / n.flat().length);
      n = map1(n, (x) => x / (1e-30 + rms));
    }
    let p1 = map2(p, n, (x, y) => x - stepSize * y);
    if (weightDecay > 0) p1 = map1(p1, (x) => x - lr * weightDecay * x);
    updatePreconditioner(g);
    return map2(p1, p, (a, b) => a - b);
  };
}

// A 2-vector: with precondition1d its first factor g g^T has a one-dimensional null space, whose
// eigenvector is unique up to sign (a longer vector's would be any basis of a larger space).
const SHAPES = { a: [2, 2], b: [3, 4], c: [2] } as const;
const P0 = { a: [[0.5, -0.3], [0.2, 0.8]], b: [[0.1, -0.2, 0.3, 0.4], [-0.5, 0.6, 0.7, -0.8], [0.9, 0.05, -0.15, 0.25]], c: [[0.3], [-0.6]] };
/** The gradient of leaf `leaf` at step k (0-based). */
const gradOf = (leaf: 'a' | 'b' | 'c', k: number): Matrix => {
  const [n, m] = leaf === 'c' ? [2, 1] : SHAPES[leaf];
  const salt = { a: 0.3, b: 1.1, c: 2.3 }[leaf];
  // sin of a large phase with products of the indices: values that look random, so the matrices
  // have full rank (sin(a_i + b_j) alone would give rank 2).
  return Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => 1.5 * Math.sin(12.9898 * (i + 1) * (j + 2) + 78.233 * (j + 1) + 37.719 * (k + 1) * (i + 1) + salt)));
};
const toTree = (x: Record<'a' | 'b' | 'c', Matrix>): Params => ({ a: tf.tensor2d(x.a), b: tf.tensor2d(x.b), c: tf.tensor1d(x.c.map((r) => r[0])) });

/** `steps` updates of `tx` and of the reference on the three leaves, compared. */
function compare(tx: AnyTx, o: RefOptions, steps: number, rtol: number, atol: number): void {
  const refs = { a: soapLeafRef(o, [true, true]), b: soapLeafRef(o, [true, true]), c: soapLeafRef(o, [!!o.precondition1d, false]) };
  let params = toTree(P0);
  let state = tx.init(params);
  const p = { a: P0.a.map((r) => r.slice()), b: P0.b.map((r) => r.slice()), c: P0.c.map((r) => r.slice()) };
  for (let k = 0; k < steps; k++) {
    const g = { a: gradOf('a', k), b: gradOf('b', k), c: gradOf('c', k) };
    const grads = toTree(g);
    const [u, next] = tx.update(grads, state, params);
    const expected = (['a', 'b', 'c'] as const).flatMap((leaf) => {
      const d = refs[leaf](g[leaf], p[leaf]);
      p[leaf] = map2(p[leaf], d, (x, y) => x + y);
      return d.flat();
    });
    const got = flat(u);
    try {
      expectAllClose(got, expected, rtol, atol);
    } catch (error) {
      throw new Error(`step ${k + 1}: ${(error as Error).message}`);
    }
    const newParams = applyUpdates(params, u);
    disposeReplaced([params, state, grads, u], [newParams, next]);
    params = newParams;
    state = next;
  }
  treeDispose([params, state]);
}

describe('soap', () => {
  it('equals its documented chain, bit for bit, over 5 steps (weight decay from the second update)', () => {
    const o = { weightDecay: 0.05, precondFrequency: 2 };
    const a = run(soap(0.01, o), 5);
    const b = run(chain(scaleBySoap({ precondFrequency: 2 }), addDecayedWeights((c: number) => (c === 0 ? 0 : 0.05)), scaleByLearningRate(0.01)), 5);
    for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expect(a.updates[0].every((x) => x === 0)).toBe(true);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it.each([
    ['the defaults (no weight decay)', { lr: 3e-3, weightDecay: 0 }],
    ['precondFrequency 2: two refreshes by QR, exp_avg_sq re-sorted', { lr: 0.01, weightDecay: 0, precondFrequency: 2 }],
    ['shampooBeta 0.8, b1 0.9, b2 0.99, no bias correction', { lr: 0.02, weightDecay: 0, precondFrequency: 3, shampooBeta: 0.8, b1: 0.9, b2: 0.99, correctBias: false }],
    ['precondition1d and normalizeGrads', { lr: 0.01, weightDecay: 0, precondFrequency: 2, precondition1d: true, normalizeGrads: true }],
  ] as Array<[string, RefOptions]>)('follows the reference over 5 steps: %s', (_name, o) => {
    const { lr, ...options } = o;
    // float32 projections: elements that nearly cancel are off by up to 1e-4 of the step size.
    compare(soap(lr, options), o, 5, 2e-4, 1e-4 * lr);
  });

  it("differs from the reference's weight decay of the stepped parameters by lr^2 wd |N| only", () => {
    // The reference decays p - lr s N; the chain decays p: at lr 0.01, wd 0.1 the two differ by
    // lr^2 wd |s N| <= 2e-5 (|s N| < 2 here); the decay itself, lr wd p ~ 5e-4, is far outside that.
    compare(soap(0.01, { weightDecay: 0.1, precondFrequency: 2 }), { lr: 0.01, weightDecay: 0.1, precondFrequency: 2 }, 5, 2e-4, 2e-5);
    expect(() => compare(soap(0.01, { weightDecay: 0, precondFrequency: 2 }), { lr: 0.01, weightDecay: 0.1, precondFrequency: 2 }, 3, 2e-4, 2e-5)).toThrow(/step 2/);
  });

  it('leaks nothing over 100 trainSteps (eigenbases refreshed ten times)', () => {
    trainWithoutLeak(soap(0.01), 100);
    trainWithoutLeak(soap(0.01, { precondition1d: true, normalizeGrads: true, precondFrequency: 7, maxPrecondDim: 2, mergeDims: true }), 100);
  });

  it.each([
    ['b1', 1],
    ['b2', -0.1],
    ['shampooBeta', 1],
    ['eps', -1],
    ['weightDecay', -1],
    ['precondFrequency', 0],
    ['precondFrequency', 2.5],
    ['maxPrecondDim', 0],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => soap(0.01, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`'${option}'`);
  });

  it('rejects a flag that is not a boolean and an unknown option', () => {
    expect(thrown(() => soap(0.01, { mergeDims: 1 as never }))).toBeInstanceOf(TypeError);
    expect(thrown(() => soap(0.01, { precondition_1d: true } as never)).message).toMatch(/precondition_1d/);
  });
  it('round-trips a checkpoint: the loaded state continues bit for bit', () => {
    expectCheckpointRoundTrip(() => soap(0.01, { precondFrequency: 2 }), 3, 4);
  });

  it('a step given a factor of the wrong shape throws, naming its path, and changes nothing', () => {
    expectBadFactorChangesNothing(() => soap(0.01, { precondFrequency: 2 }), (s) => [{ ...s[0], q: { ...s[0].q, layer: { ...s[0].q.layer, kernel: [tf.zeros([3, 3]), s[0].q.layer.kernel[1]] } } }, s[1], s[2]], /state\.q\.layer\.kernel must be an array/);
  });
});
