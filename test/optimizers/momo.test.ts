import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { applyUpdates, getHyperparam, stateFromArtifacts, stateToArtifacts, injectHyperparams, kernelPath, momo, momoAdam, trainStep, treeDispose, type GradientTransformation, type Params } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, makeGrads, makeParams, minimize, parabola, parabolaGrad, PARABOLA_TARGET, rosenbrock, rosenbrockGrad, thrown } from '../helpers.js';

// momo and momoAdam, as optax 0.2.8's contrib: its docstring examples, its common test's
// convergence at learning rate 1e-1, and a float64 reference of its update.

type AnyTx = GradientTransformation<any>;

interface RefOptions { adam?: boolean; beta?: number; b1?: number; b2?: number; eps?: number; lowerBound?: number; wd?: number; adapt?: boolean }

/** Float64 MoMo / MoMo-Adam as optax writes them: (g, x, loss) => update. */
function momoRef(lr: number, o: RefOptions = {}) {
  const { adam = false, beta = 0.9, b1 = 0.9, b2 = 0.999, eps = 1e-8, lowerBound = 0, wd = 0, adapt = false } = o;
  let ea: number[] = [];
  let eas: number[] = [];
  let barf = 0;
  let gamma = 0;
  let lb = lowerBound;
  let k = 0;
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  return (g: number[], x: number[], value: number): number[] => {
    if (k === 0) [ea, eas] = [g.map(() => 0), g.map(() => 0)];
    const b = adam ? b1 : k === 0 ? 0 : beta;
    const bc1 = adam ? 1 - b1 ** (k + 1) : 1;
    const bc2 = adam ? 1 - b2 ** (k + 1) : 1;
    barf = b * barf + (1 - b) * value;
    ea = ea.map((m, i) => b * m + (1 - b) * g[i]);
    eas = eas.map((v, i) => b2 * v + (1 - b2) * g[i] ** 2);
    const prec = adam ? eas.map((v) => eps + Math.sqrt(v / bc2)) : g.map(() => 1);
    const dir = ea.map((m, i) => m / prec[i]);
    const norm = dot(ea, dir);
    gamma = b * gamma + (1 - b) * dot(g, x);
    const iprod = dot(ea, x);
    const r = 1 + lr * wd;
    let thisLb = lb;
    if (adapt) {
      const cap = r * (barf - gamma) + iprod;
      if (cap < r * bc1 * lb) thisLb = Math.max(cap / (2 * bc1 * r), lowerBound);
    }
    const t1 = norm <= Number.EPSILON ? 0 : Math.max(r * (barf - bc1 * thisLb - gamma) + iprod, 0) / norm;
    const tau = Math.min(lr / bc1, t1);
    if (adapt) lb = Math.max((barf + iprod - gamma - 0.5 * tau * norm) / bc1, lowerBound);
    k++;
    return x.map((xi, i) => -((lr * wd) / r) * xi - tau * dir[i]);
  };
}

const sumSq = (x: number[]) => x.reduce((s, v) => s + v * v, 0);

/**
 * optax's docstring loop on f = sum(x^2) from [1, 2, 3], which assigns `update`'s result to the
 * params (`params, opt_state = solver.update(...)`): f after each of 5 steps.
 */
function docstringLoop(tx: AnyTx): number[] {
  let params: tf.Tensor = tf.tensor1d([1, 2, 3]);
  let state = tx.init(params);
  const out: number[] = [];
  for (let k = 0; k < 5; k++) {
    const x = flat(params);
    const grads = tf.tensor1d(x.map((v) => 2 * v));
    const [u, next] = tx.update(grads, state, params, { value: sumSq(x) });
    treeDispose([grads, params, state]);
    [params, state] = [u, next];
    out.push(sumSq(flat(params)));
  }
  treeDispose([params, state]);
  return out;
}

/** `steps` updates on makeParams() with makeGrads(k) and loss 1 + k / 10, against the float64 reference. */
function expectFollows(tx: AnyTx, ref: (g: number[], x: number[], v: number) => number[], steps = 5): void {
  let params: Params = makeParams();
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) {
    const grads = makeGrads(k);
    const [u, next]: [Params, unknown] = tx.update(grads, state, params, { value: 1 + k / 10 });
    expectAllClose(flat(u), ref(flat(grads), flat(params), 1 + k / 10), 2e-5, 1e-7);
    const p: Params = applyUpdates(params, u);
    treeDispose([u, grads, params, state]);
    [params, state] = [p, next];
  }
  treeDispose([params, state]);
}

describe('momo', () => {
  it("reproduces optax's docstring: f = 3.5, 0, 0, 0, 0 (updates assigned to the params, as the docstring does)", () => {
    expect(docstringLoop(momo())).toEqual([3.5, 0, 0, 0, 0]);
  });

  it('halves x on sum(x^2) at the first step: tau = f / |g|^2 = 1/4 (the Polyak step)', () => {
    let params: Params = { x: tf.tensor1d([1, 2, 3]) };
    let state = momo().init(params);
    ({ params, state } = trainStep(momo(), params, state, { x: tf.tensor1d([2, 4, 6]) }, { extra: { value: 14 } }));
    expect(flat(params)).toEqual([0.5, 1, 1.5]);
    treeDispose([params, state]);
  });

  it.each([
    ['defaults', 1, {}],
    ['weight decay, adapted lower bound', 0.5, { weightDecay: 0.1, adaptLowerBound: true, lowerBound: -0.5, beta: 0.8 }],
    ['a capped step', 0.01, { lowerBound: 0.2 }],
  ] as const)('matches the float64 formula for five steps (%s)', (_name, lr, options) => {
    const o = options as { weightDecay?: number; adaptLowerBound?: boolean; lowerBound?: number; beta?: number };
    expectFollows(momo(lr, options), momoRef(lr, { wd: o.weightDecay, adapt: o.adaptLowerBound, lowerBound: o.lowerBound, beta: o.beta }));
  });

  it("converges on the parabola and on Rosenbrock at optax's learning rate 1e-1, given the loss", () => {
    // optax runs 30,000 steps; 250 reach both minimisers to 3e-2 (100 do not), 1,000 are run.
    expectAllClose(minimize(momo(0.1), [-1, 10, 1], parabolaGrad, 1000, parabola), PARABOLA_TARGET, 3e-2, 3e-2);
    expectAllClose(minimize(momo(0.1), [0, 0], rosenbrockGrad, 1000, rosenbrock), [1, 1], 3e-2, 3e-2);
  });

  it('keeps learningRate and weightDecay = schedule(k) in the state, and equals itself under injectHyperparams', () => {
    const schedule = (k: number) => 0.5 / (1 + k);
    const tx = momo(schedule, { weightDecay: (k) => 0.01 * k });
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 3; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k), { extra: { value: 2 } }));
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    expect(getHyperparam(state, 'weightDecay')).toBe(0.03);
    treeDispose([params, state]);
    const a = injectHyperparams(momo)({ learningRate: 0.3, beta: 0.8 });
    const b = momo(0.3, { beta: 0.8 });
    let [pa, pb]: Params[] = [makeParams(), makeParams()];
    let [sa, sb] = [a.init(pa), b.init(pb)];
    for (let k = 0; k < 3; k++) {
      ({ params: pa, state: sa } = trainStep(a, pa, sa, makeGrads(k), { extra: { value: 2 } }));
      ({ params: pb, state: sb } = trainStep(b, pb, sb, makeGrads(k), { extra: { value: 2 } }));
      expectBitwiseEqual(pa, pb);
    }
    treeDispose([pa, pb, sa, sb]);
  });
});

describe('momoAdam', () => {
  it("reproduces optax's docstring: f = 0.00029999594 (to 2e-5), then 0, 0, 0, 0", () => {
    const f = docstringLoop(momoAdam());
    // optax computes the step size in float32, here in float64: 3.0000004e-4 against its 2.9999594e-4.
    expectAllClose([f[0]], [0.00029999594], 2e-5, 0);
    expect(f.slice(1)).toEqual([0, 0, 0, 0]);
  });

  it.each([
    ['defaults', 1e-2, {}],
    ['weight decay, adapted lower bound', 0.5, { weightDecay: 0.1, adaptLowerBound: true, lowerBound: -0.5, b1: 0.8, b2: 0.99, eps: 1e-6 }],
  ] as const)('matches the float64 formula for five steps (%s)', (_name, lr, options) => {
    const o = options as { weightDecay?: number; adaptLowerBound?: boolean; lowerBound?: number; b1?: number; b2?: number; eps?: number };
    expectFollows(momoAdam(lr, options), momoRef(lr, { adam: true, wd: o.weightDecay, adapt: o.adaptLowerBound, lowerBound: o.lowerBound, b1: o.b1, b2: o.b2, eps: o.eps }));
  });

  it("converges on the parabola and on Rosenbrock at optax's learning rate 1e-1, given the loss", () => {
    // 500 steps reach the parabola's minimiser (250 do not), 250 Rosenbrock's; 1,000 are run.
    expectAllClose(minimize(momoAdam(0.1), [-1, 10, 1], parabolaGrad, 1000, parabola), PARABOLA_TARGET, 3e-2, 3e-2);
    expectAllClose(minimize(momoAdam(0.1), [0, 0], rosenbrockGrad, 1000, rosenbrock), [1, 1], 3e-2, 3e-2);
  });
});

describe('momo and momoAdam', () => {
  it.each([['momo', momo], ['momoAdam', momoAdam]] as const)('%s resumes from a checkpoint bit for bit (the float64 averages and the lower bound)', (_name, make) => {
    const tx = (make as (lr?: number, o?: object) => AnyTx)(0.3, { adaptLowerBound: true, weightDecay: 0.01 });
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 2; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k), { extra: { value: 1 + k } }));
    const restored = stateFromArtifacts(tx, params, stateToArtifacts(state));
    expectBitwiseEqual(restored, state);
    expect(restored.gamma).toBe(state.gamma);
    const grads = makeGrads(2);
    const [u1, s1] = tx.update(grads, state, params, { value: 0.5 });
    const [u2, s2] = tx.update(grads, restored, params, { value: 0.5 });
    expectBitwiseEqual(u1, u2);
    treeDispose([params, state, restored, grads, u1, s1, u2, s2]);
  });

  it.each([['momo', momo], ['momoAdam', momoAdam]] as const)('%s: leaks nothing over 100 trainSteps, runs composite', (_name, make) => {
    const tx = (make as (lr?: number, o?: object) => AnyTx)(0.1, { weightDecay: 0.01, adaptLowerBound: true });
    const start = tf.memory().numTensors;
    let params: Params = makeParams();
    let state = tx.init(params);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 100; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k), { extra: { value: tf.scalar(1 + Math.sin(k)) as tf.Scalar } }));
    // Each step's loss scalar is the caller's; the step itself keeps nothing.
    expect(tf.memory().numTensors - before).toBe(100);
    treeDispose([params, state]);
    expect(tf.memory().numTensors - start).toBe(100);
    expect(kernelPath(tx)).toBe('composite');
  });

  it.each([['momo', momo], ['momoAdam', momoAdam]] as const)('%s: needs the loss and the params; a failed step changes nothing', (name, make) => {
    const tx = (make as (lr?: number) => AnyTx)(0.1);
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    const before = tf.memory().numTensors;
    expect(thrown(() => tx.update(grads, state, params)).message).toMatch(new RegExp(`${name}: needs the loss in extra.value`));
    expect(thrown(() => tx.update(grads, state, undefined, { value: 1 })).message).toMatch(new RegExp(`${name}: .*needs the current parameters`));
    expect(thrown(() => tx.update({ ...grads, scale: tf.zeros([2]) } as never, state, params, { value: 1 })).message).toMatch(/shape mismatch/);
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(1);
    expect(state.count).toBe(0);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['momo', 'beta', 1], ['momo', 'beta', -0.1], ['momo', 'lowerBound', NaN], ['momo', 'weightDecay', -1],
    ['momoAdam', 'b1', 1], ['momoAdam', 'b2', 1.5], ['momoAdam', 'eps', -1e-8], ['momoAdam', 'weightDecay', Infinity],
  ] as const)('%s rejects %s = %s with a RangeError naming the option', (name, option, value) => {
    const make = (name === 'momo' ? momo : momoAdam) as (lr: number, o: object) => AnyTx;
    const error = thrown(() => make(0.1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`${name}: option '${option}'`);
  });

  it('rejects a bad learning rate, a non-boolean adaptLowerBound and unknown options', () => {
    expect(thrown(() => momo(-1)).message).toContain("momo: option 'learningRate'");
    expect(thrown(() => momoAdam(0.1, { adaptLowerBound: 1 as never })).message).toContain("momoAdam: option 'adaptLowerBound'");
    expect(thrown(() => momo(0.1, { mask: () => true } as never)).message).toMatch(/momo: unknown option 'mask'/);
  });
});
