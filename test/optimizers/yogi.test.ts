import { describe, expect, it } from 'vitest';
import { chain, scaleByLearningRate, scaleByYogi, yogi } from '../../src/index.js';
import { itThrowsRangeError, thrown } from '../helpers.js';
import { type Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

/**
 * Yogi (Zaheer et al. 2018, Algorithm 2, with optax's initial value and bias correction):
 *   m = b1 m + (1 - b1) g;  v = v - (1 - b2) sign(v - g^2) g^2;  both start at 1e-6
 *   u = -lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 */
function yogiRef(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-3, init = 1e-6 } = {}): Stepper {
  let m = new Array<number>(10).fill(init);
  let v = new Array<number>(10).fill(init);
  let t = 0;
  return (g) => {
    t += 1;
    m = g.map((x, i) => b1 * m[i] + (1 - b1) * x);
    v = g.map((x, i) => v[i] - (1 - b2) * Math.sign(v[i] - x * x) * x * x);
    return g.map((_, i) => (-lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps));
  };
}

const CASES: OptimizerCase[] = [
  {
    name: 'yogi',
    make: (lr) => yogi(lr),
    chain: (lr) => chain(scaleByYogi(), scaleByLearningRate(lr)),
    reference: (lr) => yogiRef(lr),
    converge: { parabola: 1e-1, rosenbrock: 1e-1 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['yogi b2', () => yogi(0.1, { b2: 1.5 }), /yogi: option 'b2' .* got 1.5/],
  ];
  itThrowsRangeError(cases);

  it('wrong types and unknown options are TypeErrors', () => {
    expect(thrown(() => yogi(0.1, { epsRoot: 0 } as never))).toBeInstanceOf(TypeError);
  });
});
