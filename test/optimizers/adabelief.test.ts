import { describe, expect, it } from 'vitest';
import { adabelief, addDecayedWeights, chain, scaleByBelief, scaleByLearningRate, treeMap, type Params } from '../../src/index.js';
import { itThrowsRangeError, thrown } from '../helpers.js';
import { type Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

// adabelief (Zhuang et al. 2020) against its chain, a float64 reference, the leak check and convergence.

/**
 * AdaBelief (Zhuang et al. 2020, Algorithm 2, with optax's eps placement):
 *   m = b1 m + (1 - b1) g;  s = b2 s + (1 - b2) (g - m)^2 + epsRoot
 *   mHat = m / (1 - b1^t)  (nesterov: b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t))
 *   u = -lr (mHat / (sqrt(s / (1 - b2^t)) + eps) + wd p)
 */
function adabeliefRef(
  lr: number,
  { b1 = 0.9, b2 = 0.999, eps = 1e-16, epsRoot = 1e-16, nesterov = false, weightDecay = 0 } = {},
): Stepper {
  let m = new Array<number>(10).fill(0);
  let s = new Array<number>(10).fill(0);
  let t = 0;
  return (g, p) => {
    t += 1;
    m = g.map((x, i) => b1 * m[i] + (1 - b1) * x);
    s = g.map((x, i) => b2 * s[i] + (1 - b2) * (x - m[i]) ** 2 + epsRoot);
    return g.map((x, i) => {
      const mHat = nesterov ? (b1 * m[i]) / (1 - b1 ** (t + 1)) + ((1 - b1) * x) / (1 - b1 ** t) : m[i] / (1 - b1 ** t);
      return -lr * (mHat / (Math.sqrt(s[i] / (1 - b2 ** t)) + eps) + weightDecay * p[i]);
    });
  };
}

const MASK = (params: Params) => treeMap((x) => x.rank >= 2, params);

const CASES: OptimizerCase[] = [
  {
    name: 'adabelief',
    make: (lr) => adabelief(lr),
    chain: (lr) => chain(scaleByBelief(), scaleByLearningRate(lr)),
    reference: (lr) => adabeliefRef(lr),
    converge: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
  {
    name: 'adabelief weightDecay nesterov',
    make: (lr) => adabelief(lr, { weightDecay: 1e-2, nesterov: true }),
    chain: (lr) => chain(scaleByBelief({ nesterov: true }), addDecayedWeights(1e-2), scaleByLearningRate(lr)),
    reference: (lr) => adabeliefRef(lr, { nesterov: true, weightDecay: 1e-2 }),
    converge: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['adabelief eps', () => adabelief(0.1, { eps: -1 }), /adabelief: option 'eps' .* got -1/],
    ['adabelief weightDecay', () => adabelief(0.1, { weightDecay: -1 }), /adabelief: option 'weightDecay' .* got -1/],
  ];
  itThrowsRangeError(cases);

  it('wrong types and unknown options are TypeErrors', () => {
    expect(thrown(() => adabelief(0.1, { mask: MASK }))).toBeInstanceOf(TypeError);
  });
});
