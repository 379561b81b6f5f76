import { describe, expect, it } from 'vitest';
import { adabound, addDecayedWeights, chain, getHyperparam, scale, scaleByAdabound, setHyperparam, treeDispose } from '../../src/index.js';
import { expectAllClose, flat, gradValues32, makeGrads, makeParams, run } from '../helpers.js';
import type { Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

/**
 * AdaBound, Algorithm 2 of Luo et al. 2019 as the authors' reference code computes it:
 * m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 * step = lr sqrt(1 - b2^t) / (1 - b1^t);  f = finalLr * lr / lr0 (= finalLr for a constant lr);
 * eta = clip(step / (sqrt(v) + eps), f (1 - 1/(gamma t + 1)), f (1 + 1/(gamma t)));
 * p -= eta * m; with L2 weight decay g += wd p first.
 */
function adaboundRef(lr: number, { finalLr = 0.1, gamma = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 0 } = {}): Stepper {
  let m: number[] | null = null;
  let v: number[] | null = null;
  let t = 0;
  return (g0, p) => {
    t++;
    const g = g0.map((x, i) => x + weightDecay * p[i]);
    m = g.map((x, i) => b1 * (m ? m[i] : 0) + (1 - b1) * x);
    v = g.map((x, i) => b2 * (v ? v[i] : 0) + (1 - b2) * x * x);
    const step = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    const lower = finalLr * (1 - 1 / (gamma * t + 1));
    const upper = finalLr * (1 + 1 / (gamma * t));
    return m.map((mi, i) => -Math.min(Math.max(step / (Math.sqrt(v![i]) + eps), lower), upper) * mi);
  };
}

const CASES: OptimizerCase[] = [
  {
    name: 'adabound',
    make: (lr) => adabound(lr, { weightDecay: 0.01 }),
    chain: (lr) => chain(addDecayedWeights(0.01), scaleByAdabound(lr), scale(-1)),
    reference: (lr) => adaboundRef(lr, { weightDecay: 0.01 }),
    atol: 1e-9,
    converge: { parabola: { make: () => adabound(1e-2), steps: 20_000 }, rosenbrock: { make: () => adabound(1e-3, { finalLr: 1e-3 }), steps: 20_000 } },
    bad: { alias: adabound, options: [['finalLr', 0], ['gamma', -1], ['b1', 1], ['b2', NaN], ['eps', -1], ['weightDecay', -0.1]] },
  },
  {
    name: 'adabound, band closed (gamma large): SGD with momentum at finalLr',
    make: (lr) => adabound(lr, { gamma: 1e9, finalLr: 0.05 }),
    chain: (lr) => chain(addDecayedWeights(0), scaleByAdabound(lr, { gamma: 1e9, finalLr: 0.05 }), scale(-1)),
    reference: (lr) => adaboundRef(lr, { gamma: 1e9, finalLr: 0.05 }),
    atol: 1e-9,
  },
];

for (const c of CASES) describeOptimizer(c);

describe('adabound: the band', () => {
  it('closed (gamma large), the step is finalLr times the first moment: SGD with momentum', () => {
    // t = 1: m = (1 - b1) g = 0.1 g; band = [0.05 (1 - 1/(1e9 + 1)), 0.05 (1 + 1e-9)] ~ 0.05.
    const { updates, params, state } = run(adabound(0.01, { gamma: 1e9, finalLr: 0.05 }), 1);
    expectAllClose(updates[0], gradValues32(0).map((g) => -0.05 * 0.1 * g), 1e-6, 1e-10);
    treeDispose([params, state]);
  });

  it('scales with the learning rate, as the reference code (final_lr * lr / base_lr)', () => {
    // lr 0.01 then 0.005: on step 2 the band is 0.05 * 0.005 / 0.01 = 0.025, m = 0.1 g2 + 0.09 g1.
    const { updates, params, state } = run(adabound((k) => (k === 0 ? 0.01 : 0.005), { gamma: 1e9, finalLr: 0.05 }), 2);
    const g0 = gradValues32(0);
    const expected = gradValues32(1).map((g, i) => -0.025 * (0.1 * g + 0.09 * g0[i]));
    expectAllClose(updates[1], expected, 1e-6, 1e-10);
    treeDispose([params, state]);
  });

  it('setHyperparam on the learning rate moves the band too', () => {
    const tx = adabound(0.01, { gamma: 1e9, finalLr: 0.05 });
    const params = makeParams();
    const state = setHyperparam(tx.init(params), 'learningRate', 0.02);
    const grads = makeGrads(0);
    const [u, next] = tx.update(grads, state, params);
    expectAllClose(flat(u), gradValues32(0).map((g) => -0.1 * 0.1 * g), 1e-6, 1e-10);
    expect(getHyperparam(next, 'learningRate')).toBe(0.02);
    treeDispose([params, state, grads, u, next]);
  });
});
