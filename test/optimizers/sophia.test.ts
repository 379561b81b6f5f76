import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  chain,
  hutchinsonEstimatorDiagHessian,
  injectHyperparams,
  kernelPath,
  scaleByLearningRate,
  scaleBySophia,
  sophia,
  trainStep,
  treeDispose,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, failsCleanly, flat, thrown } from '../helpers.js';
import { collectTensors } from '../../src/tree/memory.js';
import { PARABOLA, ROSENBROCK } from './contrib-problems.js';

// sophia, scaleBySophia and hutchinsonEstimatorDiagHessian, as optax 0.2.8's contrib (whose only
// test of them is the common convergence test: sophia(1e-2) with obj_fn, 30,000 steps, on the
// parabola and Rosenbrock).

type P = { x: tf.Tensor };
/** f(x) = sum(a_i x_i^2) / 2: gradient a x, Hessian diag(a). */
const A = [1, 4, 0.25];
const quad = (p: Params) => tf.mul(0.5, tf.sum(tf.mul(tf.tensor1d(A), tf.square((p as P).x)))) as tf.Scalar;
const quadGrad = (x: number[]) => x.map((v, i) => A[i] * v);

/** `steps` updates from `x0` on a loss of `x`, the float64 gradient `grad` given: the updates as arrays. */
function steps(tx: GradientTransformation<any>, x0: number[], grad: (x: number[]) => number[], loss: (p: Params) => tf.Scalar, n: number): number[][] {
  let params: Params = { x: tf.tensor1d(x0) };
  let state = tx.init(params);
  const out: number[][] = [];
  for (let k = 0; k < n; k++) {
    const g: Params = { x: tf.tensor1d(grad(Array.from((params as P).x.dataSync()))) };
    const [u, next]: [Params, unknown] = tx.update(g, state, params, { valueFn: loss });
    out.push(flat(u));
    const p2: Params = { x: tf.add((params as P).x, (u as P).x) };
    treeDispose([u, g, params]);
    // Old state tensors not in the new state are freed.
    const keep = collectTensors(next);
    for (const t of collectTensors(state)) if (!keep.has(t)) t.dispose();
    params = p2;
    state = next;
  }
  treeDispose([params, state]);
  return out;
}

describe('hutchinsonEstimatorDiagHessian', () => {
  it('gives the diagonal exactly when the Hessian is diagonal (r_i^2 = 1)', () => {
    const tx = hutchinsonEstimatorDiagHessian({ seed: 3 });
    const params = { x: tf.tensor1d([1, -2, 3]) };
    const state = tx.init(params);
    const [u, next] = tx.update(params, state, params, { valueFn: quad });
    expectAllClose(flat(u), A, 1e-6);
    expect(next).toEqual({ count: 1 });
    treeDispose([params, u]);
  });

  it('differentiates at copies of the params: a valueFn that closes over them sees constants', () => {
    // f(q) = |q - p|^2 / 2 around the very tensors given as params: Hessian I, estimate 1 (not 0).
    const tx = hutchinsonEstimatorDiagHessian();
    const params = { x: tf.tensor1d([1, -2, 3]) };
    const around = (q: Params) => tf.mul(0.5, tf.sum(tf.square(tf.sub((q as P).x, params.x)))) as tf.Scalar;
    const [u] = tx.update(params, tx.init(params), params, { valueFn: around });
    expect(flat(u)).toEqual([1, 1, 1]);
    treeDispose([params, u]);
  });

  it('gives r * (H r) for a coupled Hessian: H = [[2, 1], [1, 2]] estimates [3, 3] or [1, 1]; reproducible from the seed', () => {
    // f = x0^2 + x0 x1 + x1^2: r_i (H r)_i = 2 + r0 r1.
    const f = (p: Params) => {
      const x = (p as P).x;
      const [a, b] = [tf.slice(x, 0, 1), tf.slice(x, 1, 1)];
      return tf.sum(tf.add(tf.add(tf.square(a), tf.mul(a, b)), tf.square(b))) as tf.Scalar;
    };
    const draws = (seed: number) => {
      const tx = hutchinsonEstimatorDiagHessian({ seed });
      const params = { x: tf.tensor1d([0.5, -1]) };
      let state = tx.init(params);
      const out: number[] = [];
      for (let k = 0; k < 8; k++) {
        const [u, next] = tx.update(params, state, params, { valueFn: f });
        const [e0, e1] = flat(u);
        expect(e0).toBe(e1);
        expect([1, 3]).toContain(e0);
        out.push(e0);
        treeDispose(u);
        state = next;
      }
      treeDispose(params);
      return out;
    };
    const a = draws(7);
    expect(draws(7)).toEqual(a);
    expect(new Set(a).size).toBe(2);
  });

  it('needs extra.valueFn returning a tensor, and params', () => {
    const tx = hutchinsonEstimatorDiagHessian();
    const params = { x: tf.tensor1d([1, 2, 3]) };
    const state = tx.init(params);
    expect(failsCleanly(() => tx.update(params, state, params)).message).toMatch(/hutchinsonEstimatorDiagHessian: needs extra.valueFn .*no extra argument was given/);
    expect(failsCleanly(() => tx.update(params, state, params, { valueFn: () => 3 })).message).toMatch(/extra.valueFn must return the loss as a one-element tensor/);
    expect(thrown(() => tx.update(params, state)).message).toMatch(/needs the current parameters/);
    treeDispose(params);
  });

  it.each([['seed', -1], ['seed', 0.5], ['seed', 2 ** 32]] as Array<[string, unknown]>)('rejects %s = %j', (option, value) => {
    const error = thrown(() => hutchinsonEstimatorDiagHessian({ [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`hutchinsonEstimatorDiagHessian: option '${option}'`);
  });
});

describe('sophia', () => {
  it('takes its first steps by hand on sum(a x^2) / 2 (Hessian diag(a), which Hutchinson gives exactly)', () => {
    // b2 = 0, gamma = 1, no clipping: step 0 divides by eps (nu = 0), then nu = a, and step 1 is
    // -lr * muHat / a. Weight decay 0.
    const lr = 0.1;
    const b1 = 0.9;
    const eps = 1e-3;
    const tx = sophia(lr, { b1, b2: 0, gamma: 1, eps, clipThreshold: null, weightDecay: 0, updateInterval: 1 });
    const x0 = [0.01, -0.02, 0.004];
    const u = steps(tx, x0, quadGrad, quad, 2);
    const g0 = quadGrad(Array.from(Float32Array.from(x0)));
    expectAllClose(u[0], g0.map((g) => (-lr * g) / eps), 1e-5);
    const x1 = Array.from(Float32Array.from(x0)).map((x, i) => x + u[0][i]);
    const g1 = quadGrad(x1);
    const mu = g0.map((g, i) => b1 * (1 - b1) * g + (1 - b1) * g1[i]);
    expectAllClose(u[1], mu.map((m, i) => (-lr * m) / (1 - b1 ** 2) / A[i]), 1e-4);
  });

  it('clips to ±clipThreshold, estimates every updateInterval steps, and decays the weights after the direction', () => {
    // The first step: nu = 0, so the direction is muHat / eps, clipped to ±1: -lr (sign(g) + wd x).
    const lr = 0.01;
    const x0 = [1, -2, 3];
    const u = steps(sophia(lr, { weightDecay: 0.1 }), x0, quadGrad, quad, 1);
    expectAllClose(u[0], x0.map((x) => -lr * (Math.sign(x) + 0.1 * x)), 1e-6);
    // Estimates at counts 0, 3, 6: the estimator's count is 3 after 7 updates.
    const tx = scaleBySophia({ updateInterval: 3 });
    let params: Params = { x: tf.tensor1d(x0) };
    let state = tx.init(params);
    for (let k = 0; k < 7; k++) {
      const g: Params = { x: tf.tensor1d(quadGrad(x0)) };
      ({ params, state } = trainStep(tx, params, state, g, { extra: { valueFn: quad } }));
    }
    expect(state.hessianFnState).toEqual({ count: 3 });
    expect(state.count).toBe(7);
    treeDispose([params, state]);
  });

  it('is its documented chain, bit for bit, and runs composite', () => {
    const make = [
      () => sophia(0.05, { weightDecay: 0.01, b1: 0.9, seed: 4 }),
      () => chain(scaleBySophia({ b1: 0.9, seed: 4 }), addDecayedWeights(0.01), scaleByLearningRate(0.05)),
    ];
    const [a, b] = make.map((m) => steps(m(), [1, -2, 3], quadGrad, quad, 12));
    expectBitwiseEqual(a, b);
    expect(kernelPath(sophia(0.1))).toBe('composite');
  });

  it("equals itself under injectHyperparams, bit for bit (optax's common test, at its learning rate)", () => {
    const a = steps(injectHyperparams(sophia)({ learningRate: 1e-2, b1: 0.9, gamma: 0.05 }), [1, -2, 3], quadGrad, quad, 12);
    const b = steps(sophia(1e-2, { b1: 0.9, gamma: 0.05 }), [1, -2, 3], quadGrad, quad, 12);
    expectBitwiseEqual(a, b);
  });

  it('takes the estimator given as hessianDiagonalFn (and its state)', () => {
    const est = hutchinsonEstimatorDiagHessian({ seed: 9 });
    const a = steps(scaleBySophia({ hessianDiagonalFn: est }), [1, -2, 3], quadGrad, quad, 3);
    const b = steps(scaleBySophia({ seed: 9 }), [1, -2, 3], quadGrad, quad, 3);
    expectBitwiseEqual(a, b);
  });

  it('converges on the parabola and on Rosenbrock at optax\'s learning rate 1e-2, with extra.valueFn', () => {
    // optax runs 30,000 steps; here 3,000 (each moves at most lr = 0.01 per coordinate).
    const parabola = (p: Params) => tf.sum(tf.square(tf.sub((p as P).x, tf.tensor1d(PARABOLA.target)))) as tf.Scalar;
    const rosenbrock = (p: Params) => {
      const x = (p as P).x;
      const [a, b] = [tf.slice(x, 0, 1), tf.slice(x, 1, 1)];
      return tf.sum(tf.add(tf.square(tf.sub(1, a)), tf.mul(100, tf.square(tf.sub(b, tf.square(a)))))) as tf.Scalar;
    };
    for (const [problem, loss] of [[PARABOLA, parabola], [ROSENBROCK, rosenbrock]] as const) {
      const tx = sophia(1e-2);
      let params: Params = { x: tf.tensor1d(problem.x0) };
      let state = tx.init(params);
      for (let k = 0; k < 3000; k++) {
        const g: Params = { x: tf.tensor1d(problem.grad(Array.from((params as P).x.dataSync()))) };
        ({ params, state } = trainStep(tx, params, state, g, { extra: { valueFn: loss } }));
      }
      expectAllClose(flat(params), problem.target, 3e-2, 3e-2);
      treeDispose([params, state]);
    }
  });

  it('leaks nothing over 100 trainSteps', () => {
    const tx = sophia(0.01, { updateInterval: 3 });
    const before = tf.memory().numTensors;
    let params: Params = { x: tf.tensor1d([1, -2, 3]) };
    let state = tx.init(params);
    const start = tf.memory().numTensors;
    for (let k = 0; k < 100; k++) {
      const g: Params = { x: tf.tensor1d(quadGrad(Array.from((params as P).x.dataSync()))) };
      ({ params, state } = trainStep(tx, params, state, g, { extra: { valueFn: quad } }));
    }
    expect(tf.memory().numTensors).toBe(start);
    treeDispose([params, state]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a step that throws (no valueFn, a valueFn that throws) changes nothing and leaks nothing', () => {
    const tx = sophia(0.01);
    const params = { x: tf.tensor1d([1, -2, 3]) };
    const state = tx.init(params);
    const g = { x: tf.tensor1d([1, 1, 1]) };
    const snap = JSON.stringify([flat(params), flat(state)]);
    expect(failsCleanly(() => tx.update(g, state, params)).message).toMatch(/sophia: needs extra.valueFn/);
    expect(failsCleanly(() => tx.update(g, state, params, { valueFn: () => { throw new Error('bad batch'); } })).message).toBe('bad batch');
    expect(failsCleanly(() => trainStep(tx, params, state, g, { extra: {} })).message).toMatch(/sophia: needs extra.valueFn/);
    expect(JSON.stringify([flat(params), flat(state)])).toBe(snap);
    // The steps between estimates need no valueFn.
    const [u, s1] = tx.update(g, state, params, { valueFn: quad });
    const [u2, s2] = tx.update(g, s1, params);
    treeDispose([params, state, g, u, s1, u2, s2]);
  });

  it.each([
    ['b1', 1],
    ['b2', -0.1],
    ['eps', -1e-8],
    ['gamma', NaN],
    ['clipThreshold', 0],
    ['updateInterval', 0],
    ['updateInterval', 2.5],
    ['seed', -1],
    ['weightDecay', -1],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => sophia(0.1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`sophia: option '${option}'`);
    if (option !== 'weightDecay') expect(thrown(() => scaleBySophia({ [option]: value })).message).toContain(`scaleBySophia: option '${option}'`);
  });

  it('rejects a bad learning rate, unknown options, a bad estimator, and seed beside hessianDiagonalFn', () => {
    expect(thrown(() => sophia(-1)).message).toContain("sophia: option 'learningRate'");
    expect(thrown(() => sophia(0.1, { weightDecayMask: null } as never)).message).toMatch(/sophia: unknown option 'weightDecayMask'/);
    expect(thrown(() => scaleBySophia({ hessianDiagonalFn: 3 as never })).message).toMatch(/scaleBySophia: expected option 'hessianDiagonalFn'/);
    const error = thrown(() => scaleBySophia({ hessianDiagonalFn: hutchinsonEstimatorDiagHessian(), seed: 1 }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain("scaleBySophia: option 'seed'");
  });
});
