import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { chain, disposeReplaced, ema, sgd, trainStep, treeDispose, type Params } from '../../src/index.js';
import { expectAllClose, failsCleanly, flat, gradValues32, makeGrads, makeParams, run } from '../helpers.js';

describe('ema: hand-derived steps', () => {
  const grads = [2, -1, 4];
  const decay = 0.9;

  /** The float64 moving averages and debiased values after each of the three steps. */
  function reference(): { avg: number[]; debiased: number[] } {
    let m = 0;
    const avg: number[] = [];
    const debiased: number[] = [];
    grads.forEach((g, k) => {
      m = (1 - decay) * g + decay * m;
      avg.push(m);
      debiased.push(m / (1 - decay ** (k + 1)));
    });
    return { avg, debiased };
  }

  it.each([true, false])('debias %s: three steps of a scalar', (debias) => {
    // By hand: ema = 0.2, 0.08, 0.472; the corrections are 0.1, 0.19, 0.271.
    const { avg, debiased } = reference();
    expectAllClose(avg, [0.2, 0.08, 0.472], 1e-12);
    expectAllClose(debiased, [2, 0.08 / 0.19, 0.472 / 0.271], 1e-12);
    const tx = ema({ decay, debias });
    const params = { w: tf.scalar(0) };
    let state = tx.init(params);
    expect(state.count).toBe(0);
    expect(flat(state.ema)).toEqual([0]);
    grads.forEach((g, k) => {
      const gt = { w: tf.scalar(g) };
      const [u, next] = tx.update(gt, state, params);
      expect(next.count).toBe(k + 1);
      expectAllClose(flat(next.ema), [avg[k]], 1e-6);
      expectAllClose(flat(u), [debias ? debiased[k] : avg[k]], 1e-6);
      // Without the correction the updates are the stored average itself, as in optax.
      if (!debias) expect(u.w).toBe((next.ema as { w: tf.Tensor }).w);
      state = next;
    });
    treeDispose([params, state]);
  });

  it('over the test tree: each leaf averaged on its own, debiased by 1 - decay^t', () => {
    const d = 0.8;
    const { state, updates } = run(ema({ decay: d }), 4);
    const m = new Array(10).fill(0);
    for (let k = 0; k < 4; k++) {
      const g = gradValues32(k);
      for (let i = 0; i < 10; i++) m[i] = (1 - d) * g[i] + d * m[i];
      expectAllClose(updates[k], m.map((x) => x / (1 - d ** (k + 1))), 1e-5, 1e-6);
    }
    expect(state.count).toBe(4);
    expectAllClose(flat(state.ema), m, 1e-5, 1e-6);
  });

  it('debiased, a constant input comes out unchanged from the first step', () => {
    const tx = ema({ decay: 0.99 });
    const params = { w: tf.tensor1d([1, 2]) };
    const g = { w: tf.tensor1d([0.5, -3]) };
    let state = tx.init(params);
    for (let k = 0; k < 5; k++) {
      const [u, next] = tx.update(g, state, params);
      expectAllClose(flat(u), [0.5, -3], 1e-5);
      treeDispose(u);
      tf.dispose((state.ema as { w: tf.Tensor }).w);
      state = next;
    }
    treeDispose([params, g, state]);
  });

  it('decay 0 passes the updates through; decay 1 without debias keeps the average at zero', () => {
    const params = { w: tf.tensor1d([1, 2]) };
    const g = { w: tf.tensor1d([0.5, -3]) };
    const [u0, s0] = ema({ decay: 0 }).update(g, ema({ decay: 0 }).init(params), params);
    expect(flat(u0)).toEqual(flat(g));
    const tx = ema({ decay: 1, debias: false });
    const [u1, s1] = tx.update(g, tx.init(params), params);
    expect(flat(u1)).toEqual([0, 0]);
    treeDispose([params, g, u0, s0, u1, s1]);
  });

  it('leaks nothing over 100 steps, alone and in a chain with trainStep', () => {
    const before = tf.memory().numTensors;
    const tx = chain(ema({ decay: 0.9 }), sgd(0.01));
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 100; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    treeDispose([params, state]);
    expect(tf.memory().numTensors).toBe(before);
    const plain = ema({ decay: 0.5, debias: false });
    const p = makeParams();
    let s = plain.init(p);
    for (let k = 0; k < 100; k++) {
      const g = makeGrads(k);
      const [u, next] = plain.update(g, s, p);
      treeDispose(g);
      disposeReplaced([s, u], [next]);
      s = next;
    }
    treeDispose([p, s]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ema: bad input', () => {
  it.each<[string, () => unknown, ErrorConstructor, RegExp]>([
    ['no options', () => ema(undefined as never), TypeError, /ema: expected an options object with 'decay'/],
    ['no decay', () => ema({} as never), TypeError, /ema: option 'decay' is required/],
    ['decay > 1', () => ema({ decay: 1.5 }), RangeError, /ema: option 'decay' must be a finite number in \[0, 1\), got 1\.5/],
    ['decay 1 with debias', () => ema({ decay: 1 }), RangeError, /ema: option 'decay' must be a finite number in \[0, 1\), got 1/],
    ['decay 1.5 without debias', () => ema({ decay: 1.5, debias: false }), RangeError, /ema: option 'decay' .*\[0, 1\], got 1\.5/],
    ['negative decay', () => ema({ decay: -0.1 }), RangeError, /ema: option 'decay'.*got -0\.1/],
    ['NaN decay', () => ema({ decay: NaN }), RangeError, /ema: option 'decay'.*got NaN/],
    ['debias not a boolean', () => ema({ decay: 0.9, debias: 1 as never }), TypeError, /ema: option 'debias' must be true or false, got 1/],
    ['unknown option', () => ema({ decay: 0.9, decays: 1 } as never), TypeError, /ema: unknown option 'decays'/],
  ])('%s', (_name, fn, type, message) => {
    const err = failsCleanly(fn);
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
  });

  it('a wrong state fails with its path before anything is computed', () => {
    const tx = ema({ decay: 0.9 });
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    expect(failsCleanly(() => tx.update(grads, { count: 0 } as never, params)).message).toMatch(
      /^ema: state must be \{count, ema\}, got an object with keys \{count\}/,
    );
    expect(failsCleanly(() => tx.update(grads, { ...state, count: -1 }, params)).message).toMatch(/ema: state\.count must be a whole number >= 0/);
    const wrong = { ...state, ema: { ...(state.ema as Record<string, Params>), scale: tf.zeros([2]) } };
    expect(failsCleanly(() => tx.update(grads, wrong, params)).message).toMatch(
      /ema: shape mismatch at scale: updates\.scale has shape \[\], but state\.ema\.scale has shape \[2\]/,
    );
    const int = tf.scalar(1, 'int32');
    expect(failsCleanly(() => tx.update({ ...grads, scale: int }, state, params)).message).toMatch(
      /ema: updates\.scale must be a float32 tensor, got int32/,
    );
    treeDispose([params, grads, state, wrong.ema, int]);
  });
});
