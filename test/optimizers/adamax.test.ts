import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { adamax, adamaxw, addDecayedWeights, chain, scaleByAdamax, scaleByLearningRate } from '../../src/index.js';
import { expectAllClose, itThrowsRangeError, stepOnce } from '../helpers.js';
import { adamaxRef, type Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';
import { compare } from './tf-train.js';

/** AdamaxW: Adamax's step plus `lr * wd * p` (decoupled decay, times the learning rate). */
function adamaxwRef(lr: number, weightDecay: number): Stepper {
  const adamaxStep = adamaxRef(lr);
  return (g, p) => adamaxStep(g, p).map((u, i) => u - lr * weightDecay * p[i]);
}

const CASES: OptimizerCase[] = [
  {
    name: 'adamax',
    make: (lr) => adamax(lr),
    chain: (lr) => chain(scaleByAdamax(), scaleByLearningRate(lr)),
    reference: (lr) => adamaxRef(lr),
    converge: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'adamaxw',
    make: (lr) => adamaxw(lr, { weightDecay: 1e-2 }),
    chain: (lr) => chain(scaleByAdamax(), addDecayedWeights(1e-2), scaleByLearningRate(lr)),
    reference: (lr) => adamaxwRef(lr, 1e-2),
    // optax tests the default weightDecay (1e-4); 1e-2 moves Rosenbrock's minimum by more than 3e-2.
    converge: { parabola: { make: () => adamaxw(1e-1) }, rosenbrock: { make: () => adamaxw(1e-1) } },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('defining behaviour', () => {
  it('adamax: the first step is -lr * g / (|g| + eps)', () => {
    const g = [0.5, -2, 1e-3];
    const u = stepOnce(adamax(0.1), g);
    expectAllClose(u, g.map((x) => (-0.1 * x) / (Math.abs(x) + 1e-8)), 1e-6, 0);
  });
});

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['adamaxw weightDecay', () => adamaxw(0.1, { weightDecay: NaN }), /adamaxw: option 'weightDecay' .* got NaN/],
  ];
  itThrowsRangeError(cases);
});

describe('agreement with tf.train over 20 steps', () => {
  // tf.train.adamax adds eps to the infinity norm after the maximum, optax (and we) to |g|
  // before it; with eps = 1e-8 against gradients of order 0.1 the two agree to float32 rounding.
  it('adamax = tf.train.adamax (eps placed differently, negligibly here)', () =>
    compare(adamax(0.01), tf.train.adamax(0.01, 0.9, 0.999, 1e-8)));
});
