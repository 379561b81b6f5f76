import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  chain,
  kernelPath,
  normalizeByUpdateNorm,
  sam,
  sgd,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  treeDispose,
  type ExtraArgs,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, failsCleanly, flat, makeGrads, makeParams, stateValues, thrown, trainWithoutLeak } from '../helpers.js';
import { PARABOLA } from '../optimizers/contrib-problems.js';

// sam, as optax 0.2.8's contrib (_sam_test.py: sgd(1e-3) outer, normalized sgd(1e-5) or adam(1e-4)
// adversaries, syncPeriod 2, both modes, the parabola), and the paper's SAM step by hand.

type P = { x: tf.Tensor };
const target = PARABOLA.target;
/** The parabola sum((x - [1, -1, 1])^2) as a tf loss. */
const parabola = (p: Params) => tf.sum(tf.square(tf.sub((p as P).x, tf.tensor1d(target)))) as tf.Scalar;
/** optax contrib's normalize(), then an adversarial optimizer. */
const normalized = (inner: GradientTransformation<any>) => chain(normalizeByUpdateNorm({ eps: 0 }), inner);

/** `n` trainSteps on the parabola (gradients in float64 at the params, `valueFn` in extra): the final params. */
function minimizeParabola(tx: GradientTransformation<any>, n: number, x0 = PARABOLA.x0): number[] {
  let params: Params = { x: tf.tensor1d(x0) };
  let state = tx.init(params);
  for (let k = 0; k < n; k++) {
    const g: Params = { x: tf.tensor1d(PARABOLA.grad(flat(params))) };
    ({ params, state } = trainStep(tx, params, state, g, { extra: { valueFn: parabola } }));
  }
  const out = flat(params);
  treeDispose([params, state]);
  return out;
}

/** The updates of `n` raw updates on the parabola from `x0`, the gradient taken at each new point. */
function updatesOf(tx: GradientTransformation<any>, n: number, x0: number[], extra?: ExtraArgs): { updates: number[][]; state: any } {
  let params: Params = { x: tf.tensor1d(x0) };
  let state = tx.init(params);
  const updates: number[][] = [];
  for (let k = 0; k < n; k++) {
    const g: Params = { x: tf.tensor1d(PARABOLA.grad(flat(params))) };
    const [u, next]: [Params, unknown] = tx.update(g, state, params, extra);
    updates.push(flat(u));
    const p: Params = { x: tf.add((params as P).x, (u as P).x) };
    treeDispose([g, u, params]);
    params = p;
    state = next;
  }
  treeDispose(params);
  return { updates, state };
}

const norm = (v: number[]) => Math.hypot(...v);

describe('sam', () => {
  it('takes the paper\'s step by hand: up by rho g / |g|, then from the start with the gradient up there', () => {
    const [lr, rho] = [0.1, 0.05];
    const x0 = [0.5, 2, -1];
    const { updates, state } = updatesOf(sam(sgd(lr), normalized(sgd(rho))), 2, x0);
    const g0 = PARABOLA.grad(x0);
    const up = g0.map((g) => (rho * g) / norm(g0));
    expectAllClose(updates[0], up, 1e-6);
    const x1 = x0.map((x, i) => Math.fround(x + updates[0][i]));
    const g1 = PARABOLA.grad(x1);
    // p2 = p0 - lr g1: the update is p0 - p1 - lr g1.
    expectAllClose(updates[1], x0.map((x, i) => x - x1[i] - lr * g1[i]), 1e-5, 1e-6);
    expect(state.count).toBe(2);
    treeDispose(state);
  });

  it('in the opaque mode, one update is the two transparent ones (the adversarial gradient from extra.valueFn)', () => {
    const x0 = [0.5, 2, -1];
    const make = (opaqueMode: boolean) => sam(sgd(0.1), normalized(adam(0.05)), { opaqueMode, syncPeriod: 3 });
    const transparent = updatesOf(make(false), 3, x0);
    const opaque = updatesOf(make(true), 1, x0, { valueFn: parabola });
    const sum = transparent.updates.reduce((a, u) => a.map((x, i) => x + u[i]));
    expectAllClose(opaque.updates[0], sum, 1e-5, 1e-6);
    expect(opaque.state.cache).toBe(null);
    treeDispose([transparent.state, opaque.state]);
  });

  it('restarts the adversarial state at each outer step with resetState, else keeps the one from before it', () => {
    const counts = (resetState: boolean) => {
      const { state } = updatesOf(sam(adam(0.1), adam(0.01), { syncPeriod: 3, resetState }), 6, [1, 2, 3]);
      const advCount = state.advState[0].count;
      const optCount = state.optState[0].count;
      treeDispose(state);
      return [advCount, optCount];
    };
    expect(counts(true)).toEqual([0, 2]);
    expect(counts(false)).toEqual([4, 2]);
  });

  it('with syncPeriod 1 is its outer optimizer (the adversary never steps; extra.valueFn not needed when opaque)', () => {
    const x0 = [0.5, 2, -1];
    const plain = updatesOf(adam(0.1), 4, x0);
    for (const opaqueMode of [false, true]) {
      const wrapped = updatesOf(sam(adam(0.1), sgd(1), { syncPeriod: 1, opaqueMode }), 4, x0);
      expectAllClose(wrapped.updates.flat(), plain.updates.flat(), 1e-6, 1e-7);
      treeDispose(wrapped.state);
    }
    treeDispose(plain.state);
  });

  it.each([
    ['sgd(1e-5)', false, () => sgd(1e-5)],
    ['adam(1e-4)', true, () => adam(1e-4)],
  ] as const)("converges on the parabola as optax's test: sgd(1e-3) outer, normalized %s adversary, opaqueMode %s", (_name, opaqueMode, adv) => {
    // optax runs 50,000 updates (25,000 sync periods); |x - x*| shrinks by 1 - 2e-3 per outer
    // step, within 3e-2 (+ 3e-2 relative) after 2,605: 2,700 periods run here.
    const tx = sam(sgd(1e-3), normalized(adv()), { opaqueMode });
    expectAllClose(minimizeParabola(tx, opaqueMode ? 2700 : 5400), target, 3e-2, 3e-2);
  });

  it('runs composite itself (each inner optimizer its own way)', () => {
    expect(kernelPath(sam(adam(0.1), sgd(0.01)))).toBe('composite');
  });

  it('leaks nothing over 100 trainSteps, in both modes', () => {
    trainWithoutLeak(sam(adam(0.01), normalized(sgd(0.05)), { syncPeriod: 3 }), 100);
    const before = tf.memory().numTensors;
    const tx = sam(adam(0.01), normalized(adam(0.05)), { opaqueMode: true, resetState: false });
    let params: Params = { x: tf.tensor1d([1, 2, 3]) };
    let state = tx.init(params);
    const start = tf.memory().numTensors;
    for (let k = 0; k < 100; k++) {
      const g: Params = { x: tf.tensor1d(PARABOLA.grad(flat(params))) };
      ({ params, state } = trainStep(tx, params, state, g, { extra: { valueFn: parabola } }));
    }
    expect(tf.memory().numTensors).toBe(start);
    treeDispose([params, state]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a step that throws changes nothing and leaks nothing (no valueFn, a valueFn that throws or returns a number)', () => {
    const tx = sam(sgd(0.1), sgd(0.1), { opaqueMode: true });
    const params = { x: tf.tensor1d([1, 2, 3]) };
    const state = tx.init(params);
    const g = { x: tf.tensor1d([1, 1, 1]) };
    const before = JSON.stringify([flat(params), flat(state)]);
    expect(failsCleanly(() => tx.update(g, state, params)).message).toMatch(/sam: opaqueMode needs extra.valueFn .*no extra argument was given/);
    expect(failsCleanly(() => tx.update(g, state, params, { valueFn: () => { throw new Error('bad batch'); } })).message).toBe('bad batch');
    expect(failsCleanly(() => tx.update(g, state, params, { valueFn: () => 1 })).message).toMatch(/sam: extra.valueFn must return the loss as a one-element tensor/);
    expect(failsCleanly(() => trainStep(tx, params, state, g, { extra: { valueFn: () => { throw new Error('bad batch'); } } })).message).toBe('bad batch');
    expect(JSON.stringify([flat(params), flat(state)])).toBe(before);
    expect(thrown(() => tx.update(g, state)).message).toMatch(/sam: .*needs the current parameters/);
    // A transparent sam given the opaque state.
    expect(thrown(() => sam(sgd(0.1), sgd(0.1)).update(g, state, params)).message).toMatch(/sam: state.cache is null/);
    treeDispose([params, state, g]);
  });

  it('keeps the cache as copies (trainStep may write the params in place)', () => {
    const tx = sam(sgd(0.1), sgd(0.1));
    const params = makeParams();
    const state = tx.init(params);
    expect(flat(state.cache)).toEqual(flat(params));
    expect((state.cache as { scale: tf.Tensor }).scale).not.toBe(params.scale);
    const g = makeGrads(0);
    const a = trainStep(tx, params, state, g);
    const b = trainStep(tx, a.params, a.state, makeGrads(1));
    // After a whole period the params are the cache plus the outer step from it.
    expectBitwiseEqual(flat(b.state.cache), flat(makeParams()));
    treeDispose([a.params, b.params, b.state]);
  });

  it.each([false, true])('saves and loads its state (opaqueMode %s: the cache, or null)', (opaqueMode) => {
    const tx = sam(adam(0.1), normalized(adam(0.05)), { opaqueMode });
    const { state } = updatesOf(tx, 3, [0.5, 2, -1], { valueFn: parabola });
    const params = { x: tf.tensor1d([0, 0, 0]) };
    const back = stateFromArtifacts(tx, params, stateToArtifacts(state));
    expect(back.cache === null).toBe(opaqueMode);
    expect(stateValues(back)).toEqual(stateValues(state));
    treeDispose([state, back, params]);
  });

  it.each([
    ['syncPeriod', 0, RangeError],
    ['syncPeriod', 1.5, RangeError],
    ['syncPeriod', NaN, RangeError],
    ['resetState', 1, TypeError],
    ['opaqueMode', 'yes', TypeError],
  ] as Array<[string, unknown, typeof RangeError]>)('rejects %s = %j, naming the option', (option, value, kind) => {
    const error = thrown(() => sam(sgd(0.1), sgd(0.1), { [option]: value }));
    expect(error).toBeInstanceOf(kind);
    expect(error.message).toContain(`sam: option '${option}'`);
  });

  it('rejects optimizers that are not ones, and unknown options (optax\'s batchAxisName has no tfjs meaning)', () => {
    expect(thrown(() => sam(3 as never, sgd(0.1))).message).toMatch(/sam: expected an outer optimizer/);
    expect(thrown(() => sam(sgd(0.1), null as never)).message).toMatch(/sam: expected an adversarial optimizer/);
    expect(thrown(() => sam(sgd(0.1), sgd(0.1), { batchAxisName: 'i' } as never)).message).toMatch(/sam: unknown option 'batchAxisName'/);
  });
});
