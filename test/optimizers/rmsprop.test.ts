import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { chain, identity, rmsprop, scaleByLearningRate, scaleByRms, scaleByStddev, trace } from '../../src/index.js';
import { rmspropRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';
import { compare } from './tf-train.js';

const CASES: OptimizerCase[] = [
  {
    name: 'rmsprop',
    make: (lr) => rmsprop(lr),
    chain: (lr) => chain(scaleByRms(), scaleByLearningRate(lr), identity()),
    reference: (lr) => rmspropRef(lr),
    converge: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-2 },
  },
  {
    name: 'rmsprop centered',
    make: (lr) => rmsprop(lr, { centered: true }),
    chain: (lr) => chain(scaleByStddev(), scaleByLearningRate(lr), identity()),
    reference: (lr) => rmspropRef(lr, { centered: true }),
    converge: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-2 },
  },
  {
    name: 'rmsprop momentum',
    make: (lr) => rmsprop(lr, { momentum: 0.9 }),
    chain: (lr) => chain(scaleByRms(), scaleByLearningRate(lr), trace({ decay: 0.9 })),
    reference: (lr) => rmspropRef(lr, { momentum: 0.9 }),
    converge: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-3 },
  },
  {
    name: 'rmsprop nesterov, eps outside sqrt',
    make: (lr) => rmsprop(lr, { momentum: 0.9, nesterov: true, epsInSqrt: false }),
    chain: (lr) => chain(scaleByRms({ epsInSqrt: false }), scaleByLearningRate(lr), trace({ decay: 0.9, nesterov: true })),
    reference: (lr) => rmspropRef(lr, { momentum: 0.9, nesterov: true, epsInSqrt: false }),
    converge: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-3 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('agreement with tf.train over 20 steps', () => {
  it('rmsprop = tf.train.rmsprop', () => compare(rmsprop(0.01, { eps: 1e-7 }), tf.train.rmsprop(0.01, 0.9, 0, 1e-7)));
  it('rmsprop momentum = tf.train.rmsprop(momentum)', () =>
    compare(rmsprop(0.01, { eps: 1e-7, momentum: 0.8 }), tf.train.rmsprop(0.01, 0.9, 0.8, 1e-7)));
  it('rmsprop centered = tf.train.rmsprop(centered)', () =>
    compare(rmsprop(0.01, { eps: 1e-7, centered: true }), tf.train.rmsprop(0.01, 0.9, 0, 1e-7, true)));
});
