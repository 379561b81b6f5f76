import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dadaptAdamw, disposeReplaced, getHyperparam, injectHyperparams, kernelPath, treeDispose, type DadaptAdamwOptions } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, gradValues32, makeGrads, makeParams, PARAM_VALUES, run, thrown, trainWithoutLeak } from '../helpers.js';
import { minimizeAll, PARABOLA, ROSENBROCK } from './contrib-problems.js';

// dadaptAdamw, as optax 0.2.8's contrib (whose only test of it is the common convergence test,
// at learning rate 0.1).

/**
 * Float64 D-Adapt AdamW as optax writes it, over the whole flat parameter vector, t = step number:
 * dlr = d lr sqrt(1 - b2^t) / (1 - b1^t); r = sb2 r + (1 - sb2) dlr <g, s / (sqrt(v) + eps)>
 * (old s, v); m = b1 m + (1 - b1) dlr g; v = b2 v + (1 - b2) g^2; s = sb2 s + (1 - sb2) dlr g;
 * d = max(d, r / ((1 - sb2) |s|_1)); u = -wd dlr p - m / (sqrt(v) + eps) (wd on the `decayed`
 * elements). Also reports d.
 */
function dadaptRef(
  lr: number,
  { b1 = 0.9, b2 = 0.999, eps = 1e-8, d0 = 1e-6, wd = 0, decayed = (_i: number): boolean => true }: { b1?: number; b2?: number; eps?: number; d0?: number; wd?: number; decayed?: (i: number) => boolean } = {},
) {
  const sb2 = Math.sqrt(b2);
  let [m, v, s]: number[][] = [[], [], []];
  let d = d0;
  let r = 0;
  let t = 0;
  const step = (g: number[], p: number[]): number[] => {
    if (t++ === 0) [m, v, s] = [g.map(() => 0), g.map(() => 0), g.map(() => 0)];
    const dlr = (d * lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    const dot = g.reduce((acc, x, i) => acc + (x * s[i]) / (Math.sqrt(v[i]) + eps), 0);
    m = m.map((x, i) => b1 * x + (1 - b1) * dlr * g[i]);
    v = v.map((x, i) => b2 * x + (1 - b2) * g[i] * g[i]);
    s = s.map((x, i) => sb2 * x + (1 - sb2) * dlr * g[i]);
    r = sb2 * r + (1 - sb2) * dlr * dot;
    d = Math.max(d, r / ((1 - sb2) * s.reduce((acc, x) => acc + Math.abs(x), 0)));
    return m.map((x, i) => (decayed(i) ? -wd * dlr * p[i] : 0) - x / (Math.sqrt(v[i]) + eps));
  };
  return Object.assign(step, { estimate: () => d });
}

describe('dadaptAdamw', () => {
  it.each<[string, DadaptAdamwOptions, Parameters<typeof dadaptRef>[1]]>([
    ['defaults', {}, {}],
    ['betas, eps, estimLr0, masked weight decay', { betas: [0.8, 0.99], eps: 1e-4, estimLr0: 1e-3, weightDecay: 0.5, mask: { layer: false, scale: true } }, {
      b1: 0.8, b2: 0.99, eps: 1e-4, d0: 1e-3, wd: 0.5, decayed: (i) => i === 9,
    }],
  ])('matches the float64 formula for five steps (%s)', (_name, options, refOptions) => {
    // From step 2 on, <g, s> != 0 moves the estimate; the steps scale with it.
    const { updates, params, state } = run(dadaptAdamw(1, options), 5);
    const ref = dadaptRef(1, refOptions);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 5; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 1e-4, 1e-12);
      p = p.map((x, i) => x + updates[k][i]);
    }
    expectAllClose(state.estimLr.dataSync(), [ref.estimate()], 1e-4, 0);
    expect(ref.estimate()).toBeGreaterThan(options.estimLr0 ?? 1e-6);
    treeDispose([params, state]);
  });

  it('takes the first step by hand: -lr d0 sign(g), the estimate unchanged', () => {
    // Step 1: dlr = d0 lr sqrt(1 - b2) / (1 - b1); m = (1 - b1) dlr g, v = (1 - b2) g^2, so
    // m / sqrt(v) = d0 lr sign(g) (eps aside); s was 0, so r = 0 and d stays d0.
    const { updates, params, state } = run(dadaptAdamw(0.5), 1);
    const g1 = gradValues32(0);
    expectAllClose(updates[0], g1.map((g) => (-0.5 * 1e-6 * g) / (Math.abs(g) + 1e-8 / Math.sqrt(1e-3))), 1e-5, 0);
    expect(state.estimLr.dataSync()[0]).toBe(Math.fround(1e-6));
    treeDispose([params, state]);
  });

  it('keeps an all-zero gradient from making the estimate NaN (0 / 0), on every backend', () => {
    const tx = dadaptAdamw();
    const params = makeParams();
    const state = tx.init(params);
    const zeros = { layer: { kernel: tf.zeros([2, 3]), bias: tf.zeros([3]) }, scale: tf.scalar(0) };
    const [u, next] = tx.update(zeros, state, params);
    expect(next.estimLr.dataSync()[0]).toBe(Math.fround(1e-6));
    expect(flat(u).every((x) => x === 0)).toBe(true);
    const grads = makeGrads(1);
    const [u2, next2] = tx.update(grads, next, params);
    expect(flat(u2).every(Number.isFinite)).toBe(true);
    disposeReplaced([state, next, zeros, grads, u, u2], [next2]);
    treeDispose([params, next2]);
  });

  it('keeps learningRate = schedule(k) and weightDecay = schedule(k) in the state after k updates; runs composite', () => {
    const schedule = (k: number) => 1 / (1 + k);
    const wd = (k: number) => 0.01 * k;
    const r = run(dadaptAdamw(schedule, { weightDecay: wd }), 3);
    expect(getHyperparam(r.state, 'learningRate')).toBe(schedule(3));
    expect(getHyperparam(r.state, 'weightDecay')).toBe(wd(3));
    expect(kernelPath(dadaptAdamw())).toBe('composite');
    treeDispose([r.params, r.state]);
  });

  it('equals itself under injectHyperparams, bit for bit (optax\'s common test, at its learning rate)', () => {
    const a = run(injectHyperparams(dadaptAdamw)({ learningRate: 0.1, weightDecay: 0.01 }), 3);
    const b = run(dadaptAdamw(0.1, { weightDecay: 0.01 }), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(dadaptAdamw(1, { weightDecay: 0.01 }), 100);
  });

  it('needs params', () => {
    const tx = dadaptAdamw();
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/dadaptAdamw: .*needs the current parameters/);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['betas', [1, 0.999]],
    ['betas', [0.9, -1]],
    ['eps', -1],
    ['estimLr0', 0],
    ['weightDecay', -1],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => dadaptAdamw(1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`dadaptAdamw: option '${option}'`);
  });

  it('rejects malformed betas, a bad mask and unknown options, naming them', () => {
    expect(thrown(() => dadaptAdamw(1, { betas: [0.9] as never })).message).toMatch(/dadaptAdamw: option 'betas' must be a pair/);
    expect(thrown(() => dadaptAdamw(1, { weightDecay: 0.1, mask: 3 as never })).message).toMatch(/dadaptAdamw: option 'mask'/);
    expect(thrown(() => dadaptAdamw(1, { estim_lr0: 1e-6 } as never)).message).toMatch(/dadaptAdamw: unknown option 'estim_lr0'/);
  });

  it('converges on the parabola and on Rosenbrock at optax\'s learning rate 0.1', () => {
    // optax runs 30,000 steps; the float64 formula is within 3e-2 from step 437 (parabola) and
    // 375 (Rosenbrock). The sums are global, so each problem runs on its own.
    const [parabola] = minimizeAll(dadaptAdamw(0.1), [PARABOLA], 600);
    expectAllClose(parabola, PARABOLA.target, 3e-2, 3e-2);
    const [rosenbrock] = minimizeAll(dadaptAdamw(0.1), [ROSENBROCK], 600);
    expectAllClose(rosenbrock, ROSENBROCK.target, 3e-2, 3e-2);
  });
});
