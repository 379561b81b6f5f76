import { addDecayedWeights, ademamix, chain, scaleByAdemamix, scaleByLearningRate } from '../../src/index.js';
import type { Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

/**
 * AdEMAMix (Pagliardini et al. 2024, Algorithm 1), t = step number:
 * m1 = b1 m1 + (1 - b1) g;  m2 = b3 m2 + (1 - b3) g;  v = b2 v + (1 - b2) g^2;
 * update = -lr ((m1 / (1 - b1^t) + alpha m2) / (sqrt(v / (1 - b2^t)) + eps) + wd p).
 * `b3` and `alpha` may be functions of t - 1.
 */
function ademamixRef(
  lr: number,
  { b1 = 0.9, b2 = 0.999, b3 = 0.9999 as number | ((k: number) => number), alpha = 5 as number | ((k: number) => number), eps = 1e-8, weightDecay = 0 } = {},
): Stepper {
  let m1: number[] | null = null;
  let m2: number[] | null = null;
  let v: number[] | null = null;
  let t = 0;
  return (g, p) => {
    const b3t = typeof b3 === 'function' ? b3(t) : b3;
    const at = typeof alpha === 'function' ? alpha(t) : alpha;
    t++;
    m1 = g.map((x, i) => b1 * (m1 ? m1[i] : 0) + (1 - b1) * x);
    m2 = g.map((x, i) => b3t * (m2 ? m2[i] : 0) + (1 - b3t) * x);
    v = g.map((x, i) => b2 * (v ? v[i] : 0) + (1 - b2) * x * x);
    return g.map((_, i) => -lr * ((m1![i] / (1 - b1 ** t) + at * m2![i]) / (Math.sqrt(v![i] / (1 - b2 ** t)) + eps) + weightDecay * p[i]));
  };
}

// optax has no convergence test for ademamix; its contrib tests use lr 1e-3, as here.
const CASES: OptimizerCase[] = [
  {
    name: 'ademamix',
    make: (lr) => ademamix(lr, { weightDecay: 0.01 }),
    chain: (lr) => chain(scaleByAdemamix({ alpha: 5 }), addDecayedWeights(0.01), scaleByLearningRate(lr)),
    reference: (lr) => ademamixRef(lr, { weightDecay: 0.01 }),
    atol: 1e-9,
    // The slow average (b3 = 0.9999) rings for tens of thousands of steps on the parabola.
    converge: { parabola: { make: () => ademamix(1e-3), steps: 50_000 }, rosenbrock: { make: () => ademamix(1e-3), steps: 20_000 } },
    bad: { alias: ademamix, options: [['b1', 1], ['b3', 1.5], ['alpha', -1], ['eps', -1], ['epsRoot', -1], ['weightDecay', -1]] },
  },
  {
    name: 'ademamix with b3 and alpha schedules',
    make: (lr) => ademamix(lr, { b3: (k: number) => 0.99 - 0.1 / (k + 1), alpha: (k: number) => 1 + k }),
    chain: (lr) =>
      chain(
        scaleByAdemamix({ b3: (k: number) => 0.99 - 0.1 / (k + 1), alpha: (k: number) => 1 + k }),
        addDecayedWeights(0),
        scaleByLearningRate(lr),
      ),
    reference: (lr) => ademamixRef(lr, { b3: (k: number) => 0.99 - 0.1 / (k + 1), alpha: (k: number) => 1 + k }),
    atol: 1e-9,
  },
];

for (const c of CASES) describeOptimizer(c);
