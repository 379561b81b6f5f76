import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import {
  adamw,
  applyUpdates,
  disposeReplaced,
  hasUpdated,
  multiSteps,
  sgd,
  trainStep,
  treeDispose,
  valueAndGrad,
  type Params,
} from '../../src/index.js';
import { expectAllClose, flat, gradValues32, inMode, makeGrads, makeParams, stateValues } from '../helpers.js';

describe('multiSteps', () => {
  it('no parameter change on the k-1 accumulating steps; the k-th step gives inner the mean', () => {
    const k = 3;
    const tx = multiSteps(sgd(0.1), { everyK: k });
    const params = makeParams();
    let state = tx.init(params);
    const gs = [0, 1, 2].map((i) => gradValues32(i));
    for (let i = 0; i < k; i++) {
      const g = makeGrads(i);
      const [u, next]: [Params, typeof state] = tx.update(g, state, params);
      if (i < k - 1) {
        expect(flat(u).every((x) => x === 0)).toBe(true);
        expect(hasUpdated(next)).toBe(false);
        expect(next.miniStep).toBe(i + 1);
        // The accumulator holds sum(g) / k so far.
        expectAllClose(flat(next.accGrads), gs[0].map((_, j) => gs.slice(0, i + 1).reduce((s, x) => s + x[j] / k, 0)), 1e-6);
      } else {
        const mean = gs[0].map((_, j) => (gs[0][j] + gs[1][j] + gs[2][j]) / 3);
        expectAllClose(flat(u), mean.map((m) => -0.1 * m), 1e-6);
        expect(hasUpdated(next)).toBe(true);
        expect(next.miniStep).toBe(0);
        expect(next.gradientStep).toBe(1);
        expect(flat(next.accGrads).every((x) => x === 0)).toBe(true);
        expect(next.inner[1].count).toBe(1);
      }
      state = next;
    }
  });

  it('useGradMean: false gives inner the sum', () => {
    const tx = multiSteps(sgd(1, {}), { everyK: 2, useGradMean: false });
    const params = makeParams();
    let state = tx.init(params);
    let u: Params = null;
    for (let i = 0; i < 2; i++) [u, state] = tx.update(makeGrads(i), state, params);
    expectAllClose(flat(u), gradValues32(0).map((g, j) => -(g + gradValues32(1)[j])), 1e-6);
  });

  it('equals one step on the big batch (4 micro-batches of a least-squares problem)', () => {
    const x = tf.tensor2d(Array.from({ length: 32 }, (_, i) => Math.sin(i * 0.7)), [16, 2]);
    const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => Math.cos(i * 0.3)));
    const loss = (p: { w: tf.Tensor }, xs: tf.Tensor, ys: tf.Tensor) =>
      tf.mean(tf.square(tf.sub(tf.squeeze(tf.matMul(xs, tf.reshape(p.w, [2, 1])), [1]), ys))) as tf.Scalar;
    const make = () => ({ w: tf.tensor1d([0.3, -0.2]) });
    // Four micro-steps of 4 rows each.
    const tx = multiSteps(adamw(0.05), { everyK: 4 });
    let p: Params = make();
    let s = tx.init(p);
    for (let b = 0; b < 4; b++) {
      const xs = tf.slice(x, [4 * b, 0], [4, 2]);
      const ys = tf.slice(y, [4 * b], [4]);
      const { grads, value } = valueAndGrad((q: { w: tf.Tensor }) => loss(q, xs, ys))(p as { w: tf.Tensor });
      ({ params: p, state: s } = trainStep(tx, p, s, grads));
      tf.dispose([xs, ys, value]);
    }
    // One step on all 16 rows.
    const big = adamw(0.05);
    let q: Params = make();
    let t = big.init(q);
    const { grads, value } = valueAndGrad((r: { w: tf.Tensor }) => loss(r, x, y))(q as { w: tf.Tensor });
    ({ params: q, state: t } = trainStep(big, q, t, grads));
    value.dispose();
    expectAllClose(flat(p), flat(q), 1e-6, 1e-7);
    expect(flat(p)).not.toEqual([0.3, -0.2].map((v) => Math.fround(v)));
    treeDispose([p, s, q, t, x, y]);
  });

  it('everyK as a schedule: k is fixed per cycle from the gradient step', () => {
    const tx = multiSteps(sgd(1), { everyK: (step) => (step === 0 ? 1 : 2) });
    const params = makeParams();
    let state = tx.init(params);
    const emitted: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const [, next] = tx.update(makeGrads(i), state, params);
      emitted.push(hasUpdated(next));
      state = next;
    }
    expect(emitted).toEqual([true, false, true, false, true]);
  });

  it('trainStep (fused where the inner optimizer is) equals update + applyUpdates', () => {
    const make = () => multiSteps(adamw(0.05, { weightDecay: 0.01 }), { everyK: 3 });
    const a = make();
    let pa: Params = makeParams();
    let sa = a.init(pa);
    let pb: Params = makeParams();
    let sb: ReturnType<typeof a.init> = a.init(pb);
    for (let i = 0; i < 7; i++) {
      ({ params: pa, state: sa } = trainStep(a, pa, sa, makeGrads(i)));
      const g = makeGrads(i);
      const [u, next]: [Params, typeof sb] = a.update(g, sb, pb);
      const p2: Params = applyUpdates(pb, u);
      disposeReplaced([pb, sb, u, g], [p2, next]);
      pb = p2;
      sb = next;
    }
    expectAllClose(flat(pa), flat(pb), 1e-6, 1e-7);
    expectAllClose(stateValues(sa), stateValues(sb), 1e-6, 1e-7);
    treeDispose([pa, sa, pb, sb]);
  });

  it('leaks nothing over 100 steps, through update and trainStep', () => {
    const tx = multiSteps(adamw(0.05), { everyK: 4 });
    let params: Params = makeParams();
    let state: ReturnType<typeof tx.init> = tx.init(params);
    ({ params, state } = trainStep(tx, params, state, makeGrads(0)));
    const before = tf.memory().numTensors;
    for (let i = 1; i < 100; i++) ({ params, state } = trainStep(tx, params, state, makeGrads(i)));
    for (let i = 0; i < 8; i++) {
      const g = makeGrads(i);
      const [u, next]: [Params, typeof state] = tx.update(g, state, params);
      const p2: Params = applyUpdates(params, u);
      disposeReplaced([params, state, u, g], [p2, next]);
      params = p2;
      state = next;
    }
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([params, state]);
  });

  it('bad input: clear errors, nothing created or changed', () => {
    expect(() => multiSteps(sgd(1), {} as never)).toThrow("multiSteps: option 'everyK' is required");
    expect(() => multiSteps(sgd(1), { everyK: 0 })).toThrow(RangeError);
    expect(() => multiSteps(sgd(1), { everyK: 2.5 })).toThrow("multiSteps: option 'everyK' must be a whole number >= 1, got a number (2.5) at gradient step 0");
    expect(() => multiSteps(sgd(1), { everyK: 2, useGradMean: 1 as never })).toThrow(TypeError);
    expect(() => hasUpdated({} as never)).toThrow(/hasUpdated: expected the state of multiSteps/);
    const tx = multiSteps(sgd(1), { everyK: 2 });
    const params = makeParams();
    const state = tx.init(params);
    const g = makeGrads(0);
    const before = tf.memory().numTensors;
    const snapshot = stateValues(state);
    expect(() => tx.update(g, { ...state, accGrads: { layer: state.accGrads } } as never, params)).toThrow(/multiSteps: .*state.accGrads/);
    expect(() => tx.update(g, { ...state, miniStep: 0.5 }, params)).toThrow('multiSteps: state.miniStep must be a whole number >= 0 (the step count), got a number (0.5)');
    expect(tf.memory().numTensors).toBe(before);
    expect(stateValues(state)).toEqual(snapshot);
    treeDispose([params, state, g]);
  });
});

describe('multiSteps: a step that throws changes nothing', () => {
  it.each(['auto', 'composite'] as const)('a schedule failing on the k-th micro-step leaves the accumulator as it was (%s kernels)', (mode) =>
    inMode(mode, () => {
      let failing = true;
      let calls = 0;
      // The schedule is read once at construction; the next read is the update's.
      const rate = () => {
        calls++;
        if (failing && calls > 1) throw new Error('the schedule failed');
        return 0.5;
      };
      const tx = multiSteps(sgd(rate), { everyK: 2 });
      let params = { w: tf.tensor1d([1, 2]) };
      let state = tx.init(params);
      ({ params, state } = trainStep(tx, params, state, { w: tf.tensor1d([0.2, 0.2]) }));
      const accumulated = flat(state.accGrads);
      const grads = { w: tf.tensor1d([0.4, 0.4]) };
      expect(() => trainStep(tx, params, state, grads, { keepGrads: true })).toThrow('the schedule failed');
      expect(flat(state.accGrads)).toEqual(accumulated);
      expect(flat(params)).toEqual([1, 2]);
      failing = false;
      ({ params, state } = trainStep(tx, params, state, grads));
      // w - 0.5 * mean(0.2, 0.4), in float32.
      expect(flat(params)).toEqual(Array.from(Float32Array.from([1 - 0.5 * Math.fround(Math.fround(0.1) + Math.fround(0.2)), 2 - 0.5 * Math.fround(Math.fround(0.1) + Math.fround(0.2))])));
      treeDispose([params, state]);
    }),
  );
});
