import { describe, expect, it } from 'vitest';
import { chain, ema, scaleByLearningRate, scaleBySign, signSgd, signum } from '../../src/index.js';
import { itThrowsRangeError, thrown } from '../helpers.js';
import { type Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

/** signSGD (Bernstein et al. 2018): u = -lr sign(g). */
function signSgdRef(lr: number): Stepper {
  return (g) => g.map((x) => -lr * Math.sign(x));
}

/** Signum (Bernstein et al. 2018): m = beta m + (1 - beta) g; u = -lr sign(m). */
function signumRef(lr: number, beta = 0.9): Stepper {
  let m = new Array<number>(10).fill(0);
  return (g) => {
    m = g.map((x, i) => beta * m[i] + (1 - beta) * x);
    return m.map((x) => -lr * Math.sign(x));
  };
}

const CASES: OptimizerCase[] = [
  {
    name: 'signSgd',
    make: (lr) => signSgd(lr),
    chain: (lr) => chain(scaleBySign(), scaleByLearningRate(lr)),
    reference: (lr) => signSgdRef(lr),
    converge: { parabola: 1e-1 },
  },
  {
    name: 'signum',
    make: (lr) => signum(lr),
    chain: (lr) => chain(ema({ decay: 0.9, debias: false }), scaleBySign(), scaleByLearningRate(lr)),
    reference: (lr) => signumRef(lr),
    converge: { parabola: 1e-2 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['signum beta', () => signum(0.1, { beta: 2 }), /signum: option 'beta' .* got 2/],
    ['signSgd learningRate', () => signSgd(Infinity), /signSgd: option 'learningRate' .* got Infinity/],
  ];
  itThrowsRangeError(cases);

  it('wrong types and unknown options are TypeErrors', () => {
    expect(thrown(() => signSgd(0.1, { momentum: 0.9 } as never))).toBeInstanceOf(TypeError);
  });
});
