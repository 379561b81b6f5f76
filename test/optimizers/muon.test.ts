import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  adamw,
  chain,
  disposeReplaced,
  getHyperparam,
  masked,
  muon,
  orthogonalizeViaNewtonSchulz,
  scaleByLearningRate,
  scaleByMuon,
  scaleByShape,
  trainStep,
  treeDispose,
  treeMap,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, gradValues32, run, thrown, trainWithoutLeak } from '../helpers.js';

// muon: Newton–Schulz orthogonalised momentum for the matrices, AdamW for the other leaves.

type AnyTx = GradientTransformation<any>;
type Matrix = number[][];

const STANDARD: [number, number, number] = [3.4445, -4.775, 2.0315];

const mul = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
const transpose = (a: Matrix): Matrix => a[0].map((_, j) => a.map((row) => row[j]));
const lin = (p: number, a: Matrix, q: number, b: Matrix): Matrix => a.map((row, i) => row.map((x, j) => p * x + q * b[i][j]));

/**
 * Newton–Schulz in float64, from Jordan's description: transpose if tall, X /= ||X||_F + eps,
 * then five times A = X X^T, X = a X + (b A + c A^2) X.
 */
function newtonSchulzRef(g: Matrix, [a, b, c] = STANDARD, steps = 5, eps = 1e-8): Matrix {
  const tall = g.length > g[0].length;
  let x = tall ? transpose(g) : g;
  const norm = Math.sqrt(x.flat().reduce((s, v) => s + v * v, 0));
  x = x.map((row) => row.map((v) => v / (norm + eps)));
  for (let k = 0; k < steps; k++) {
    const gram = mul(x, transpose(x));
    const poly = lin(b, gram, c, mul(gram, gram));
    x = lin(a, x, 1, mul(poly, x));
  }
  return tall ? transpose(x) : x;
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (float64). */
function symmetricEigenvalues(m: Matrix): number[] {
  const a = m.map((row) => row.slice());
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cos = 1 / Math.sqrt(t * t + 1);
        const sin = t * cos;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = cos * akp - sin * akq;
          a[k][q] = sin * akp + cos * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = cos * apk - sin * aqk;
          a[q][k] = sin * apk + cos * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]);
}

/** Singular values of a matrix: square roots of the eigenvalues of its (small) Gram matrix. */
function singularValues(x: Matrix): number[] {
  const gram = x.length <= x[0].length ? mul(x, transpose(x)) : mul(transpose(x), x);
  return symmetricEigenvalues(gram).map((e) => Math.sqrt(Math.max(e, 0))).sort((p, q) => p - q);
}

/**
 * The float64 reference of `muon(lr)` on the test tree: the kernel (2x3, fanIn 2, fanOut 3) gets
 * m = 0.95 m + 0.05 g; muHat = 0.95 m / (1 - 0.95^(t+1)) + 0.05 g / (1 - 0.95^t);
 * u = -lr sqrt(max(1, 3/2)) NS(muHat). The bias and the scalar get AdamW with nesterov (b1 0.9,
 * b2 0.999, eps 1e-8, no decay): muHat = 0.9 m / (1 - 0.9^(t+1)) + 0.1 g / (1 - 0.9^t),
 * u = -lr muHat / (sqrt(v / (1 - 0.999^t)) + 1e-8).
 */
function muonRef(lr: number) {
  let mk: number[] = new Array(6).fill(0);
  let ma: number[] = new Array(4).fill(0);
  let va: number[] = new Array(4).fill(0);
  let t = 0;
  return (g: number[]): number[] => {
    t++;
    const gk = g.slice(3, 9);
    const ga = [...g.slice(0, 3), g[9]];
    mk = mk.map((m, i) => 0.95 * m + 0.05 * gk[i]);
    const hat = mk.map((m, i) => (0.95 * m) / (1 - 0.95 ** (t + 1)) + (0.05 * gk[i]) / (1 - 0.95 ** t));
    const o = newtonSchulzRef([hat.slice(0, 3), hat.slice(3, 6)]).flat();
    const uk = o.map((x) => -lr * Math.sqrt(1.5) * x);
    ma = ma.map((m, i) => 0.9 * m + 0.1 * ga[i]);
    va = va.map((v, i) => 0.999 * v + 0.001 * ga[i] ** 2);
    const ua = ma.map((m, i) => {
      const mHat = (0.9 * m) / (1 - 0.9 ** (t + 1)) + (0.1 * ga[i]) / (1 - 0.9 ** t);
      return (-lr * mHat) / (Math.sqrt(va[i] / (1 - 0.999 ** t)) + 1e-8);
    });
    return [...ua.slice(0, 3), ...uk, ua[3]];
  };
}

const isMatrix = (p: Params) => treeMap((x) => x.rank === 2, p);
const notMatrix = (p: Params) => treeMap((x) => x.rank !== 2, p);

/** Runs `steps` of `tx` from `x0` with gradients computed in float64 from the current params. */
function minimize(tx: AnyTx, x0: Matrix, grad: (x: number[]) => number[], steps: number): number[] {
  const shape: [number, number] = [x0.length, x0[0].length];
  let params: Params = { w: tf.tensor2d(x0) };
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) {
    const x: number[] = Array.from((params as { w: tf.Tensor }).w.dataSync());
    ({ params, state } = trainStep(tx, params, state, { w: tf.tensor2d(grad(x), shape) }));
  }
  const result = flat(params);
  disposeReplaced([params, state], []);
  return result;
}

describe('muon', () => {
  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const o = { weightDecay: 0.01, consistentRms: 0.2, adamWeightDecay: 0.02, adamLearningRate: 0.003 };
    const a = run(muon(0.01, o), 5);
    const b = run(
      chain(
        masked(chain(scaleByMuon(), scaleByShape({ consistentRms: 0.2 }), addDecayedWeights(0.01), scaleByLearningRate(0.01)), isMatrix),
        masked(adamw(0.003, { weightDecay: 0.02, nesterov: true }), notMatrix),
      ),
      5,
    );
    for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expectBitwiseEqual(a.state, b.state);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('matches the float64 formula for three steps: Newton–Schulz for the kernel, AdamW for the rest', () => {
    const lr = 0.01;
    const { updates, params, state } = run(muon(lr), 3);
    const ref = muonRef(lr);
    for (let k = 0; k < 3; k++) expectAllClose(updates[k], ref(gradValues32(k)), 2e-4, 1e-8);
    treeDispose([params, state]);
  });

  it('orthogonalises: the update of a random matrix has singular values near 1, those of the matrix spread 30-fold', () => {
    // A 5x8 matrix with columns scaled 1..30: its singular values spread widely; after five
    // Newton–Schulz steps with the standard coefficients they lie in about [0.7, 1.2].
    const g = tf.tidy(() => tf.mul(tf.randomNormal([8, 5], 0, 1, 'float32', 7), tf.tensor1d([1, 3, 10, 20, 30])));
    const x = Array.from({ length: 8 }, (_, i) => Array.from(g.dataSync().slice(5 * i, 5 * i + 5)));
    const before = singularValues(x);
    expect(before[4] / before[0]).toBeGreaterThan(10);
    const o = orthogonalizeViaNewtonSchulz(g as tf.Tensor2D, [STANDARD, STANDARD, STANDARD, STANDARD, STANDARD]);
    const y = Array.from({ length: 8 }, (_, i) => Array.from(o.dataSync().slice(5 * i, 5 * i + 5)));
    const after = singularValues(y);
    for (const s of after) {
      expect(s).toBeGreaterThan(0.6);
      expect(s).toBeLessThan(1.25);
    }
    // And the float64 iteration gives the same matrix.
    expectAllClose(y.flat(), newtonSchulzRef(x).flat(), 1e-3, 1e-5);
    treeDispose([g, o]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(muon(0.01, { weightDecay: 0.01 }), 100);
    trainWithoutLeak(muon(0.01, { adaptive: true, nsCoeffs: 'dion', nesterov: false }), 100);
  });

  it.each([
    ['beta', 1],
    ['nsSteps', 0],
    ['eps', -1],
    ['weightDecay', -1],
    ['adamB1', 1],
    ['adamB2', -0.5],
    ['adamEpsRoot', -1],
    ['adamWeightDecay', -1],
    ['consistentRms', -1],
    ['nsCoeffs', 'quintic'],
    ['nsCoeffs', [[1, 2, 3], [1, 2, 3]]],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const options = option === 'nsCoeffs' && Array.isArray(value) ? { nsCoeffs: value, nsSteps: 1 } : { [option]: value };
    const error = thrown(() => muon(0.01, options));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`muon: option '${option}'`);
  });

  it('scaleByMuon rejects a leaf that is not a matrix, naming it', () => {
    const params = { w: tf.zeros([2, 2]), b: tf.zeros([2]) };
    expect(thrown(() => scaleByMuon().init(params)).message).toMatch(/params\.b has shape \[2\]/);
    treeDispose(params);
  });

  it('converges on a matrix parabola (optax contrib setup: from 0 to [[3, -2], [1, 4]])', () => {
    const target = [3, -2, 1, 4];
    // Orthogonalised steps do not shrink with the gradient: a decaying learning rate lands them.
    const x = minimize(muon((k) => 0.05 / (1 + k / 200)), [[0, 0], [0, 0]], (v) => v.map((xi, i) => 2 * (xi - target[i])), 4000);
    expectAllClose(x, target, 3e-2, 3e-2);
  });

  it('converges on Rosenbrock with the point as a 1x2 matrix', () => {
    const grad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];
    const x = minimize(muon((k) => 0.01 / (1 + k / 500)), [[0, 0]], grad, 8000);
    expectAllClose(x, [1, 1], 3e-2, 3e-2);
  });

  it('keeps learningRate = schedule(k) in the state after k updates, in both parts', () => {
    const schedule = (k: number) => 0.01 / (1 + k);
    for (const k of [0, 1, 3]) {
      const r = run(muon(schedule), k);
      expect(getHyperparam(r.state, '0.inner.3.learningRate')).toBe(schedule(k));
      expect(getHyperparam(r.state, '1.inner.2.learningRate')).toBe(schedule(k));
      treeDispose([r.params, r.state]);
    }
  });
});
