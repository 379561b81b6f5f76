import { describe, expect, it } from 'vitest';
import { addDecayedWeights, chain, getHyperparam, injectHyperparams, kernelPath, madgrad, scaleByMadgrad, treeDispose } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, gradValues32, makeGrads, makeParams, PARAM_VALUES, run, thrown, trainWithoutLeak } from '../helpers.js';
import { minimizeAll, PARABOLA, ROSENBROCK, sideBySide } from './contrib-problems.js';

// madgrad and scaleByMadgrad, as optax 0.2.8's contrib (whose only test of them is the common
// convergence test, at learning rate 1e-2).

/**
 * Float64 MADGRAD as optax writes it, k = updates done before: g += wd p;
 * lambda = (lr(k) + eps) sqrt(k + 1); G += lambda g^2; s += lambda g;
 * z = x0 - s / (cbrt(G) + eps); the new params are (1 - momentum) z + momentum p.
 */
function madgradRef(lr: number | ((k: number) => number), { momentum = 0.9, eps = 1e-6, wd = 0 } = {}) {
  let gSq: number[] = [];
  let s: number[] = [];
  let x0: number[] = [];
  let k = 0;
  return (g0: number[], p: number[]): number[] => {
    if (k === 0) [gSq, s, x0] = [p.map(() => 0), p.map(() => 0), p.slice()];
    const g = g0.map((x, i) => x + wd * p[i]);
    const lambda = ((typeof lr === 'number' ? lr : lr(k)) + eps) * Math.sqrt(k + 1);
    k++;
    gSq = gSq.map((x, i) => x + lambda * g[i] ** 2);
    s = s.map((x, i) => x + lambda * g[i]);
    return p.map((x, i) => (1 - momentum) * (x0[i] - s[i] / (Math.cbrt(gSq[i]) + eps)) + momentum * x - x);
  };
}

describe('madgrad', () => {
  it.each([
    ['defaults', {}, {}],
    ['momentum, eps, weight decay', { momentum: 0.5, eps: 1e-3, weightDecay: 0.1 }, { momentum: 0.5, eps: 1e-3, wd: 0.1 }],
  ])('matches the float64 formula for five steps (%s)', (_name, options, refOptions) => {
    const { updates, params, state } = run(madgrad(0.1, options), 5);
    const ref = madgradRef(0.1, refOptions);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 5; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 1e-5, 5e-7);
      p = p.map((x, i) => x + updates[k][i]);
    }
    treeDispose([params, state]);
  });

  it('takes the first step by hand: -(1 - momentum) lambda g / (cbrt(lambda g^2) + eps)', () => {
    // p = x0, lambda = lr + eps: G = lambda g^2, s = lambda g, and the step is (1 - momentum)(z - x0).
    const lr = 0.01;
    const lambda = lr + 1e-6;
    const { updates, params, state } = run(scaleByMadgrad(lr), 1);
    // u = x_new - p rounds to float32 at the scale of p (|p| <= 2): an absolute tolerance.
    expectAllClose(updates[0], gradValues32(0).map((g) => (-0.1 * lambda * g) / (Math.cbrt(lambda * g * g) + 1e-6)), 1e-5, 5e-7);
    treeDispose([params, state]);
  });

  it('keeps learningRate = schedule(k) in the state and weights step k by (schedule(k) + eps) sqrt(k + 1)', () => {
    const schedule = (k: number) => 0.1 / (1 + k);
    const r = run(madgrad(schedule), 3);
    expect(getHyperparam(r.state, 'learningRate')).toBe(schedule(3));
    const ref = madgradRef(schedule);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 3; k++) {
      expectAllClose(r.updates[k], ref(gradValues32(k), p), 1e-5, 5e-7);
      p = p.map((x, i) => x + r.updates[k][i]);
    }
    treeDispose([r.params, r.state]);
  });

  it('is its documented chain, and runs composite (the element steps have no cube root)', () => {
    const a = run(madgrad(0.05, { weightDecay: 0.01, momentum: 0.5 }), 3);
    const b = run(chain(addDecayedWeights(0.01), scaleByMadgrad(0.05, { momentum: 0.5 })), 3);
    expectBitwiseEqual(a.updates, b.updates);
    expect(kernelPath(madgrad(0.1))).toBe('composite');
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('equals itself under injectHyperparams, bit for bit (optax\'s common test, at its learning rate)', () => {
    const a = run(injectHyperparams(madgrad)({ learningRate: 1e-2, momentum: 0.8 }), 3);
    const b = run(madgrad(1e-2, { momentum: 0.8 }), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(madgrad(0.01, { weightDecay: 0.01 }), 100);
  });

  it('needs params', () => {
    const tx = madgrad(0.1);
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/madgrad: .*needs the current parameters/);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['momentum', 1],
    ['momentum', -0.5],
    ['eps', -1e-6],
    ['weightDecay', NaN],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => madgrad(0.1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`madgrad: option '${option}'`);
    if (option !== 'weightDecay') expect(thrown(() => scaleByMadgrad(0.1, { [option]: value })).message).toContain(`scaleByMadgrad: option '${option}'`);
  });

  it('rejects a bad learning rate and unknown options, naming them', () => {
    expect(thrown(() => madgrad(-1)).message).toContain("madgrad: option 'learningRate'");
    expect(thrown(() => madgrad(0.1, { beta: 0.9 } as never)).message).toMatch(/madgrad: unknown option 'beta'/);
    expect(thrown(() => scaleByMadgrad(0.1, { weightDecay: 0 } as never)).message).toMatch(/scaleByMadgrad: unknown option 'weightDecay'/);
  });

  it('converges on the parabola and on Rosenbrock at optax\'s learning rate 1e-2', () => {
    // optax runs 30,000 steps; the float64 formula is within 3e-2 from step 240 (parabola) and
    // 2,607 (Rosenbrock). Element-wise, so both run at once, side by side in one leaf.
    const both = sideBySide(PARABOLA, ROSENBROCK);
    const [parabola, rosenbrock] = both.split(minimizeAll(madgrad(1e-2), [both], 3000)[0]);
    expectAllClose(parabola, PARABOLA.target, 3e-2, 3e-2);
    expectAllClose(rosenbrock, ROSENBROCK.target, 3e-2, 3e-2);
  });
});
