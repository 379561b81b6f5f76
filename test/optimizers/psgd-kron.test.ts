import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  applyUpdates,
  chain,
  disposeReplaced,
  psgdKron,
  scaleByKron,
  scaleByLearningRate,
  treeDispose,
  treeMap,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { kronBalanceDraw, kronProbeSeed } from '../../src/transforms/psgd-kron.js';
import { expectAllClose, expectBitwiseEqual, flat, run, thrown, trainWithoutLeak } from '../helpers.js';
import { expectBadFactorChangesNothing, expectCheckpointRoundTrip } from './preconditioned.js';
import { eye, map1, map2, maxAbs, mul, solveRightUpper, tr, zeros, type Matrix } from './dense.js';

// psgdKron against a float64 transcription of the kron_torch reference (evanatyourservice/
// kron_torch, kron.py: Kron.step, _update_precond, _calc_A_and_conjB, _lb, _precond_grad,
// _clip_update_rms, _balance_Q), on a 2x2 and a 3x4 matrix leaf (triangular factors) and a
// vector leaf (one diagonal factor). The probe vectors V are the same draws as the optimizer's
// (tf.randomNormal with the seed the optimizer documents); everything else is computed here.

type AnyTx = GradientTransformation<any>;

interface RefOptions {
  lr: number;
  b1?: number;
  weightDecay?: number;
  probability?: number;
  precondLr?: number;
  precondInitScale?: number;
  momentumIntoPrecondUpdate?: boolean;
  seed?: number;
  /** Axis sizes at and above which a factor is diagonal (maxSizeTriangular + 1). */
  maxSizeTriangular?: number;
}

const EPS32 = 2 ** -23;
const TINY32 = 2 ** -126;

/** _lb: a lower bound of the spectral norm of a (symmetric) matrix, from its largest column. */
function lowerBound(a0: Matrix, maxAbsValue: number): number {
  const a = map1(a0, (x) => x / maxAbsValue);
  const colNorms = a[0].map((_, j) => a.reduce((s, row) => s + row[j] * row[j], 0));
  const i = colNorms.indexOf(Math.max(...colNorms));
  let x = a.map((row) => row[i]);
  x = a[0].map((_, j) => x.reduce((s, xi, k) => s + xi * a[k][j], 0));
  const n1 = Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  x = x.map((v) => v / n1);
  const y = a.map((row) => row.reduce((s, v, j) => s + v * x[j], 0));
  return Math.sqrt(y.reduce((s, v) => s + v * v, 0)) * maxAbsValue;
}

/**
 * The reference's per-parameter step for a matrix leaf (two factors) or a vector leaf (an n x 1
 * matrix with one factor along its rows), given do_update, balance and the probe V. Returns the
 * change of the parameters, -lr * (clipped preconditioned momentum + wd * p for matrices).
 */
function kronLeafRef(o: RefOptions, rows: number, cols: number | null) {
  const { lr, b1 = 0.9, weightDecay = 0, precondLr = 0.1, precondInitScale = 1, momentumIntoPrecondUpdate = true, maxSizeTriangular = 8192 } = o;
  const dims = cols === null ? [rows] : [rows, cols];
  const diag = dims.map((d) => d === 1 || d > maxSizeTriangular || dims.length < 2);
  const scale = precondInitScale ** (1 / dims.length);
  // A diagonal factor is kept as a 1 x d row.
  let q: Matrix[] = dims.map((d, i) => (diag[i] ? [new Array<number>(d).fill(scale)] : eye(d, scale)));
  let mom = zeros(rows, cols ?? 1);
  let step = 0;
  /** x with factor i applied along axis i (A = Q0 G Q1^T; diagonal: elementwise). */
  const along = (x: Matrix, i: number, f: Matrix, isDiag: boolean, mode: 'apply' | 'divide' | 'precond'): Matrix => {
    if (isDiag) {
      const v = f[0];
      const s = (k: number) => (mode === 'apply' ? v[k] : mode === 'divide' ? 1 / v[k] : v[k] * v[k]);
      return x.map((row, r) => row.map((val, c) => val * s(i === 0 ? r : c)));
    }
    if (mode === 'apply') return i === 0 ? mul(f, x) : mul(x, tr(f));
    if (mode === 'precond') return i === 0 ? mul(tr(f), mul(f, x)) : mul(mul(x, tr(f)), f);
    throw new Error('divide is done by the solves');
  };
  return (g: Matrix, p: Matrix, v: Matrix, doUpdate: boolean, balance: boolean): Matrix => {
    step++;
    mom = map2(mom, g, (m, x) => m * b1 + (1 - b1) * x);
    let dm = map1(mom, (m) => m / (1 - b1 ** step));
    if (dims.length > 1 && balance) {
      const norms = q.map(maxAbs);
      const gm = Math.exp(norms.reduce((s, n) => s + Math.log(n), 0) / norms.length);
      q = q.map((f, i) => map1(f, (x) => x * (gm / norms[i])));
    }
    if (doUpdate) {
      let gp = momentumIntoPrecondUpdate ? dm : g;
      const meanAbs = gp.flat().reduce((s, x) => s + Math.abs(x), 0) / gp.flat().length;
      gp = map2(gp, v, (x, r) => x + Math.sqrt(EPS32) * meanAbs * r);
      if (momentumIntoPrecondUpdate) dm = gp;
      // conjB: V permuted (axes 1.., 0), then per factor a solve on the last axis and a transpose.
      let conjB: Matrix;
      if (dims.length === 1) {
        conjB = along(v, 0, q[0], true, 'divide');
      } else {
        conjB = tr(v);
        conjB = diag[0] ? conjB.map((row) => row.map((x, c) => x / q[0][0][c])) : solveRightUpper(conjB, q[0]);
        conjB = tr(conjB);
        conjB = diag[1] ? conjB.map((row) => row.map((x, c) => x / q[1][0][c])) : solveRightUpper(conjB, q[1]);
      }
      let a = gp;
      q.forEach((f, i) => (a = along(a, i, f, diag[i], 'apply')));
      q = q.map((f, i) => {
        const gram = (x: Matrix): Matrix => {
          if (diag[i]) return [i === 0 ? x.map((row) => row.reduce((s, y) => s + y * y, 0)) : x[0].map((_, c) => x.reduce((s, row) => s + row[c] ** 2, 0))];
          return i === 0 ? mul(x, tr(x)) : mul(tr(x), x);
        };
        const aa = gram(a);
        const bb = gram(conjB);
        let t1 = map2(aa, bb, (x, y) => (x - y) * precondLr);
        const t2 = map2(aa, bb, (x, y) => x + y);
        const norm = maxAbs(t2);
        if (diag[i]) return map2(f, t1, (qv, t) => qv - (t * qv) / Math.max(norm, TINY32));
        t1 = t1.map((row, r) => row.map((x, c) => (c >= r ? x : 0)));
        const bound = Math.max(norm > 0 ? lowerBound(t2, norm) : norm, TINY32);
        const step1 = mul(map1(t1, (x) => x / bound), f);
        return map2(f, step1, (x, y) => x - y);
      });
    }
    let pre = dm;
    q.forEach((f, i) => (pre = along(pre, i, f, diag[i], 'precond')));
    const rms = Math.sqrt(pre.flat().reduce((s, x) => s + x * x, 0) / pre.flat().length);
    pre = map1(pre, (x) => x * Math.min(1, 1.1 / (rms + 1e-12)));
    if (weightDecay !== 0 && dims.length >= 2) pre = map2(pre, p, (x, w) => x + weightDecay * w);
    return map1(pre, (x) => -lr * x);
  };
}

const P0 = { a: [[0.5, -0.3], [0.2, 0.8]], b: [[0.1, -0.2, 0.3, 0.4], [-0.5, 0.6, 0.7, -0.8], [0.9, 0.05, -0.15, 0.25]], c: [[0.3], [-0.6], [0.9]] };
const DIMS = { a: [2, 2], b: [3, 4], c: [3, 1] } as const;
const gradOf = (leaf: 'a' | 'b' | 'c', k: number): Matrix => {
  const [n, m] = DIMS[leaf];
  const salt = { a: 0.3, b: 1.1, c: 2.3 }[leaf];
  return Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => 1.5 * Math.sin(12.9898 * (i + 1) * (j + 2) + 78.233 * (j + 1) + 37.719 * (k + 1) * (i + 1) + salt)));
};
const toTree = (x: Record<'a' | 'b' | 'c', Matrix>): Params => ({ a: tf.tensor2d(x.a), b: tf.tensor2d(x.b), c: tf.tensor1d(x.c.map((r) => r[0])) });

/** `steps` updates of `tx` and of the reference, compared; the reference's do_update follows its counter rule. */
function compare(tx: AnyTx, o: RefOptions, steps: number, rtol = 1e-4, atol = 1e-4 * o.lr): void {
  const seed = o.seed ?? 0;
  const refs = { a: kronLeafRef(o, 2, 2), b: kronLeafRef(o, 3, 4), c: kronLeafRef(o, 3, null) };
  let params = toTree(P0);
  let state = tx.init(params);
  const p = { a: P0.a.map((r) => r.slice()), b: P0.b.map((r) => r.slice()), c: P0.c.map((r) => r.slice()) };
  let counter = 0;
  for (let k = 0; k < steps; k++) {
    const t = k + 1;
    counter++;
    const doUpdate = counter >= 1 / (o.probability ?? 1);
    if (doUpdate) counter = 0;
    const balance = kronBalanceDraw(seed, t) < 0.01 && doUpdate;
    const g = { a: gradOf('a', k), b: gradOf('b', k), c: gradOf('c', k) };
    const grads = toTree(g);
    const [u, next] = tx.update(grads, state, params);
    const expected = (['a', 'b', 'c'] as const).flatMap((leaf, j) => {
      const [n, m] = DIMS[leaf];
      const noise = tf.randomNormal(leaf === 'c' ? [n] : [n, m], 0, 1, 'float32', kronProbeSeed(seed, t, j));
      const values = Array.from(noise.dataSync());
      noise.dispose();
      const v = Array.from({ length: n }, (_, i) => values.slice(i * m, i * m + m));
      const d = refs[leaf](g[leaf], p[leaf], v, doUpdate, balance);
      p[leaf] = map2(p[leaf], d, (x, y) => x + y);
      return d.flat();
    });
    try {
      expectAllClose(flat(u), expected, rtol, atol);
    } catch (error) {
      throw new Error(`step ${t}: ${(error as Error).message}`);
    }
    const newParams = applyUpdates(params, u);
    disposeReplaced([params, state, grads, u], [newParams, next]);
    params = newParams;
    state = next;
  }
  treeDispose([params, state]);
}

/** The first seed whose balancing draw at step 2 is below 0.01 (so the factors are balanced there). */
const BALANCING_SEED = Array.from({ length: 2000 }, (_, s) => s).find((s) => kronBalanceDraw(s, 2) < 0.01)!;

describe('psgdKron', () => {
  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const rank2 = (params: Params) => treeMap((x) => x.rank >= 2, params);
    const a = run(psgdKron(0.01, { weightDecay: 0.1, seed: 3 }), 5);
    const b = run(chain(scaleByKron({ seed: 3 }), addDecayedWeights(0.1, { mask: rank2 }), scaleByLearningRate(0.01)), 5);
    for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expectBitwiseEqual(a.state, b.state);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it.each([
    ['the defaults (preconditioner updated every step)', { lr: 0.01 }],
    ['weight decay (matrices only), b1 0.5, precondLr 0.5, precondInitScale 2, seed 7', { lr: 0.01, weightDecay: 0.1, b1: 0.5, precondLr: 0.5, precondInitScale: 2, seed: 7 }],
    ['preconditionUpdateProbability 0.5: updated every second step', { lr: 0.02, probability: 0.5 }],
    ['the raw gradient into the preconditioner update', { lr: 0.01, momentumIntoPrecondUpdate: false }],
    ['maxSizeTriangular 3: diagonal factors for the axes of 4', { lr: 0.01, maxSizeTriangular: 3 }],
  ] as Array<[string, RefOptions]>)('follows the reference over 5 steps: %s', (_name, o) => {
    const { lr, probability, ...rest } = o;
    compare(psgdKron(lr, { ...rest, ...(probability === undefined ? {} : { preconditionUpdateProbability: probability }) }), o, 5);
  });

  it(`follows the reference through a balancing of the factors (seed ${BALANCING_SEED}, step 2)`, () => {
    const o = { lr: 0.01, seed: BALANCING_SEED, precondInitScale: 3 };
    compare(psgdKron(0.01, { seed: BALANCING_SEED, precondInitScale: 3 }), o, 3);
  });

  it('is reproducible from its seed, and another seed draws other probes', () => {
    const a = run(psgdKron(0.01, { seed: 5 }), 3);
    const b = run(psgdKron(0.01, { seed: 5 }), 3);
    const c = run(psgdKron(0.01, { seed: 6 }), 3);
    expectBitwiseEqual(a.updates, b.updates);
    expect(a.updates[2]).not.toEqual(c.updates[2]);
    treeDispose([a.params, a.state, b.params, b.state, c.params, c.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(psgdKron(0.01, { weightDecay: 0.01 }), 100);
    trainWithoutLeak(psgdKron(0.01, { memorySaveMode: 'allDiag', preconditionUpdateProbability: 0.3, momentumIntoPrecondUpdate: false }), 100);
  });

  it.each([
    ['b1', 1],
    ['weightDecay', -1],
    ['preconditionUpdateProbability', 0],
    ['preconditionUpdateProbability', 1.5],
    ['maxSizeTriangular', -1],
    ['minNdimTriangular', 0.5],
    ['precondLr', 0],
    ['precondInitScale', -1],
    ['seed', 2 ** 32],
    ['memorySaveMode', 'smart_one_diag'],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => psgdKron(0.01, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`'${option}'`);
  });

  it('rejects a schedule of the update probability that leaves (0, 1] before anything changes', () => {
    const tx = psgdKron(0.01, { preconditionUpdateProbability: (c: number) => (c < 2 ? 1 : 0) });
    const { params, state } = run(tx, 2);
    const error = thrown(() => tx.update(params, state, params));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/preconditionUpdateProbability.*count 2/);
    treeDispose([params, state]);
  });
  it('round-trips a checkpoint: the loaded state continues bit for bit', () => {
    expectCheckpointRoundTrip(() => psgdKron(0.01, { seed: 2 }), 3, 4);
  });

  it('a step given a factor of the wrong shape throws, naming its path, and changes nothing', () => {
    expectBadFactorChangesNothing(() => psgdKron(0.01, { seed: 2 }), (s) => [{ ...s[0], q: { ...s[0].q, layer: { ...s[0].q.layer, kernel: [s[0].q.layer.kernel[0], tf.zeros([2, 2])] } } }, s[1], s[2]], /state\.q\.layer\.kernel must be an array/);
  });
});
