import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adamw,
  applyIfFinite,
  chain,
  clipByGlobalNorm,
  sgd,
  trainStep,
  treeDispose,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, gradValues32, makeGrads, makeParams, stateValues } from '../helpers.js';

/** The test gradients of step k, with a NaN or an infinity in one element when asked. */
function grads(k: number, bad?: number): ReturnType<typeof makeGrads> {
  const g = makeGrads(k);
  if (bad === undefined) return g;
  const values = Array.from(g.layer.kernel.dataSync());
  values[4] = bad;
  g.layer.kernel.dispose();
  g.layer.kernel = tf.tensor2d(values, [2, 3]);
  return g;
}

describe('applyIfFinite', () => {
  it('an exact scripted sequence: skips, counters, giving up and the reset after it', () => {
    const tx = applyIfFinite(sgd(0.1), { maxConsecutiveErrors: 2 });
    const params = makeParams();
    let state = tx.init(params);
    // ok, NaN, Inf, NaN (third in a row: applied, counter reset), NaN (skipped again), ok
    const script: Array<[number | undefined, boolean, { notfiniteCount: number; lastFinite: boolean; totalNotfinite: number }, number]> = [
      [undefined, true, { notfiniteCount: 0, lastFinite: true, totalNotfinite: 0 }, 1],
      [NaN, false, { notfiniteCount: 1, lastFinite: false, totalNotfinite: 1 }, 1],
      [Infinity, false, { notfiniteCount: 2, lastFinite: false, totalNotfinite: 2 }, 1],
      [NaN, true, { notfiniteCount: 0, lastFinite: false, totalNotfinite: 3 }, 2],
      [-Infinity, false, { notfiniteCount: 1, lastFinite: false, totalNotfinite: 4 }, 2],
      [undefined, true, { notfiniteCount: 0, lastFinite: true, totalNotfinite: 4 }, 3],
    ];
    script.forEach(([bad, applied, counters, innerCount], k) => {
      const g = grads(k, bad);
      const [u, next] = tx.update(g, state, params);
      const { inner, ...rest } = next;
      expect(rest).toEqual(counters);
      expect(inner[1].count).toBe(innerCount);
      const values = flat(u);
      if (!applied) expect(values.every((x) => x === 0)).toBe(true);
      else if (bad === undefined) expectAllClose(values, gradValues32(k).map((x) => -0.1 * x), 1e-7);
      else expect(values.some(Number.isNaN)).toBe(true);
      state = next;
      treeDispose([g, u]);
    });
  });

  it('maxConsecutiveErrors 0 applies every step (and never counts above 0)', () => {
    const tx = applyIfFinite(sgd(0.1), { maxConsecutiveErrors: 0 });
    const params = makeParams();
    const [u, s] = tx.update(grads(0, NaN), tx.init(params), params);
    expect(s.notfiniteCount).toBe(0);
    expect(s.totalNotfinite).toBe(1);
    expect(flat(u).some(Number.isNaN)).toBe(true);
  });

  it('a skipped step keeps the inner state (the very same tensors) and, under trainStep, the params', () => {
    const tx = applyIfFinite(chain(clipByGlobalNorm(1), adamw(0.1)), { maxConsecutiveErrors: 3 });
    let params: Params = makeParams();
    let state = tx.init(params);
    ({ params, state } = trainStep(tx, params, state, grads(0)));
    const before = flat(params);
    const mu = state.inner[1][0].mu;
    ({ params, state } = trainStep(tx, params, state, grads(1, NaN)));
    expect(flat(params)).toEqual(before);
    expect(state.inner[1][0].mu).toBe(mu);
    expect(state.notfiniteCount).toBe(1);
    treeDispose([params, state]);
  });

  it('finite steps equal the inner transformation bit for bit', () => {
    const inner = () => chain(clipByGlobalNorm(1), adamw(0.1));
    let a: Params = makeParams();
    let b: Params = makeParams();
    const tx = applyIfFinite(inner(), { maxConsecutiveErrors: 1 });
    const plain = inner();
    let sa = tx.init(a);
    let sb = plain.init(b);
    for (let k = 0; k < 5; k++) {
      ({ params: a, state: sa } = trainStep(tx, a, sa, grads(k)));
      ({ params: b, state: sb } = trainStep(plain, b, sb, grads(k)));
    }
    expectBitwiseEqual(a, b);
    expectBitwiseEqual(sa.inner, sb);
    treeDispose([a, b, sa, sb]);
  });

  it('leaks nothing over 100 steps, skipped or not', () => {
    const tx = applyIfFinite(chain(clipByGlobalNorm(1), adamw(0.1)), { maxConsecutiveErrors: 2 });
    let params: Params = makeParams();
    let state = tx.init(params);
    ({ params, state } = trainStep(tx, params, state, grads(0)));
    const before = tf.memory().numTensors;
    for (let k = 1; k < 100; k++) ({ params, state } = trainStep(tx, params, state, grads(k, k % 3 === 0 ? NaN : undefined)));
    const g = grads(0, NaN);
    const [u, s] = tx.update(g, state, params);
    treeDispose([u, g]);
    expect(s.inner).toBe(state.inner);
    expect(tf.memory().numTensors).toBe(before);
    expect(state.totalNotfinite).toBe(33);
    treeDispose([params, state]);
  });

  it('bad input: clear errors, nothing created or changed', () => {
    expect(() => applyIfFinite(sgd(0.1), {} as never)).toThrow("applyIfFinite: option 'maxConsecutiveErrors' is required");
    expect(() => applyIfFinite(sgd(0.1), { maxConsecutiveErrors: -1 })).toThrow(RangeError);
    expect(() => applyIfFinite(sgd(0.1), { maxConsecutiveErrors: 1.5 })).toThrow("applyIfFinite: option 'maxConsecutiveErrors' must be a whole number, got 1.5");
    expect(() => applyIfFinite({} as never, { maxConsecutiveErrors: 1 })).toThrow(TypeError);
    const tx = applyIfFinite(sgd(0.1), { maxConsecutiveErrors: 1 });
    const params = makeParams();
    const g = grads(0);
    const state = tx.init(params);
    const snapshot = stateValues(state);
    const before = tf.memory().numTensors;
    expect(() => tx.update(g, { ...state, notfiniteCount: -1 }, params)).toThrow(
      'applyIfFinite: state.notfiniteCount must be a whole number >= 0 (the step count), got a number (-1)',
    );
    expect(() => tx.update(g, { ...state, inner: [{}] } as never, params)).toThrow(/applyIfFinite: state.inner must be \[\{\}, \{count, learningRate\}\]/);
    expect(tf.memory().numTensors).toBe(before);
    expect(stateValues(state)).toEqual(snapshot);
  });
});
