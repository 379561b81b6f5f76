import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { addDecayedWeights, asgd, asgdAverage, chain, scale, scaleByAsgd, scaleByLearningRate, treeDispose } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, gradValues32, makeGrads, makeParams, PARAM_VALUES, run, thrown } from '../helpers.js';
import type { Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

/**
 * PyTorch's ASGD (torch/optim/asgd.py, single-tensor path), with k = updates done before:
 * eta_k = lr / (1 + lambd lr k)^alpha;  mu_k = 1 / max(1, k - t0);
 * p' = p (1 - lambd eta_k) - eta_k (g + wd p);
 * ax' = mu_k == 1 ? p' : ax + mu_k (p' - ax).
 * (PyTorch stores eta and mu computed at the end of the previous step with its step count,
 * which is k: the same numbers.) Also returns the average through `average`.
 */
function asgdRef(lr: number, { lambd = 1e-4, alpha = 0.75, t0 = 1e6, weightDecay = 0 } = {}): Stepper & { average: () => number[] } {
  let k = 0;
  let ax: number[] = [];
  const step = ((g0: number[], p: number[]) => {
    const eta = lr / (1 + lambd * lr * k) ** alpha;
    const mu = 1 / Math.max(1, k - t0);
    const next = p.map((x, i) => x * (1 - lambd * eta) - eta * (g0[i] + weightDecay * x));
    ax = mu === 1 ? next.slice() : ax.map((a, i) => a + mu * (next[i] - a));
    k++;
    return next.map((x, i) => x - p[i]);
  }) as Stepper & { average: () => number[] };
  step.average = () => ax;
  return step;
}

const CASES: OptimizerCase[] = [
  {
    name: 'asgd',
    make: (lr) => asgd(lr, { lambd: 0.1, alpha: 0.75, t0: 0, weightDecay: 0.01 }),
    chain: (lr) => chain(addDecayedWeights(0.01), scaleByAsgd(lr, { lambd: 0.1, alpha: 0.75, t0: 0 }), scale(-1)),
    reference: (lr) => asgdRef(lr, { lambd: 0.1, alpha: 0.75, t0: 0, weightDecay: 0.01 }),
    atol: 1e-9,
    bad: { alias: asgd, options: [['lambd', -1], ['alpha', NaN], ['t0', -1], ['weightDecay', -1]] },
  },
  {
    name: 'asgd (defaults)',
    make: (lr) => asgd(lr),
    chain: (lr) => chain(addDecayedWeights(0), scaleByAsgd(lr), scale(-1)),
    reference: (lr) => asgdRef(lr),
    atol: 1e-9,
    converge: { parabola: { make: () => asgd(0.1), steps: 20_000 }, rosenbrock: { make: () => asgd(1e-3), steps: 20_000 } },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('asgd: the average', () => {
  it('asgdAverage follows PyTorch: the latest params until t0, then their running mean', () => {
    // t0 = 1: mu_k = 1 / max(1, k - 1) = 1, 1, 1, 1/2, 1/3 for k = 0..4, so after five steps
    // ax is the mean of the parameters after steps 3, 4 and 5 (the float64 reference's `average`).
    const o = { lambd: 0.05, alpha: 0.5, t0: 1 };
    const ref = asgdRef(0.1, o);
    const { updates, params, state } = run(asgd(0.1, o), 5);
    let p = PARAM_VALUES.slice();
    const after: number[][] = [];
    for (let k = 0; k < 5; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 5e-5, 1e-9);
      p = p.map((x, i) => x + updates[k][i]);
      after.push(p);
    }
    const average = asgdAverage(state);
    expectAllClose(flat(average), ref.average(), 5e-5, 1e-8);
    expectAllClose(flat(average), after[2].map((_, i) => (after[2][i] + after[3][i] + after[4][i]) / 3), 1e-5, 1e-7);
    expectAllClose(flat(params), after[4], 1e-6, 1e-8);
    treeDispose([average, params, state]);
  });

  it('asgdAverage returns copies and finds the state inside a chain; a state without one is a TypeError', () => {
    const { params, state } = run(chain(scaleByLearningRate(1), asgd(0.1)), 2);
    const average = asgdAverage(state);
    const ax = (state as any)[1][1].ax;
    expectBitwiseEqual(average, ax);
    for (const t of Object.values(average as Record<string, tf.Tensor>)) expect(Object.values(ax).includes(t)).toBe(false);
    expect(thrown(() => asgdAverage({ count: 0 }))).toBeInstanceOf(TypeError);
    treeDispose([average, params, state]);
  });

  it('needs params', () => {
    const tx = asgd(0.1);
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/asgd/);
    treeDispose([params, state, grads]);
  });
});
