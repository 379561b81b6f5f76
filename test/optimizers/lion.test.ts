import { describe, expect, it } from 'vitest';
import { addDecayedWeights, chain, lion, scaleByLearningRate, scaleByLion } from '../../src/index.js';
import { stepOnce } from '../helpers.js';
import { lionRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

const CASES: OptimizerCase[] = [
  {
    name: 'lion',
    make: (lr) => lion(lr, { weightDecay: 1e-4 }),
    chain: (lr) => chain(scaleByLion(), addDecayedWeights(1e-4), scaleByLearningRate(lr)),
    reference: (lr) => lionRef(lr, { weightDecay: 1e-4 }),
    converge: { parabola: 1e-2, rosenbrock: 1e-3, quadratic: 1e-3 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('defining behaviour', () => {
  const f = Math.fround;

  it('lion: every coordinate moves by exactly the learning rate (without decay)', () => {
    const u = stepOnce(lion(0.003, { weightDecay: 0 }), [0.2, -5, 1e-6]);
    expect(u).toEqual([-f(0.003), f(0.003), -f(0.003)]);
    // A zero interpolation gives a zero step, as sign(0) = 0; a NaN gradient gives a NaN step
    // (tf.sign would give 0 for both 1e-6 and NaN on some backend; the sign here is exact).
    const [zero, one, nan] = stepOnce(lion(0.003, { weightDecay: 0 }), [0, 1, NaN]);
    expect(Math.abs(zero)).toBe(0);
    expect(one).toBe(-f(0.003));
    expect(nan).toBeNaN();
  });
});
