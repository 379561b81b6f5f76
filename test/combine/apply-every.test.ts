import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  applyEvery,
  applyUpdates,
  chain,
  disposeReplaced,
  sgd,
  trainStep,
  treeDispose,
  type ApplyEveryState,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, failsCleanly, flat, gradValues32, makeGrads, makeParams, PARAM_VALUES, run } from '../helpers.js';

const zeros = new Array(10).fill(0);
const sum = (...ks: number[]) => zeros.map((_, i) => ks.reduce((acc, k) => acc + gradValues32(k)[i], 0));

describe('applyEvery: sums k updates and emits the sum every k-th step', () => {
  it('k = 3 over 7 steps: zeros, zeros, g0+g1+g2, zeros, zeros, g3+g4+g5, zeros; count and gradAcc at every step', () => {
    const tx = applyEvery(3);
    const params = makeParams();
    let state = tx.init(params);
    expect(state.count).toBe(0);
    expect(flat(state.gradAcc)).toEqual(zeros);
    const expected = [
      { u: zeros, count: 1, acc: sum(0) },
      { u: zeros, count: 2, acc: sum(0, 1) },
      { u: sum(0, 1, 2), count: 0, acc: sum(0, 1, 2) },
      { u: zeros, count: 1, acc: sum(3) },
      { u: zeros, count: 2, acc: sum(3, 4) },
      { u: sum(3, 4, 5), count: 0, acc: sum(3, 4, 5) },
      { u: zeros, count: 1, acc: sum(6) },
    ];
    expected.forEach(({ u, count, acc }, k) => {
      const grads = makeGrads(k);
      const [out, next] = tx.update(grads, state, params);
      expectAllClose(flat(out), u, 1e-6, 1e-7);
      expect(next.count).toBe(count);
      expectAllClose(flat(next.gradAcc), acc, 1e-6, 1e-7);
      disposeReplaced([state, grads, out], [next, params]);
      state = next;
    });
    treeDispose([params, state]);
  });

  it('k = 1 (the default) passes the updates through bit for bit', () => {
    const { updates } = run(applyEvery(), 4);
    updates.forEach((u, k) => expectBitwiseEqual(u, gradValues32(k)));
  });

  it('after sgd in a chain, the parameters move by -lr times the sum once every k steps', () => {
    const tx = chain(sgd(0.1), applyEvery(2));
    const { params, updates } = run(tx, 4);
    expect(updates[0]).toEqual(zeros);
    expect(updates[2]).toEqual(zeros);
    expectAllClose(updates[1], sum(0, 1).map((g) => -0.1 * g), 1e-6, 1e-7);
    expectAllClose(flat(params), PARAM_VALUES.map((p, i) => p - 0.1 * sum(0, 1, 2, 3)[i]), 1e-6, 1e-6);
  });

  it('the state never holds the caller gradient tensors: disposing them after a step is safe', () => {
    const tx = applyEvery(2);
    const params = { w: tf.tensor1d([1, 2]) };
    const g0 = { w: tf.tensor1d([1, 1]) };
    const [u0, s0] = tx.update(g0, tx.init(params), params);
    expect((s0.gradAcc as { w: tf.Tensor }).w).not.toBe(g0.w);
    treeDispose(g0);
    const g1 = { w: tf.tensor1d([2, 3]) };
    const [u1, s1] = tx.update(g1, s0, params);
    expect(flat(u1)).toEqual([3, 4]);
    treeDispose([params, u0, s0, g1, u1, s1]);
  });

  it('differs from optax on purpose: a NaN in one cycle does not leak into the next one or the zeros', () => {
    const tx = applyEvery(2);
    const params = { w: tf.tensor1d([0, 0]) };
    const grads = [[NaN, 1], [1, Infinity], [1, 2], [3, 4]].map((v) => ({ w: tf.tensor1d(v) }));
    let state = tx.init(params);
    const out: number[][] = [];
    for (const g of grads) {
      const [u, next] = tx.update(g, state, params);
      out.push(flat(u));
      disposeReplaced([state, u], [next, params, grads]);
      state = next;
    }
    expect(out[0]).toEqual([0, 0]);
    expect(out[1][0]).toBeNaN();
    expect(out[1][1]).toBe(Infinity);
    expect(out[2]).toEqual([0, 0]);
    expect(out[3]).toEqual([4, 6]);
    treeDispose([params, grads, state]);
  });

  it('leaks nothing over 100 steps (update and trainStep)', () => {
    const before = tf.memory().numTensors;
    const tx = chain(sgd(0.01, { momentum: 0.9 }), applyEvery(3));
    let p: Params = makeParams();
    let s = tx.init(p);
    for (let k = 0; k < 100; k++) ({ params: p, state: s } = trainStep(tx, p, s, makeGrads(k)));
    treeDispose([p, s]);
    expect(tf.memory().numTensors).toBe(before);
    const plain = applyEvery(4);
    let q: Params = makeParams();
    let t: ApplyEveryState = plain.init(q);
    for (let k = 0; k < 100; k++) {
      const g = makeGrads(k);
      const [u, next]: [Params, ApplyEveryState] = plain.update(g, t, q);
      const nq: Params = applyUpdates<Params>(q, u);
      disposeReplaced([q, t, u, g], [nq, next]);
      [q, t] = [nq, next];
    }
    treeDispose([q, t]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('applyEvery: bad input', () => {
  it.each<[string, unknown, ErrorConstructor, RegExp]>([
    ['k = 0', 0, RangeError, /applyEvery: option 'k' must be a finite number >= 1, got 0/],
    ['k = 2.5', 2.5, RangeError, /applyEvery: option 'k' must be a whole number, got 2\.5/],
    ['k = NaN', NaN, RangeError, /applyEvery: option 'k' .*got NaN/],
    ['k = Infinity', Infinity, RangeError, /applyEvery: option 'k' .*got Infinity/],
    ['k a string', '2', TypeError, /applyEvery: option 'k' must be a number, got "2"/],
  ])('%s', (_name, k, type, message) => {
    const err = failsCleanly(() => applyEvery(k as number));
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
  });

  it('a wrong state or wrong updates fail with the path before anything is computed', () => {
    const tx = applyEvery(2);
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    expect(failsCleanly(() => tx.update(grads, { count: 0, acc: state.gradAcc } as never, params)).message).toMatch(
      /^applyEvery: state must be \{count, gradAcc\}, got an object with keys \{acc, count\}/,
    );
    expect(failsCleanly(() => tx.update(grads, { ...state, count: 0.5 }, params)).message).toMatch(/applyEvery: state\.count must be a whole number/);
    const bad = tf.zeros([3, 2]);
    const acc = state.gradAcc as ReturnType<typeof makeParams>;
    expect(failsCleanly(() => tx.update(grads, { ...state, gradAcc: { ...acc, layer: { ...acc.layer, kernel: bad } } }, params)).message).toMatch(
      /applyEvery: shape mismatch at layer\.kernel: updates\.layer\.kernel has shape \[2, 3\], but state\.gradAcc\.layer\.kernel has shape \[3, 2\]/,
    );
    expect(failsCleanly(() => tx.update({ layer: grads.layer }, state, params)).name).toBe('TreeStructureError');
    treeDispose([params, grads, state, bad]);
  });
});
