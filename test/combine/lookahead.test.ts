import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  applyUpdates,
  disposeReplaced,
  getHyperparam,
  injectHyperparams,
  lookahead,
  setHyperparam,
  stateFromArtifacts,
  stateToArtifacts,
  sgd,
  trainStep,
  treeDispose,
  type ExtraArgs,
  type GradientTransformation,
  type Params,
  type StateOf,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, extraSpy, failsCleanly, flat, makeGrads, makeParams, PARAM_VALUES, run } from '../helpers.js';

/** The gradient of sum((p - 3)^2) / 2: p - 3. */
const towardsThree = (_k: number, params: Params): Params => ({ w: tf.sub((params as { w: tf.Tensor }).w, 3) });

/**
 * Steps of `tx` on the loss sum((w - 3)^2) / 2 from `w0`, freeing what each step replaces;
 * the parameters and state after each step as flat arrays.
 */
function trajectory(tx: GradientTransformation<any>, w0: number[], steps: number, stateView: (s: any) => unknown = (s) => s) {
  let params: Params = { w: tf.tensor1d(w0) };
  let state = tx.init(params);
  const ps: number[][] = [];
  const ss: unknown[] = [];
  for (let k = 0; k < steps; k++) {
    const grads = towardsThree(k, params);
    const [u, next]: [Params, unknown] = tx.update(grads, state, params);
    const nextParams: Params = applyUpdates<Params>(params, u);
    disposeReplaced([params, state, u, grads], [nextParams, next]);
    params = nextParams;
    state = next;
    ps.push(flat(params));
    ss.push(stateView(state));
  }
  treeDispose([params, state]);
  return { ps, ss };
}

describe('lookahead: hand-derived steps', () => {
  it('syncPeriod 2, slowStepSize 0.5 on sgd(0.5): two phases, params and slow weights at every step', () => {
    // By hand (float64, and every value is exact in float32), for w0 = 1 and w0 = -2, g = w - 3:
    //   step 1: g = -2, w = 2                    | g = -5, w = 0.5
    //   step 2: g = -1, fast 2.5, slow = 1 + 0.5 (2.5 - 1) = 1.75, w = 1.75
    //                                            | g = -2.5, fast 1.75, slow = -2 + 0.5 (1.75 + 2) = -0.125
    //   step 3: g = -1.25, w = 2.375             | g = -3.125, w = 1.4375
    //   step 4: g = -0.625, fast 2.6875, slow = 1.75 + 0.5 (2.6875 - 1.75) = 2.21875
    //                                            | g = -1.5625, fast 2.21875, slow = -0.125 + 0.5 (2.21875 + 0.125) = 1.046875
    const expectedParams = [[2, 0.5], [1.75, -0.125], [2.375, 1.4375], [2.21875, 1.046875]];
    const expectedSlow = [[1, -2], [1.75, -0.125], [1.75, -0.125], [2.21875, 1.046875]];
    // The same in a float64 loop, as the paper writes it (k fast steps, then one slow step).
    const fast = [1, -2];
    const slow = [...fast];
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 2; i++) fast[i] -= 0.5 * (fast[i] - 3);
      if ((k + 1) % 2 === 0) for (let i = 0; i < 2; i++) fast[i] = slow[i] += 0.5 * (fast[i] - slow[i]);
      expect(fast).toEqual(expectedParams[k]);
      expect(slow).toEqual(expectedSlow[k]);
    }
    const tx = lookahead(sgd(0.5), { syncPeriod: 2, slowStepSize: 0.5 });
    const { ps, ss } = trajectory(tx, [1, -2], 4, (s) => ({ count: s.count, slow: flat(s.slow) }));
    ps.forEach((p, k) => expectAllClose(p, expectedParams[k], 1e-7, 0));
    ss.forEach((s, k) => {
      expect((s as { count: number }).count).toBe(k + 1);
      expectAllClose((s as { slow: number[] }).slow, expectedSlow[k], 1e-7, 0);
    });
  });

  it('resetState restarts the fast optimizer at each synchronization (sgd with momentum, by hand)', () => {
    // sgd(0.5, momentum 0.5) from w = 1 with g = w - 3, trace t = g + 0.5 t, u = -0.5 t:
    //   step 1: g = -2, t = -2, w = 2;  step 2: g = -1, t = -2, fast 3, slow = 1 + 0.5 (3 - 1) = 2
    //   reset: t = 0.  step 3: g = -1, t = -1, w = 2.5;  step 4: g = -0.5, t = -1, fast 3, slow = 2.5
    //   without reset: step 3: t = -1 + 0.5 (-2) = -2, w = 3;  step 4: g = 0, t = -1, fast 3.5, slow 2.75
    const view = (s: any) => ({ trace: flat(s.inner[0].trace)[0], count: s.inner[1].count });
    const reset = trajectory(lookahead(sgd(0.5, { momentum: 0.5 }), { syncPeriod: 2, resetState: true }), [1], 4, view);
    expect(reset.ps).toEqual([[2], [2], [2.5], [2.5]]);
    expect(reset.ss).toEqual([{ trace: -2, count: 1 }, { trace: 0, count: 0 }, { trace: -1, count: 1 }, { trace: 0, count: 0 }]);
    const kept = trajectory(lookahead(sgd(0.5, { momentum: 0.5 }), { syncPeriod: 2 }), [1], 4, view);
    expect(kept.ps).toEqual([[2], [2], [3], [2.75]]);
    expect(kept.ss).toEqual([{ trace: -2, count: 1 }, { trace: -2, count: 2 }, { trace: -2, count: 3 }, { trace: -1, count: 4 }]);
  });

  it.each<[string, () => GradientTransformation<any>]>([
    ['sgd', () => sgd(0.1)],
    ['sgd momentum', () => sgd(0.1, { momentum: 0.9 })],
    ['adam', () => adam(0.05)],
  ])('syncPeriod 1 and slowStepSize 1: lookahead(%s) equals it bit for bit', (_name, make) => {
    const plain = run(make(), 5);
    const wrapped = run(lookahead(make(), { syncPeriod: 1, slowStepSize: 1 }), 5);
    plain.updates.forEach((u, k) => expectBitwiseEqual(wrapped.updates[k], u));
    expectBitwiseEqual(wrapped.params, plain.params);
    expectBitwiseEqual(wrapped.state.inner, plain.state);
    // The slow weights are the parameters after every step.
    expectBitwiseEqual(wrapped.state.slow, plain.params);
  });

  it('slowStepSize 0: after every synchronization the parameters are back at the initial values', () => {
    const tx = lookahead(adam(0.1), { syncPeriod: 3, slowStepSize: 0 });
    const { ps, ss } = trajectory(tx, [1, -2, 0.25], 9, (s) => flat(s.slow));
    ps.forEach((p, k) => {
      if ((k + 1) % 3 === 0) expectAllClose(p, [1, -2, 0.25], 0, 1e-6);
      else expect(Math.max(...p.map((x, i) => Math.abs(x - [1, -2, 0.25][i])))).toBeGreaterThan(0.05);
    });
    ss.forEach((s) => expect(s).toEqual([1, -2, 0.25]));
  });

  it('the slow weights are copies: not the parameter tensors, and untouched when the parameters are freed', () => {
    const params = makeParams();
    const tx = lookahead(sgd(0.1));
    const state = tx.init(params);
    expect((state.slow as typeof params).layer.kernel).not.toBe(params.layer.kernel);
    expect(state.count).toBe(0);
    treeDispose(params);
    expectAllClose(flat(state.slow), PARAM_VALUES, 0, 0);
    treeDispose(state);
    // tf.Variable parameters written in place by trainStep leave the slow copies alone.
    const variables = { w: tf.variable(tf.tensor1d([1, -2])) };
    const la = lookahead(sgd(0.5), { syncPeriod: 2 });
    let vs = la.init(variables);
    ({ state: vs } = trainStep(la, variables, vs, { w: tf.tensor1d([-2, -5]) }));
    expect(flat(variables)).toEqual([2, 0.5]);
    expect(flat(vs.slow)).toEqual([1, -2]);
    ({ state: vs } = trainStep(la, variables, vs, { w: tf.tensor1d([-1, -2.5]) }));
    expect(flat(variables)).toEqual([1.75, -0.125]);
    expect(flat(vs.slow)).toEqual([1.75, -0.125]);
    treeDispose([variables, vs]);
  });

  it('converges on a quadratic with trainStep, and leaks nothing over 100 steps (with and without resetState)', () => {
    const before = tf.memory().numTensors;
    const target = tf.tensor1d([3, -1, 0.5, 2]);
    // (Adam restarted every 5 steps takes sign-sized first steps and can cycle around the
    // minimum; the reset is shown converging with momentum SGD.)
    const cases: Array<[GradientTransformation<any>, boolean]> = [[adam(0.1), false], [sgd(0.1, { momentum: 0.5 }), true]];
    for (const [fast, resetState] of cases) {
      const tx = lookahead(fast, { syncPeriod: 5, slowStepSize: 0.5, resetState });
      let params: Params = { w: tf.tensor1d([0, 0, 0, 0]) };
      let state = tx.init(params);
      for (let k = 0; k < 300; k++) {
        const grads = tf.tidy(() => ({ w: tf.mul(2, tf.sub((params as { w: tf.Tensor }).w, target)) }));
        ({ params, state } = trainStep(tx, params, state, grads));
      }
      expectAllClose(flat(params), [3, -1, 0.5, 2], 0, 1e-3);
      treeDispose([params, state]);
      expect(tf.memory().numTensors).toBe(before + 1);
    }
    const tx = lookahead(sgd(0.01, { momentum: 0.9 }), { syncPeriod: 3, resetState: true });
    let params: Params = makeParams();
    let state: StateOf<typeof tx> = tx.init(params);
    for (let k = 0; k < 100; k++) {
      const grads = makeGrads(k);
      const [u, next]: [Params, StateOf<typeof tx>] = tx.update(grads, state, params);
      const nextParams: Params = applyUpdates<Params>(params, u);
      disposeReplaced([params, state, u, grads], [nextParams, next]);
      [params, state] = [nextParams, next];
    }
    treeDispose([params, state, target]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a checkpoint of the state resumes bit for bit; injectHyperparams reaches the fast learning rate', () => {
    const tx = lookahead(adam(0.05), { syncPeriod: 3 });
    const a = run(tx, 4);
    const restored = stateFromArtifacts(tx, a.params, stateToArtifacts(a.state));
    expectBitwiseEqual(restored, a.state);
    const g = makeGrads(4);
    const [u1, s1] = tx.update(g, a.state, a.params);
    const [u2, s2] = tx.update(g, restored, a.params);
    expectBitwiseEqual([u1, s1], [u2, s2]);
    const injected = injectHyperparams((h: { lr: number }) => lookahead(adam(h.lr), { syncPeriod: 3 }))({ lr: 0.05 });
    const b = run(injected, 4);
    expectBitwiseEqual(b.params, a.params);
    expect(getHyperparam(setHyperparam(b.state, 'lr', 0.01), 'lr')).toBe(0.01);
    treeDispose([a, restored, g, u1, s1, u2, s2, b]);
  });

  it("finds the fast optimizer's learning rate, and passes extra through unchanged", () => {
    const { spy, seen } = extraSpy();
    const params = makeParams();
    const grads = makeGrads(0);
    const extra: ExtraArgs = { value: 1.5 };
    const tx = lookahead(spy, { syncPeriod: 2 });
    const [u, s] = tx.update(grads, tx.init(params), params, extra);
    expect(seen).toEqual([extra]);
    expect(seen[0]).toBe(extra);
    expect(u).toBe(grads);
    const withAdam = lookahead(adam(0.01));
    const t = withAdam.init(params);
    expect(getHyperparam(t, 'learningRate')).toBe(0.01);
    treeDispose([params, grads, s, t]);
  });
});

describe('lookahead: bad input', () => {
  it.each<[string, () => unknown, ErrorConstructor, RegExp]>([
    ['syncPeriod 0', () => lookahead(sgd(0.1), { syncPeriod: 0 }), RangeError, /lookahead: option 'syncPeriod' must be a finite number >= 1, got 0/],
    ['syncPeriod 2.5', () => lookahead(sgd(0.1), { syncPeriod: 2.5 }), RangeError, /lookahead: option 'syncPeriod' must be a whole number, got 2\.5/],
    ['slowStepSize > 1', () => lookahead(sgd(0.1), { slowStepSize: 1.5 }), RangeError, /lookahead: option 'slowStepSize' must be a finite number in \[0, 1\], got 1\.5/],
    ['slowStepSize < 0', () => lookahead(sgd(0.1), { slowStepSize: -0.5 }), RangeError, /lookahead: option 'slowStepSize'.*got -0\.5/],
    ['slowStepSize NaN', () => lookahead(sgd(0.1), { slowStepSize: NaN }), RangeError, /lookahead: option 'slowStepSize'.*got NaN/],
    ['resetState not a boolean', () => lookahead(sgd(0.1), { resetState: 'yes' as never }), TypeError, /lookahead: option 'resetState' must be true or false, got "yes"/],
    ['unknown option', () => lookahead(sgd(0.1), { k: 5 } as never), TypeError, /lookahead: unknown option 'k'/],
    ['no fast optimizer', () => lookahead(undefined as never), TypeError, /lookahead: expected a fast optimizer \(\{ init, update \}\), got undefined/],
  ])('%s', (_name, fn, type, message) => {
    const err = failsCleanly(fn);
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
  });

  it('update without params, or with a wrong state, fails naming lookahead and the path', () => {
    const tx = lookahead(adam(0.1));
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    expect(failsCleanly(() => tx.update(grads, state)).message).toMatch(/^lookahead: this transformation needs the current parameters/);
    expect(failsCleanly(() => tx.update(grads, { count: 0, slow: state.slow } as never, params)).message).toMatch(
      /^lookahead: state must be \{count, inner, slow\}, got an object with keys \{count, slow\}/,
    );
    expect(failsCleanly(() => tx.update(grads, { ...state, inner: [state.inner[0]] } as never, params)).message).toMatch(
      /^lookahead: state\.inner must be \[\{count, mu, nu\}, \{count, learningRate\}\], got an array of length 1/,
    );
    const bad = tf.zeros([4]);
    const slow = state.slow as ReturnType<typeof makeParams>;
    const wrongSlow = { ...state, slow: { ...slow, layer: { ...slow.layer, bias: bad } } };
    expect(failsCleanly(() => tx.update(grads, wrongSlow, params)).message).toMatch(
      /^lookahead: shape mismatch at layer\.bias: updates\.layer\.bias has shape \[3\], but state\.slow\.layer\.bias has shape \[4\]/,
    );
    expect(failsCleanly(() => tx.update(grads, { ...state, count: -1 }, params)).message).toMatch(/lookahead: state\.count must be a whole number >= 0/);
    expect(failsCleanly(() => tx.update(grads, state, { layer: params.layer })).name).toBe('TreeStructureError');
    const int = tf.tensor1d([1, 2, 3], 'int32');
    expect(failsCleanly(() => tx.init({ ...params, layer: { ...params.layer, bias: int } })).message).toMatch(
      /lookahead: params\.layer\.bias must be a float32 tensor, got int32/,
    );
    treeDispose([params, grads, state, bad, int]);
  });
});
