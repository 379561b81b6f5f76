import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  adam,
  chain,
  clipByGlobalNorm,
  getHyperparam,
  injectHyperparams,
  scaleByLearningRate,
  scaleByRms,
  scheduleFree,
  scheduleFreeAdamw,
  scheduleFreeEvalParams,
  scheduleFreeSgd,
  setHyperparam,
  sgd,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  treeDispose,
  type GradientTransformation,
  type Params,
  type Schedule,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, extraSpy, flat, gradValues32, makeGrads, makeParams, PARAM_VALUES, run, stateValues, tensorsOf } from '../helpers.js';

type AnyTx = GradientTransformation<any>;

const schedule: Schedule = (c) => 0.05 * (c + 1) ** -0.5 + 0.01 * Math.min(c, 3);

/**
 * Schedule-free SGD in float64, straight from the paper / optax formulas, for any number of
 * coordinates: with `y` the parameters, `z` the SGD iterate and `x` the average,
 *
 *     maxLr = max(maxLr, lr_k);  w = maxLr^p;  weightSum += w;  c = w / weightSum  (0 for 0/0)
 *     x     = (y - (1 - b1) z) / b1
 *     z'    = z - lr_k (g + wd y)
 *     x'    = (1 - c) x + c z'
 *     y'    = b1 x' + (1 - b1) z'
 *
 * Returns the updates `y' - y` of every step and the final `x`, `y`, `z`.
 */
function referenceSgd(opts: {
  lr: (k: number) => number;
  /** A number, or one per step (an injected schedule). */
  b1?: number | ((k: number) => number);
  power?: number;
  wd?: (k: number) => number;
  steps: number;
  y0: number[];
  grad: (k: number, y: number[]) => number[];
}): { updates: number[][]; x: number[]; y: number[]; z: number[]; maxLr: number; weightSum: number } {
  const { b1: b1Option = 0.9, power = 2, wd = () => 0 } = opts;
  let y = opts.y0.slice();
  let z = y.slice();
  let x = y.slice();
  let maxLr = 0;
  let weightSum = 0;
  const updates: number[][] = [];
  for (let k = 0; k < opts.steps; k++) {
    const lr = opts.lr(k);
    maxLr = Math.max(maxLr, lr);
    const w = maxLr ** power;
    weightSum += w;
    const c = weightSum === 0 ? 0 : w / weightSum;
    const b1 = typeof b1Option === 'number' ? b1Option : b1Option(k);
    const g = opts.grad(k, y);
    const xPrev = y.map((yi, i) => (yi - (1 - b1) * z[i]) / b1);
    const z1 = z.map((zi, i) => zi - lr * (g[i] + wd(k) * y[i]));
    x = xPrev.map((xi, i) => (1 - c) * xi + c * z1[i]);
    const y1 = x.map((xi, i) => b1 * xi + (1 - b1) * z1[i]);
    updates.push(y1.map((v, i) => v - y[i]));
    y = y1;
    z = z1;
  }
  return { updates, x, y, z, maxLr, weightSum };
}

describe('scheduleFree: hand-derived steps', () => {
  it('scheduleFree(sgd(0.5)) on f(y) = y²/2 from y = 1: three steps worked out by hand', () => {
    // b1 = 0.9, constant lr = 0.5, so maxLr = 0.5 and c_k = 1/k (the plain running mean of z).
    //   step 1: g = y0 = 1; z1 = 1 - 0.5·1 = 0.5; x1 = z1 = 0.5 (c = 1); y1 = 0.9·0.5 + 0.1·0.5 = 0.5
    //   step 2: g = 0.5; z2 = 0.25; x = (0.5 - 0.1·0.5)/0.9 = 0.5; x2 = (0.5 + 0.25)/2 = 0.375;
    //           y2 = 0.9·0.375 + 0.1·0.25 = 0.3625
    //   step 3: g = 0.3625; z3 = 0.25 - 0.18125 = 0.06875; x = (0.3625 - 0.025)/0.9 = 0.375;
    //           x3 = (2·0.375 + 0.06875)/3 = 0.2729166...; y3 = 0.9·x3 + 0.1·0.06875 = 0.2525
    const tx = scheduleFree(sgd(0.5), { learningRate: 0.5 });
    let y: tf.Tensor = tf.tensor1d([1]);
    let state = tx.init(y);
    const ys: number[] = [];
    for (let k = 0; k < 3; k++) {
      const [u, next] = tx.update(tf.clone(y), state, y);
      const y1 = tf.add(y, u);
      treeDispose([u, y]);
      y = y1;
      state = next;
      ys.push(y.dataSync()[0]);
    }
    expectAllClose(ys, [0.5, 0.3625, 0.2525], 1e-6);
    expectAllClose(flat(state.z), [0.06875], 1e-6);
    const x = scheduleFreeEvalParams(state, y);
    expectAllClose(flat(x), [(2 * 0.375 + 0.06875) / 3], 1e-6);
    expect(state.count).toBe(3);
    expect(state.maxLr).toBe(0.5);
    expect(state.weightSum).toBe(0.75); // 3 · 0.5²
    treeDispose([x, y, state]);
  });

  it('scheduleFree(sgd(schedule)) over a tree, b1 = 0.8, weightLrPower = 3: three steps against float64', () => {
    const tx = scheduleFree(sgd(schedule), { learningRate: schedule, b1: 0.8, weightLrPower: 3 });
    const out = run(tx, 3);
    const ref = referenceSgd({ lr: schedule, b1: 0.8, power: 3, steps: 3, y0: PARAM_VALUES, grad: gradValues32 });
    out.updates.forEach((u, k) => expectAllClose(u, ref.updates[k], 1e-5, 1e-6));
    expectAllClose(flat(out.state.z), ref.z, 1e-5, 1e-6);
    // The float64 scalars are the reference's exactly.
    expect(out.state.maxLr).toBe(ref.maxLr);
    expect(out.state.weightSum).toBe(ref.weightSum);
    expect(out.state.learningRate).toBe(schedule(3));
    const x = scheduleFreeEvalParams(out.state, out.params);
    expectAllClose(flat(x), ref.x, 1e-5, 1e-6);
    treeDispose([out, x]);
  });

  it('scheduleFreeSgd with warmup and weight decay: three steps against float64', () => {
    // warmupSteps = 2: lr_k = 0.3·min(k, 2)/2 = 0, 0.15, 0.3. The first step has lr = 0, so
    // maxLr = w = weightSum = 0, c = 0/0 -> 0: z does not move and x = y, y' = y.
    const tx = scheduleFreeSgd(0.3, { warmupSteps: 2, weightDecay: 0.1 });
    const out = run(tx, 3);
    const ref = referenceSgd({ lr: (k) => (0.3 * Math.min(k, 2)) / 2, wd: () => 0.1, steps: 3, y0: PARAM_VALUES, grad: gradValues32 });
    expectAllClose(out.updates[0], new Array(10).fill(0), 0, 1e-7);
    out.updates.forEach((u, k) => expectAllClose(u, ref.updates[k], 1e-5, 1e-6));
    const x = scheduleFreeEvalParams(out.state, out.params);
    expectAllClose(flat(x), ref.x, 1e-5, 1e-6);
    expect(getHyperparam(out.state, 'learningRate')).toBe(0.3);
    treeDispose([out, x]);
  });

  it('b1 = 1 is plain averaging of the SGD iterates at the average (y = x)', () => {
    const out = run(scheduleFree(sgd(0.1), { learningRate: 0.1, b1: 1 }), 3);
    const ref = referenceSgd({ lr: () => 0.1, b1: 1, steps: 3, y0: PARAM_VALUES, grad: gradValues32 });
    out.updates.forEach((u, k) => expectAllClose(u, ref.updates[k], 1e-5, 1e-6));
    const x = scheduleFreeEvalParams(out.state, out.params);
    expectBitwiseEqual(x, out.params);
    treeDispose([out, x]);
  });

  it('init: z is a copy of the params, the scalars start at 0; the base state is inside', () => {
    const params = makeParams();
    const tx = scheduleFreeAdamw(schedule, { b1: 0.95 });
    const state = tx.init(params);
    expect(state.count).toBe(0);
    expect(state.learningRate).toBe(schedule(0));
    expect(state.b1).toBe(0.95);
    expect(state.weightSum).toBe(0);
    expect(state.maxLr).toBe(0);
    expect((state.z as ReturnType<typeof makeParams>).layer.bias).not.toBe(params.layer.bias);
    expectBitwiseEqual(state.z, params);
    expect(Object.keys(state).sort()).toEqual(['b1', 'baseOptimizerState', 'count', 'learningRate', 'maxLr', 'weightSum', 'z']);
    expect(state.baseOptimizerState[1]).toEqual({ count: 0, weightDecay: 0 });
    treeDispose([params, state]);
  });
});

describe('the learning rate in the state', () => {
  const cases: Array<[string, () => AnyTx]> = [
    ['scheduleFreeAdamw', () => scheduleFreeAdamw(schedule, { weightDecay: 0.01 })],
    ['scheduleFreeSgd', () => scheduleFreeSgd(schedule)],
    ['scheduleFreeSgd with weight decay', () => scheduleFreeSgd(schedule, { weightDecay: 1e-3 })],
    ['scheduleFree(adam(b1: 0))', () => scheduleFree(adam(schedule, { b1: 0 }), { learningRate: schedule })],
  ];

  it.each(cases)('%s: after k updates, getHyperparam(state, "learningRate") = schedule(k); maxLr = the largest used', (_name, make) => {
    const tx = make();
    let params: Params = makeParams();
    let state = tx.init(params);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(0));
    let maxLr = 0;
    for (let k = 0; k < 6; k++) {
      ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      maxLr = Math.max(maxLr, schedule(k));
      expect(getHyperparam(state, 'learningRate')).toBe(schedule(k + 1));
      expect(getHyperparam(state, 'maxLr')).toBe(maxLr);
      // The base optimizer's copy agrees (a dotted path reaches it).
      expect(getHyperparam(state, 'baseOptimizerState.learningRate')).toBe(schedule(k + 1));
    }
    treeDispose([params, state]);
  });

  it('a name at the root of a state and deeper: the name alone is the root\'s, a dotted path the deeper one', () => {
    const state = { learningRate: 1, count: 0, inner: [{ learningRate: 2 }], other: { learningRate: 3 } };
    expect(getHyperparam(state, 'learningRate')).toBe(1);
    expect(getHyperparam(state, 'inner.learningRate')).toBe(2);
    expect(getHyperparam(setHyperparam(state, 'learningRate', 5), 'learningRate')).toBe(5);
    expect(() => getHyperparam({ a: { learningRate: 1 }, b: { learningRate: 2 } }, 'learningRate')).toThrow(
      "getHyperparam: 'learningRate' is at more than one place: a.learningRate, b.learningRate",
    );
  });

  it('setHyperparam on scheduleFreeAdamw moves both the averaging weights and the Adam step', () => {
    const tx = scheduleFreeAdamw(0.1);
    const params = makeParams();
    const [, s1] = tx.update(makeGrads(0), tx.init(params), params);
    const snapshot = stateValues(s1);
    const set = setHyperparam(s1, 'learningRate', 0.4);
    expect(stateValues(s1)).toEqual(snapshot);
    const [u, s2] = tx.update(makeGrads(1), set, params);
    // The same as a state where both copies were set by hand.
    const both = { ...set, baseOptimizerState: [set.baseOptimizerState[0], set.baseOptimizerState[1], { count: 1, learningRate: 0.4 }] };
    const [v, t2] = tx.update(makeGrads(1), both as typeof set, params);
    expectBitwiseEqual(u, v);
    expect(s2.maxLr).toBe(0.4);
    expect(getHyperparam(s2, 'learningRate')).toBe(0.4);
    expect(getHyperparam(s2, 'baseOptimizerState.learningRate')).toBe(0.4);
    // ...and it differs from leaving the Adam step at 0.1.
    const weightsOnly = scheduleFree(
      chain(scaleByRms({ decay: 0.999, eps: 1e-8, epsInSqrt: false, biasCorrection: true }), addDecayedWeights(0), scaleByLearningRate(0.1)),
      { learningRate: 0.1 },
    );
    const [w, t3] = weightsOnly.update(makeGrads(1), set as never, params);
    expect(flat(w)).not.toEqual(flat(u));
    expect(getHyperparam(t3, 'baseOptimizerState.learningRate')).toBe(0.1);
    treeDispose([params, s1, u, s2, v, t2, w, t3]);
  });

  it('injectHyperparams(scheduleFreeAdamw) and injectHyperparams(scheduleFreeSgd) equal the plain calls bit for bit', () => {
    const pairs: Array<[AnyTx, AnyTx]> = [
      [injectHyperparams(scheduleFreeAdamw)({ learningRate: schedule, weightDecay: 0.01, b1: 0.9 }), scheduleFreeAdamw(schedule, { weightDecay: 0.01, b1: 0.9 })],
      // warmupSteps injected as a number: the warmup schedule is rebuilt each step and the rate
      // reset at the state's count.
      [injectHyperparams(scheduleFreeAdamw)({ learningRate: 0.1, warmupSteps: 3, b2: 0.99 }), scheduleFreeAdamw(0.1, { warmupSteps: 3, b2: 0.99 })],
      [injectHyperparams(scheduleFreeSgd)({ learningRate: schedule, weightDecay: schedule }), scheduleFreeSgd(schedule, { weightDecay: schedule })],
    ];
    for (const [injected, plain] of pairs) {
      const a = run(injected, 8);
      const b = run(plain, 8);
      expectBitwiseEqual(a.params, b.params);
      // The tensors bit for bit; the inner copies of an injected rate hold the value their last update used.
      expectBitwiseEqual(tensorsOf(a.state.inner), tensorsOf(b.state));
      expect(a.state.inner.maxLr).toBe(b.state.maxLr);
      expect(a.state.inner.weightSum).toBe(b.state.weightSum);
      const xa = scheduleFreeEvalParams(a.state, a.params);
      const xb = scheduleFreeEvalParams(b.state, b.params);
      expectBitwiseEqual(xa, xb);
      treeDispose([a, b, xa, xb]);
    }
    const s = injectHyperparams(scheduleFreeAdamw)({ learningRate: schedule }).init(makeParams());
    expect(getHyperparam(s, 'learningRate')).toBe(schedule(0));
    treeDispose(s);
  });

  it('an injected b1 is used by the update and by scheduleFreeEvalParams', () => {
    const b1: Schedule = (c) => (c < 2 ? 0.9 : 0.5);
    const tx = injectHyperparams(scheduleFreeSgd)({ learningRate: 0.1, b1 });
    const out = run(tx, 3);
    const ref = referenceSgd({ lr: () => 0.1, b1, steps: 3, y0: PARAM_VALUES, grad: gradValues32 });
    out.updates.forEach((u, k) => expectAllClose(u, ref.updates[k], 1e-5, 1e-6));
    expect(out.state.inner.b1).toBe(0.5);
    const x = scheduleFreeEvalParams(out.state, out.params);
    expectAllClose(flat(x), ref.x, 1e-5, 1e-6);
    treeDispose([out, x]);
  });
});

describe('scheduleFreeEvalParams', () => {
  it('x = (y - (1 - b1) z) / b1, as new tensors; nothing disposed or changed', () => {
    const tx = scheduleFreeSgd(0.1, { b1: 0.8 });
    const params = { a: tf.tensor1d([1, 2]), b: tf.scalar(-3) };
    const state = { ...tx.init(params), z: { a: tf.tensor1d([0.5, 4]), b: tf.scalar(1) } };
    const before = tf.memory().numTensors;
    const x = scheduleFreeEvalParams(state, params);
    // (1 - 0.2·0.5)/0.8 = 1.125, (2 - 0.8)/0.8 = 1.5, (-3 - 0.2)/0.8 = -4
    expectAllClose(flat(x), [1.125, 1.5, -4], 1e-6);
    expect(tf.memory().numTensors - before).toBe(2);
    expect(x.a).not.toBe(params.a);
    expect(params.a.isDisposed || state.z.a.isDisposed).toBe(false);
    expectAllClose(flat(params), [1, 2, -3], 0);
    treeDispose([x, params, state]);
  });

  it('finds the schedule-free state inside a chain or injectHyperparams; errors name what it got', () => {
    const params = makeParams();
    const tx = chain(clipByGlobalNorm(1), scheduleFreeSgd(0.1));
    const state = tx.init(params);
    const x = scheduleFreeEvalParams(state, params);
    expectAllClose(flat(x), PARAM_VALUES, 1e-6, 1e-7);
    const injected = injectHyperparams(scheduleFreeSgd)({ learningRate: 0.1, b1: 0.5 });
    const s1 = injected.update(makeGrads(0), injected.init(params), params);
    const x1 = scheduleFreeEvalParams(s1[1], params);
    // x = (y - 0.5 z1) / 0.5 with z1 = y - 0.1 g: x = y + 0.1 g.
    expectAllClose(flat(x1), PARAM_VALUES.map((p, i) => p + 0.1 * gradValues32(0)[i]), 1e-5, 1e-6);
    treeDispose([s1, x1]);
    expect(() => scheduleFreeEvalParams(adam(0.1).init(params), params)).toThrow(
      'scheduleFreeEvalParams: expected the state of scheduleFree, scheduleFreeAdamw or scheduleFreeSgd ({b1, baseOptimizerState, count, learningRate, maxLr, weightSum, z}) or a state holding one, got an array of length 2',
    );
    expect(() => scheduleFreeEvalParams([state[1], state[1]], params)).toThrow(
      'scheduleFreeEvalParams: the state holds 2 schedule-free states, at state[0], state[1]; pass the one to evaluate',
    );
    const before = tf.memory().numTensors;
    expect(() => scheduleFreeEvalParams(state, { layer: params.layer })).toThrow(/scheduleFreeEvalParams: .*scale/);
    expect(() => scheduleFreeEvalParams({ ...state[1], b1: 0 }, params)).toThrow('scheduleFreeEvalParams: state.b1 must be a number in (0, 1], got a number (0)');
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([params, state, x]);
  });
});

describe('memory, extra arguments, checkpoints', () => {
  it('leaks nothing over 100 trainSteps plus scheduleFreeEvalParams calls (disposed)', () => {
    for (const tx of [scheduleFreeAdamw(schedule, { weightDecay: 0.01 }), scheduleFreeSgd(0.1, { warmupSteps: 5 })] as AnyTx[]) {
      let params: Params = makeParams();
      let state = tx.init(params);
      ({ params, state } = trainStep(tx, params, state, makeGrads(0)));
      const before = tf.memory().numTensors;
      for (let k = 1; k < 100; k++) {
        ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
        treeDispose(scheduleFreeEvalParams(state, params));
      }
      expect(tf.memory().numTensors).toBe(before);
      treeDispose([params, state]);
    }
  });

  it('tf.Variable parameters, updated in place by trainStep, give the same steps (z is a copy, not the variable)', () => {
    const tx = scheduleFreeAdamw(0.05, { weightDecay: 0.01 });
    const plain = makeParams();
    const vars = { layer: { kernel: tf.variable(plain.layer.kernel), bias: tf.variable(plain.layer.bias) }, scale: tf.variable(plain.scale) };
    let p: Params = plain;
    let s = tx.init(p);
    let v: Params = vars;
    let t = tx.init(v);
    for (let k = 0; k < 4; k++) {
      ({ params: p, state: s } = trainStep(tx, p, s, makeGrads(k)));
      ({ params: v, state: t } = trainStep(tx, v, t, makeGrads(k)));
    }
    expect((v as typeof vars).layer.kernel).toBe(vars.layer.kernel);
    expectBitwiseEqual(v, p);
    expectBitwiseEqual(t.z, s.z);
    treeDispose([p, s, v, t]);
  });

  it('passes extra unchanged to the base optimizer', () => {
    const { spy, seen } = extraSpy();
    const extra = { value: 2 };
    const params = makeParams();
    const tx = scheduleFree(chain(spy, sgd(0.1)), { learningRate: 0.1 });
    const [u, s] = tx.update(makeGrads(0), tx.init(params), params, extra);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(extra);
    treeDispose([params, u, s]);
  });

  it('a checkpoint round trip resumes bit for bit', () => {
    const tx = scheduleFreeAdamw(schedule, { weightDecay: 0.01 });
    const a = run(tx, 3);
    const back = stateFromArtifacts(tx, a.params, stateToArtifacts(a.state));
    expect(stateValues(back)).toEqual(stateValues(a.state));
    const [u1] = tx.update(makeGrads(3), a.state, a.params);
    const [u2, s2] = tx.update(makeGrads(3), back, a.params);
    expectBitwiseEqual(u1, u2);
    treeDispose([a, back, u1, u2, s2]);
  });
});

describe('bad input: clear errors, thrown before anything is created', () => {
  it('options: RangeError or TypeError naming the option and the value', () => {
    const base = sgd(0.1);
    const cases: Array<[() => unknown, string | RegExp, ErrorConstructor]> = [
      [() => scheduleFree(base, { learningRate: 0.1, b1: 0 }), "scheduleFree: option 'b1' must be a finite number in (0, 1], got 0", RangeError],
      [() => scheduleFree(base, { learningRate: 0.1, b1: 1.5 }), "scheduleFree: option 'b1' must be a finite number in (0, 1], got 1.5", RangeError],
      [() => scheduleFree(base, { learningRate: 0.1, weightLrPower: -1 }), "scheduleFree: option 'weightLrPower' must be a finite number >= 0, got -1", RangeError],
      [() => scheduleFree(base, { learningRate: -0.1 }), "scheduleFree: option 'learningRate' must be a finite number >= 0, got -0.1", RangeError],
      [() => scheduleFree(base, { learningRate: NaN }), "scheduleFree: option 'learningRate' must be a finite number >= 0, got NaN", RangeError],
      [() => scheduleFree(base, {} as never), "scheduleFree: option 'learningRate' is required", TypeError],
      [() => scheduleFree(base, { learningRate: 0.1, lr: 1 } as never), "scheduleFree: unknown option 'lr' (known options: learningRate, b1, weightLrPower)", TypeError],
      [() => scheduleFree({} as never, { learningRate: 0.1 }), 'scheduleFree: expected a base optimizer ({ init, update }), got an object with keys {}', TypeError],
      [() => scheduleFreeAdamw(0.1, { warmupSteps: 0 }), "scheduleFreeAdamw: option 'warmupSteps' must be a finite number >= 1, got 0", RangeError],
      [() => scheduleFreeAdamw(0.1, { warmupSteps: 2.5 }), "scheduleFreeAdamw: option 'warmupSteps' must be a whole number, got 2.5", RangeError],
      [() => scheduleFreeAdamw(0.1, { b2: 1 }), "scheduleFreeAdamw: option 'b2' must be a finite number in [0, 1), got 1", RangeError],
      [() => scheduleFreeAdamw(0.1, { eps: -1 }), "scheduleFreeAdamw: option 'eps' must be a finite number >= 0, got -1", RangeError],
      [() => scheduleFreeAdamw(0.1, { weightDecay: -1 }), "scheduleFreeAdamw: option 'weightDecay' must be a finite number >= 0, got -1", RangeError],
      [() => scheduleFreeAdamw(0.1, { b1: 0 }), "scheduleFreeAdamw: option 'b1' must be a finite number in (0, 1], got 0", RangeError],
      [() => scheduleFreeAdamw(0.1, { weightLrPower: Infinity }), "scheduleFreeAdamw: option 'weightLrPower' must be a finite number >= 0, got Infinity", RangeError],
      [() => scheduleFreeAdamw(schedule, { warmupSteps: 3 }), /scheduleFreeAdamw: option 'warmupSteps' needs a number learningRate/, TypeError],
      [() => scheduleFreeSgd(0.1, { mask: { a: true } }), "scheduleFreeSgd: option 'mask' needs 'weightDecay'", TypeError],
      [() => scheduleFreeSgd(0.1, { momentum: 0.9 } as never), /scheduleFreeSgd: unknown option 'momentum'/, TypeError],
      [() => scheduleFreeSgd(undefined as never), "scheduleFreeSgd: option 'learningRate' must be a number or a schedule (count) => number, got undefined", TypeError],
    ];
    for (const [make, message, type] of cases) {
      expect(make).toThrow(type);
      expect(make).toThrow(message);
    }
  });

  it('a bad state is an error naming its path; nothing created, nothing changed', () => {
    const tx = scheduleFreeAdamw(0.1);
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    const snapshot = stateValues(state);
    const cases: Array<[unknown, string | RegExp]> = [
      [{ ...state, b1: 0 }, 'scheduleFreeAdamw: state.b1 must be a number in (0, 1], got a number (0)'],
      [{ ...state, b1: -1 }, 'scheduleFreeAdamw: state.b1 must be a finite number >= 0 (the value the next update uses), got a number (-1)'],
      [{ ...state, learningRate: -1 }, 'scheduleFreeAdamw: state.learningRate must be a finite number >= 0 (the value the next update uses), got a number (-1)'],
      [{ ...state, count: 1.5 }, 'scheduleFreeAdamw: state.count must be a whole number >= 0 (the step count), got a number (1.5)'],
      [{ ...state, weightSum: '0' }, /scheduleFreeAdamw: state.weightSum must be a number, got a string/],
      [(({ z: _z, ...rest }) => rest)(state), /scheduleFreeAdamw: state must be \{b1, baseOptimizerState, count, learningRate, maxLr, weightSum, z\}, got an object with keys \{b1, baseOptimizerState, count, learningRate, maxLr, weightSum\}/],
      [{ ...state, baseOptimizerState: [state.baseOptimizerState[0], state.baseOptimizerState[2]] }, /scheduleFreeAdamw: state.baseOptimizerState must be \[\{count, nu\}, \{count, weightDecay\}, \{count, learningRate\}\], got an array of length 2/],
      [{ ...state, baseOptimizerState: [{}, state.baseOptimizerState[1], state.baseOptimizerState[2]] }, /scheduleFreeAdamw: state.baseOptimizerState\[0\] must be \{count, nu\}/],
      [{ ...state, z: { ...(state.z as object), scale: (state.z as ReturnType<typeof makeParams>).layer.bias } }, /scheduleFreeAdamw: shape mismatch at scale: updates.scale has shape \[\], but state.z.scale has shape \[3\]/],
      [adam(0.1).init(params), /scheduleFreeAdamw: state must be \{b1, baseOptimizerState, count, learningRate, maxLr, weightSum, z\}, got an array of length 2/],
    ];
    const before = tf.memory().numTensors;
    for (const [bad, message] of cases) expect(() => tx.update(grads, bad as typeof state, params)).toThrow(message);
    expect(() => tx.update(grads, state)).toThrow('scheduleFreeAdamw: this transformation needs the current parameters; call update(updates, state, params)');
    expect(tf.memory().numTensors).toBe(before);
    expect(stateValues(state)).toEqual(snapshot);
    // Integer parameters are rejected at init, before the base optimizer or z is made.
    const ints = { w: tf.tensor1d([1, 2], 'int32') };
    const n = tf.memory().numTensors;
    expect(() => tx.init(ints)).toThrow('scheduleFreeAdamw: params.w must be a float32 tensor, got int32 of shape [2]');
    expect(tf.memory().numTensors).toBe(n);
    treeDispose([params, grads, state, ints]);
  });
});
