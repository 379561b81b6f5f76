import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { disposeReplaced, getHyperparam, prodigy, treeDispose } from '../../src/index.js';
import { expectAllClose, flat, gradValues32, makeGrads, makeParams, minimize, PARAM_VALUES, run, thrown, trainWithoutLeak } from '../helpers.js';

// prodigy, as optax contrib: AdamW with a step size estimated from the distance travelled.


/**
 * Float64 Prodigy over the whole flat parameter vector (the sums run over all leaves), from
 * Algorithm (Prodigy, Adam version) of Mishchenko & Defazio 2023 as optax writes it:
 * dlr = d lr sqrt(1 - b2^t) / (1 - b1^t); m = b1 m + (1 - b1) d g; v = b2 v + (1 - b2) (d g)^2;
 * s = b3 s + (dlr / d0) d g; r = b3 r + (d / d0) dlr <g, p0 - p>; d = max(d, r / |s|_1);
 * u = -dlr m / (sqrt(v) + d eps) - wd dlr p.
 */
function prodigyRef(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-8, d0 = 1e-6, wd = 0, safeguard = false } = {}) {
  const b3 = Math.sqrt(b2);
  let m: number[] = [];
  let v: number[] = [];
  let s: number[] = [];
  let p0: number[] | null = null;
  let d = d0;
  let r = 0;
  let t = 0;
  return (g: number[], p: number[]): number[] => {
    p0 ??= p.slice();
    t++;
    if (m.length === 0) [m, v, s] = [g.map(() => 0), g.map(() => 0), g.map(() => 0)];
    const dlr = (d * lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    const acc = g.reduce((sum, x, i) => sum + x * (p0![i] - p[i]), 0);
    m = m.map((x, i) => b1 * x + (1 - b1) * d * g[i]);
    v = v.map((x, i) => b2 * x + (1 - b2) * (d * g[i]) ** 2);
    s = s.map((x, i) => b3 * x + ((safeguard ? d : dlr) / d0) * d * g[i]);
    r = b3 * r + (d / d0) * dlr * acc;
    d = Math.max(d, r / s.reduce((sum, x) => sum + Math.abs(x), 0));
    return m.map((x, i) => (-dlr * x) / (Math.sqrt(v[i]) + d * eps) - wd * dlr * p[i]);
  };
}

describe('prodigy', () => {
  it.each([
    ['defaults', {}, {}],
    ['weight decay, safeguardWarmup', { weightDecay: 0.1, safeguardWarmup: true }, { wd: 0.1, safeguard: true }],
  ])('matches the float64 formula for four steps (%s)', (_name, options, refOptions) => {
    // Step 1 only moves by d0-sized steps (p = p0, so r = 0 and d stays d0); from step 2 on,
    // <g, p0 - p> > 0 raises d.
    const { updates, params, state } = run(prodigy(1, options), 4);
    const ref = prodigyRef(1, refOptions);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 4; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 1e-4, 1e-12);
      p = p.map((x, i) => x + updates[k][i]);
    }
    treeDispose([params, state]);
  });

  it('on a parabola the estimate grows from estimLr0, never decreases, and the steps follow the float64 formula', () => {
    // Gradients 2 (p - target) of the current params, so <g, p0 - p> > 0 from step 2 on and d rises.
    const target = [3, -2, 0.5];
    const tx = prodigy();
    const ref = prodigyRef(1);
    let params: { x: tf.Tensor } = { x: tf.tensor1d([0, 0, 0]) };
    let state = tx.init(params);
    let p = [0, 0, 0];
    const estimates: number[] = [];
    for (let k = 0; k < 8; k++) {
      const g = Array.from(Float32Array.from(p.map((x, i) => 2 * (x - target[i]))));
      const grads = { x: tf.tensor1d(g) };
      const [u, next] = tx.update(grads, state, params);
      const got = flat(u);
      expectAllClose(got, ref(g, p), 1e-3, 1e-12);
      const nextParams: { x: tf.Tensor } = { x: tf.add(params.x, u.x) };
      disposeReplaced([params, state, grads, u], [nextParams, next]);
      params = nextParams;
      state = next;
      p = flat(params);
      estimates.push(state.estimLr.dataSync()[0]);
    }
    expect(estimates[0]).toBe(Math.fround(1e-6));
    for (let k = 1; k < 8; k++) expect(estimates[k]).toBeGreaterThanOrEqual(estimates[k - 1]);
    expect(estimates[7]).toBeGreaterThan(5e-6);
    disposeReplaced([params, state], []);
  });

  it('decays only the masked leaves', () => {
    const mask = { layer: { bias: false, kernel: true }, scale: false };
    const a = run(prodigy(1, { weightDecay: 0.5, mask }), 3);
    const b = run(prodigy(1), 3);
    // The decay does not enter the moments or the estimate: unmasked leaves match the undecayed run.
    const unmasked = [0, 1, 2, 9];
    for (let k = 0; k < 3; k++) {
      for (const i of unmasked) expect(a.updates[k][i]).toBe(b.updates[k][i]);
      expect(a.updates[k].slice(3, 9)).not.toEqual(b.updates[k].slice(3, 9));
    }
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(prodigy(1, { weightDecay: 0.01 }), 100);
  });

  it('needs params', () => {
    const tx = prodigy();
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/prodigy/);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['betas', [1, 0.999]],
    ['betas', [0.9, -1]],
    ['beta3', 2],
    ['eps', -1],
    ['estimLr0', 0],
    ['estimLrCoef', -1],
    ['weightDecay', -1],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => prodigy(1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`prodigy: option '${option}'`);
  });

  it('converges on a parabola (optax contrib tests prodigy at learning rate 0.1)', () => {
    const target = [1, -1, 1];
    const x = minimize(prodigy(0.1), [-1, 10, 1], (v) => v.map((xi, i) => 2 * (xi - target[i])), 5000);
    expectAllClose(x, target, 3e-2, 3e-2);
  });

  it('converges on Rosenbrock', () => {
    const grad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];
    const x = minimize(prodigy(0.1), [0, 0], grad, 10_000);
    expectAllClose(x, [1, 1], 3e-2, 3e-2);
  });

  it('keeps learningRate = schedule(k) and weightDecay = schedule(k) in the state after k updates', () => {
    const schedule = (k: number) => 1 / (1 + k);
    const wd = (k: number) => 0.01 * k;
    for (const k of [0, 1, 3]) {
      const r = run(prodigy(schedule, { weightDecay: wd }), k);
      expect(getHyperparam(r.state, 'learningRate')).toBe(schedule(k));
      expect(getHyperparam(r.state, 'weightDecay')).toBe(wd(k));
      treeDispose([r.params, r.state]);
    }
  });
});
