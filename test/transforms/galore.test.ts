import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { applyIfFinite, applyUpdates, disposeReplaced, galore, scaleByGalore, scaleByLion, treeDispose, treeLeaves, type GradientTransformation, type Params } from '../../src/index.js';
import { expectAllClose, flat, thrown } from '../helpers.js';

// scaleByGalore and galore's state, with optax 0.2.8's _galore_test.py cases (the bfloat16 ones
// left out: this library's leaves are float32).

type AnyTx = GradientTransformation<any>;
type GaloreState = [{ count: number; baseOptimizerState: { mu: any; nu: any }; projector: any }, unknown, unknown];

/** Runs `fn` on the state `tx.init(params)` and frees both. */
function withState(tx: AnyTx, params: Params, fn: (s: GaloreState) => void): void {
  const state = tx.init(params);
  fn(state);
  treeDispose([state, params]);
}

/** `steps` steps of g = p (f = |p|^2 / 2) from `params`: the total energy sum(p^2) before and after. */
function energies(tx: AnyTx, params: Params, steps: number): [number, number] {
  const energy = (p: Params) => treeLeaves(p).reduce((s, x) => s + flat(x).reduce((a, v) => a + v * v, 0), 0);
  const e0 = energy(params);
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) {
    const [u, next] = tx.update(params, state, params);
    const p: Params = applyUpdates(params, u);
    disposeReplaced([params, state, u], [p, next]);
    [params, state] = [p, next];
  }
  const e1 = energy(params);
  treeDispose([params, state]);
  return [e0, e1];
}

const arange = (m: number, n: number) => tf.reshape(tf.range(0, m * n), [m, n]);

describe('scaleByGalore: state shapes (optax\'s tests)', () => {
  it.each([
    [[32, 64], 8, false],
    [[64, 32], 8, true],
    [[64, 64], 8, true],
  ] as const)('shape %j, rank %i: projects from the left = %s, with the moments in the low-rank shape', (shape, rank, left) => {
    withState(galore(0.1, { rank, updateProjGap: 10 }), tf.zeros([...shape]), ([g]) => {
      const [m, n] = shape;
      expect(g.projector.shape).toEqual(left ? [m, rank] : [n, rank]);
      expect(g.baseOptimizerState.mu.shape).toEqual(left ? [rank, n] : [m, rank]);
      expect(g.baseOptimizerState.nu.shape).toEqual(left ? [rank, n] : [m, rank]);
    });
  });

  it('caps the rank at the smaller side: [10, 3] at rank 999 has a [10, 3] projector and [3, 3] moments', () => {
    withState(galore(0.1, { rank: 999, updateProjGap: 10 }), tf.zeros([10, 3]), ([g]) => {
      expect(g.projector.shape).toEqual([10, 3]);
      expect(g.baseOptimizerState.mu.shape).toEqual([3, 3]);
    });
  });

  it('keeps rank * dim moments for a [256, 256] matrix at rank 8', () => {
    withState(galore(0.1, { rank: 8 }), tf.zeros([256, 256]), ([g]) => {
      expect(g.baseOptimizerState.mu.size).toBe(8 * 256);
      expect(g.baseOptimizerState.nu.size).toBe(8 * 256);
    });
  });

  it('reads [embed, heads, headDim] leaves as matrices by weightDimensionNumbers (optax\'s 3-D tests)', () => {
    const dims = { reductionAxis: 0, outputAxis: [1, 2] };
    withState(galore(0.1, { rank: 16, weightDimensionNumbers: { w: dims } }), { w: tf.zeros([256, 8, 64]) }, ([g]) => {
      expect(g.baseOptimizerState.mu.w.shape).toEqual([256, 16]);
      expect(g.projector.w.shape).toEqual([512, 16]);
    });
    withState(galore(0.01, { rank: 8, weightDimensionNumbers: { w: dims } }), { w: tf.zeros([32, 8, 64]) }, ([g]) => {
      expect(g.projector.w.shape).toEqual([512, 8]);
      expect(g.baseOptimizerState.mu.w.shape).toEqual([32, 8]);
    });
  });
});

describe('scaleByGalore: projectors', () => {
  it('refreshes to orthonormal columns (P^T P = I to 1e-6; optax checks 1e-2)', () => {
    const params = { w: tf.randomNormal([16, 32], 0, 1, 'float32', 0) };
    const grads = { w: tf.randomNormal([16, 32], 0, 1, 'float32', 1) };
    const tx = galore(0.1, { rank: 4, updateProjGap: 1 });
    const state = tx.init(params);
    const [u, next] = tx.update(grads, state, params);
    const p = (next[0].projector as { w: tf.Tensor2D }).w;
    expectAllClose(flat(tf.matMul(p, p, true, false)), flat(tf.eye(4)), 0, 1e-6);
    treeDispose([params, grads, state, u, next]);
  });

  // optax flips the rows of the second gradient; that leaves the right singular vectors of this
  // [32, 64] gradient (and our deterministic completion of its rank-2 null space) unchanged, so the
  // columns are flipped here.
  it.each([[1000, true], [1, false]])('with updateProjGap %i, the second step keeps the projector: %s', (gap, same) => {
    const params = tf.ones([32, 64]);
    const tx = galore(0.01, { rank: 8, updateProjGap: gap });
    const g0 = arange(32, 64);
    const g1 = tf.reverse(g0, 1);
    const s0 = tx.init(params);
    const [u1, s1] = tx.update(g0, s0, params);
    const [u2, s2] = tx.update(g1, s1, params);
    const [p0, p1] = [flat(s1[0].projector), flat(s2[0].projector)];
    expect(p0.every((x, i) => Math.abs(x - p1[i]) <= 1e-5 + 1e-5 * Math.abs(p1[i]))).toBe(same);
    treeDispose([params, g0, g1, s0, u1, s1, u2, s2]);
  });

  it('projects onto the gradient\'s leading singular vectors: a rank-1 gradient u v^T gives P[:, 0] = u / |u|', () => {
    const u = [3, 4, 0, 0, 0];
    const v = [1, 2, 2];
    const g = tf.tensor2d(u.flatMap((a) => v.map((b) => a * b)), [5, 3]);
    const tx = scaleByGalore({ rank: 2, updateProjGap: 5 });
    const state = tx.init(tf.zeros([5, 3]));
    const [out, next] = tx.update(g, state);
    expectAllClose(flat(tf.slice(next.projector as tf.Tensor, [0, 0], [5, 1])), [0.6, 0.8, 0, 0, 0], 0, 1e-7);
    // The second column completes the first deterministically (Gram-Schmidt of e1): [0.8, -0.6, 0, 0, 0].
    expectAllClose(flat(tf.slice(next.projector as tf.Tensor, [0, 1], [5, 1])), [0.8, -0.6, 0, 0, 0], 0, 1e-7);
    treeDispose([g, state, out, next]);
  });
});

describe('scaleByGalore: optimisation (optax\'s tests)', () => {
  it('shrinks a [64, 64] matrix of ones in 20 steps of g = p (rank 8, refreshed every step)', () => {
    const [e0, e1] = energies(galore(0.1, { rank: 8, updateProjGap: 1 }), tf.ones([64, 64]), 20);
    expect(e1).toBeLessThan(e0);
  });

  it('lowers the energy of a tree of two matrices and a vector in 10 steps (rank 8, gap 2)', () => {
    const [e0, e1] = energies(galore(0.05, { rank: 8, updateProjGap: 2 }), { W1: tf.ones([32, 64]), W2: tf.ones([64, 16]), b: tf.ones([16]) }, 10);
    expect(e1).toBeLessThan(e0);
  });

  it('lowers the energy of a [64, 4, 16] attention leaf read as [64, 64] (rank 8, gap 1)', () => {
    const dims = { attn: { reductionAxis: 0, outputAxis: [1, 2] } };
    const [e0, e1] = energies(galore(0.1, { rank: 8, updateProjGap: 1, weightDimensionNumbers: dims }), { attn: tf.ones([64, 4, 16]) }, 10);
    expect(e1).toBeLessThan(e0);
  });

  it.each([
    ['rank-2 leaves only, by default', undefined, { W: [16, 32], b: [32], conv: [3, 3, 8] }],
    ['a tree with null leaves', { attn: { reductionAxis: 0, outputAxis: [1, 2] }, mlp: null, bias: null }, { attn: [128, 4, 32], mlp: [128, 256], bias: [256] }],
    ['one spec for every leaf of rank >= 2', { reductionAxis: 0, outputAxis: [1, 2] }, { w1: [64, 4, 16], w2: [32, 8, 8], bias: [64] }],
    ['a function of the params', (p: Params) => ({ ...(p as object), w: { reductionAxis: -1, outputAxis: [0, 1] }, b: null }), { w: [6, 5, 4], b: [4] }],
  ] as const)('returns updates of the params\' shapes (%s)', (_name, dims, shapes) => {
    const params = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.ones([...s])])) as Params;
    const grads = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.fill([...s], 0.1)])) as Params;
    const tx = galore(0.01, { rank: 8, weightDimensionNumbers: dims as never });
    const state = tx.init(params);
    const [u, next] = tx.update(grads, state, params);
    for (const [k, s] of Object.entries(shapes)) expect((u as Record<string, tf.Tensor>)[k].shape).toEqual(s);
    treeDispose([params, grads, state, u, next]);
  });

  it('reads [6, 5, 4] with reductionAxis -1 as a [4, 30] matrix: the transposes round-trip', () => {
    // The base optimizer scaleByLion is sign(update): with a full-rank projection of an invertible
    // layout the composite is P sign(P^T G); here compared against the same math done by hand.
    const g = tf.randomNormal([6, 5, 4], 0, 1, 'float32', 3);
    const tx = scaleByGalore({ rank: 4, baseOptimizer: scaleByLion({ b1: 0 }), weightDimensionNumbers: { reductionAxis: -1, outputAxis: [0, 1] } });
    const state = tx.init(tf.zeros([6, 5, 4]));
    const [u, next] = tx.update(g, state);
    const g2 = tf.reshape(tf.transpose(g, [2, 0, 1]), [4, 30]);
    const p = next.projector as tf.Tensor2D;
    expect(p.shape).toEqual([30, 4]);
    const byHand = tf.transpose(tf.reshape(tf.matMul(tf.sign(tf.matMul(g2, p)), p, false, true), [4, 6, 5]), [1, 2, 0]);
    expectAllClose(flat(u), flat(byHand), 1e-6, 1e-7);
    treeDispose([g, state, u, next]);
  });
});

describe('scaleByGalore: errors and edge cases', () => {
  it.each([
    ['rank', 0, RangeError], ['rank', 1.5, RangeError], ['updateProjGap', 0, RangeError], ['scale', NaN, RangeError],
    ['baseOptimizer', {}, TypeError], ['weightDimensionNumbers', 3, TypeError],
  ] as const)('rejects %s = %s, naming the option', (option, value, kind) => {
    for (const [owner, make] of [['scaleByGalore', (o: object) => scaleByGalore(o)], ['galore', (o: object) => galore(0.1, o)]] as const) {
      const error = thrown(() => make({ [option]: value }));
      expect(error).toBeInstanceOf(kind);
      expect(error.message).toContain(`${owner}: `);
      expect(error.message).toContain(option);
    }
  });

  it.each([
    [{ w: { reductionAxis: 0, outputAxis: 0 }, b: null }, /the reductionAxis \[0\] and outputAxis \[0\] of params.w must name each of its 2 axes exactly once/],
    [{ w: { reductionAxis: 0, outputAxis: 1 } , b: { outputAxis: 0 } }, /galore: GaLore projects leaves of rank >= 2, but params.b has shape \[3\]/],
    [{ w: { reductionAxis: 2 }, b: null }, /galore: reductionAxis of params.w must be an axis or a non-empty list of axes of a rank-2 leaf, got 2/],
    [{ w: null }, /galore: option 'weightDimensionNumbers' must give dimension numbers or null for params.b, got undefined/],
    [{ w: null, b: 3 }, /galore: option 'weightDimensionNumbers' must give dimension numbers or null for params.b, got a number \(3\)/],
  ])('names the leaf and the axes of bad weightDimensionNumbers at init (%j)', (dims, message) => {
    const params = { w: tf.zeros([4, 3]), b: tf.zeros([3]) };
    expect(thrown(() => galore(0.1, { weightDimensionNumbers: dims as never }).init(params)).message).toMatch(message);
    treeDispose(params);
  });

  it('needs a base optimizer that does without params (adamw\'s decay fails, naming itself), and a failed step changes nothing', async () => {
    const { adamw } = await import('../../src/index.js');
    const tx = galore(0.1, { rank: 2, baseOptimizer: adamw(1) });
    const params = { w: tf.zeros([4, 3]) };
    const state = tx.init(params);
    const grads = { w: tf.ones([4, 3]) };
    const before = tf.memory().numTensors;
    expect(thrown(() => tx.update(grads, state, params)).message).toMatch(/needs the current parameters/);
    const wrong = { w: tf.ones([3, 4]) };
    const own = galore(0.1).init(params);
    expect(thrown(() => galore(0.1).update(wrong, own, params)).message).toMatch(/galore: shape mismatch at w: updates.w has shape \[3, 4\], but params.w has shape \[4, 3\]/);
    // Only the wrong gradient and the second state (projector, mu, nu) are new.
    expect(tf.memory().numTensors - before).toBe(1 + 3);
    treeDispose([wrong, own]);
    expect(state[0].count).toBe(0);
    treeDispose([params, state, grads]);
  });

  it('frees what init made when the base optimizer\'s init throws, and names a projector of the wrong shape', () => {
    const params = { w: tf.zeros([4, 3]) };
    const failing = { init: () => { throw new Error('base init failed'); }, update: (u: Params, s: unknown) => [u, s] as [Params, unknown] };
    const before = tf.memory().numTensors;
    expect(thrown(() => scaleByGalore({ baseOptimizer: failing as never }).init(params)).message).toBe('base init failed');
    expect(tf.memory().numTensors).toBe(before);
    const other = scaleByGalore({ rank: 1 }).init(params);
    const grads = { w: tf.ones([4, 3]) };
    expect(thrown(() => scaleByGalore({ rank: 2 }).update(grads, other, params)).message).toBe(
      'scaleByGalore: state.projector.w has shape [4,1], expected [4,2] for updates of shape [4,3]',
    );
    treeDispose([params, other, grads]);
  });

  it('gives NaN updates for a non-finite gradient at a refresh, which applyIfFinite skips', () => {
    const tx = applyIfFinite(galore(0.1, { rank: 2, updateProjGap: 1 }), { maxConsecutiveErrors: 5 });
    const params = { w: tf.ones([4, 3]) };
    const state = tx.init(params);
    const grads = { w: tf.tensor2d([[NaN, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]) };
    const [u, next] = tx.update(grads, state, params);
    expect(flat(u)).toEqual(new Array(12).fill(0));
    expect((next as { notfiniteCount: number }).notfiniteCount).toBe(1);
    disposeReplaced([u, next, grads], [params, state]);
    treeDispose([params, state]);
  });

  it('handles an empty tree and leaves without elements', () => {
    const tx = galore(0.1, { rank: 2 });
    const params = { e: tf.zeros([0, 3]), v: tf.zeros([0]) };
    const state = tx.init(params);
    const [u, next] = tx.update({ e: tf.zeros([0, 3]), v: tf.zeros([0]) }, state, params);
    expect((u as { e: tf.Tensor }).e.shape).toEqual([0, 3]);
    treeDispose([params, state, u, next]);
    const empty = tx.init({});
    const [u2, s2] = tx.update({}, empty, {});
    expect(u2).toEqual({});
    treeDispose([empty, s2]);
  });
});
