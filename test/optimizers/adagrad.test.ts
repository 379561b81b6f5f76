import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { adagrad, chain, scaleByLearningRate, scaleByRss } from '../../src/index.js';
import { adagradRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';
import { compare } from './tf-train.js';

const CASES: OptimizerCase[] = [
  {
    name: 'adagrad',
    make: (lr) => adagrad(lr),
    chain: (lr) => chain(scaleByRss(), scaleByLearningRate(lr)),
    reference: (lr) => adagradRef(lr),
    converge: { parabola: 1.0, rosenbrock: 1.0, quadratic: 0.5 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('agreement with tf.train over 20 steps', () => {
  it('adagrad = tf.train.adagrad', () => compare(adagrad(0.1), tf.train.adagrad(0.1, 0.1)));
});
