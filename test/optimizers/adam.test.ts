import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adam, adamw, addDecayedWeights, chain, nadam, nadamw, scaleByAdam, scaleByLearningRate, treeMap, type Params } from '../../src/index.js';
import { itThrowsRangeError, thrown } from '../helpers.js';
import { adamRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';
import { compare } from './tf-train.js';

/** Decay matrices only: the usual "no decay on biases and scales" mask, as a function of params. */
const MASK = (params: Params) => treeMap((x) => x.rank >= 2, params);
const MASK_FLAT = [false, false, false, true, true, true, true, true, true, false];

const CASES: OptimizerCase[] = [
  {
    name: 'adam',
    make: (lr) => adam(lr),
    chain: (lr) => chain(scaleByAdam(), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr),
    converge: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'nadam',
    make: (lr) => nadam(lr),
    chain: (lr) => chain(scaleByAdam({ nesterov: true }), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { nesterov: true }),
    converge: { parabola: 1e-2, rosenbrock: 1e-2, quadratic: 1e-2 },
  },
  {
    name: 'adamw',
    make: (lr) => adamw(lr),
    chain: (lr) => chain(scaleByAdam(), addDecayedWeights(1e-4), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { weightDecay: 1e-4 }),
    converge: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'adamw masked',
    make: (lr) => adamw(lr, { weightDecay: 0.05, mask: MASK }),
    chain: (lr) => chain(scaleByAdam(), addDecayedWeights(0.05, { mask: MASK }), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { weightDecay: 0.05, decayMask: MASK_FLAT }),
    converge: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'nadamw',
    make: (lr) => nadamw(lr, { weightDecay: 1e-2 }),
    chain: (lr) => chain(scaleByAdam({ nesterov: true }), addDecayedWeights(1e-2), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { nesterov: true, weightDecay: 1e-2 }),
    converge: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
  {
    name: 'nadamw mask',
    make: (lr) => nadamw(lr, { weightDecay: 1e-2, mask: MASK }),
    chain: (lr) => chain(scaleByAdam({ nesterov: true }), addDecayedWeights(1e-2, { mask: MASK }), scaleByLearningRate(lr)),
    reference: (lr) =>
      adamRef(lr, { nesterov: true, weightDecay: 1e-2, decayMask: [false, false, false, true, true, true, true, true, true, false] }),
    converge: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['nadamw b1', () => nadamw(0.1, { b1: -0.1 }), /nadamw: option 'b1' .* got -0.1/],
  ];
  itThrowsRangeError(cases);

  it('wrong types and unknown options are TypeErrors', () => {
    expect(thrown(() => nadamw(0.1, { nesterov: false } as never))).toBeInstanceOf(TypeError);
  });
});

describe('agreement with tf.train over 20 steps', () => {
  it('adam = tf.train.adam', () => compare(adam(0.01, { eps: 1e-7 }), tf.train.adam(0.01, 0.9, 0.999, 1e-7)));
  it('adam with b1 = 0.5, b2 = 0.9 = tf.train.adam', () =>
    compare(adam(0.02, { b1: 0.5, b2: 0.9, eps: 1e-7 }), tf.train.adam(0.02, 0.5, 0.9, 1e-7)));
});
