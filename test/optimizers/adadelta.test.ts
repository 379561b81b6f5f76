import { describe, it } from 'vitest';
import { adadelta, addDecayedWeights, chain, scaleByAdadelta, scaleByLearningRate } from '../../src/index.js';
import { expectAllClose, stepOnce } from '../helpers.js';
import { adadeltaRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

const CASES: OptimizerCase[] = [
  {
    name: 'adadelta',
    make: (lr) => adadelta(lr),
    chain: (lr) => chain(addDecayedWeights(0), scaleByAdadelta(), scaleByLearningRate(lr)),
    reference: (lr) => adadeltaRef(lr),
    // Adadelta creeps at first (its step starts at sqrt(eps)) and at lr 1 circles the optimum.
    converge: { parabola: 1, rosenbrock: 0.1, quadratic: { lr: 0.1, steps: 10_000 } },
  },
  {
    name: 'adadelta with weight decay',
    make: (lr) => adadelta(lr, { weightDecay: 0.01, rho: 0.95 }),
    chain: (lr) => chain(addDecayedWeights(0.01), scaleByAdadelta({ rho: 0.95 }), scaleByLearningRate(lr)),
    reference: (lr) => adadeltaRef(lr, { weightDecay: 0.01, rho: 0.95 }),
    converge: { parabola: 1, rosenbrock: 0.1, quadratic: { lr: 0.1, steps: 10_000 } },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('defining behaviour', () => {
  it('adadelta: the learning rate defaults to 1 and the step descends', () => {
    const g = [0.5, -2, 0.01];
    const u = stepOnce(adadelta(), g);
    // First step: u = -sqrt(0 + eps) / sqrt(0.1 g^2 + eps) * g.
    expectAllClose(u, g.map((x) => (-Math.sqrt(1e-6) / Math.sqrt(0.1 * x * x + 1e-6)) * x), 1e-5, 0);
  });
});
