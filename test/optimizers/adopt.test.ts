import { describe, expect, it } from 'vitest';
import { adopt, chain, scaleByAdopt, scaleByLearningRate, treeDispose } from '../../src/index.js';
import { expectAllClose, gradValues32, run } from '../helpers.js';
import type { Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

/**
 * ADOPT (Taniguchi et al. 2024, Algorithm 2 with optax's clipping), k = updates done before:
 * k = 0: v = g^2, update 0;
 * k > 0: n = clip(g / max(sqrt(v), eps), -k^0.25, k^0.25); v = b2 v + (1 - b2) g^2;
 *        m = b1 m + (1 - b1) n; update = -lr m (nesterov: -lr (b1 m + (1 - b1) n)).
 */
function adoptRef(lr: number, { b1 = 0.9, b2 = 0.9999, eps = 1e-6, nesterov = false, clipping = true } = {}): Stepper {
  let m: number[] = [];
  let v: number[] = [];
  let k = 0;
  return (g) => {
    if (k++ === 0) {
      v = g.map((x) => x * x);
      m = g.map(() => 0);
      return m.map(() => 0);
    }
    const c = clipping ? (k - 1) ** 0.25 : Infinity;
    const n = g.map((x, i) => Math.min(Math.max(x / Math.max(Math.sqrt(v[i]), eps), -c), c));
    v = g.map((x, i) => b2 * v[i] + (1 - b2) * x * x);
    m = n.map((x, i) => b1 * m[i] + (1 - b1) * x);
    return m.map((x, i) => -lr * (nesterov ? b1 * x + (1 - b1) * n[i] : x));
  };
}

// optax has no convergence test for adopt; its contrib tests use lr 1e-2, as here.
const CASES: OptimizerCase[] = [
  {
    name: 'adopt',
    make: (lr) => adopt(lr),
    chain: (lr) => chain(scaleByAdopt(), scaleByLearningRate(lr)),
    reference: (lr) => adoptRef(lr),
    atol: 1e-9,
    converge: { parabola: { make: () => adopt(1e-2), steps: 10_000 }, rosenbrock: { make: () => adopt(1e-2), steps: 10_000 } },
    bad: { alias: adopt, options: [['b1', -0.1], ['b2', 1], ['eps', -1]] },
  },
  {
    name: 'adopt nesterov without clipping',
    make: (lr) => adopt(lr, { nesterov: true, useClipping: false }),
    chain: (lr) => chain(scaleByAdopt({ nesterov: true, useClipping: false }), scaleByLearningRate(lr)),
    reference: (lr) => adoptRef(lr, { nesterov: true, clipping: false }),
    atol: 1e-9,
  },
];

for (const c of CASES) describeOptimizer(c);

describe('adopt: the first step only measures the second moment', () => {
  it('update 0 is zero and nu = g^2; update 1 is -lr (1 - b1) clip(g1 / |g0|, -1, 1)', () => {
    // k = 1: c = 1^0.25 = 1; n = clip(g1 / max(|g0|, 1e-6), -1, 1); m = 0.1 n; u = -lr m.
    const { updates, params, state } = run(adopt(0.5), 2);
    expect(updates[0].every((x) => x === 0)).toBe(true);
    const g0 = gradValues32(0);
    const expected = gradValues32(1).map((g, i) => -0.5 * 0.1 * Math.min(Math.max(g / Math.abs(g0[i]), -1), 1));
    expectAllClose(updates[1], expected, 1e-6, 1e-9);
    treeDispose([params, state]);
  });
});
