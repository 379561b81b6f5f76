import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import { chain, identity, scaleByLearningRate, sgd, trace, trainStep, type GradientTransformation } from '../../src/index.js';
import { sgdRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';
import { compare } from './tf-train.js';

const CASES: OptimizerCase[] = [
  {
    name: 'sgd',
    make: (lr) => sgd(lr),
    chain: (lr) => chain(identity(), scaleByLearningRate(lr)),
    reference: (lr) => sgdRef(lr),
    converge: { parabola: 1e-2, rosenbrock: 1e-3, quadratic: 0.1 },
  },
  {
    name: 'sgd momentum',
    make: (lr) => sgd(lr, { momentum: 0.9 }),
    chain: (lr) => chain(trace({ decay: 0.9 }), scaleByLearningRate(lr)),
    reference: (lr) => sgdRef(lr, 0.9),
    converge: { parabola: 1e-3, rosenbrock: 1e-3, quadratic: 0.05 },
  },
  {
    name: 'sgd nesterov',
    make: (lr) => sgd(lr, { momentum: 0.9, nesterov: true }),
    chain: (lr) => chain(trace({ decay: 0.9, nesterov: true }), scaleByLearningRate(lr)),
    reference: (lr) => sgdRef(lr, 0.9, true),
    converge: { parabola: 1e-3, rosenbrock: 1e-3, quadratic: 0.05 },
  },
];

for (const c of CASES) describeOptimizer(c);

// f(x) = 319/8400 x^4 + 43/4200 x^3 - 6799/8400 x^2 - 299/840 x + 6: a global minimum near
// 3.27 and a local one near -3.25. The gradient is taken by tfjs autodiff (float32); the
// reference recurrence is plain float64 JS.
const C4 = 319 / 8400;
const C3 = 43 / 4200;
const C2 = -6799 / 8400;
const C1 = -299 / 840;

const f = (x: tf.Tensor) =>
  tf.tidy(() => tf.addN([tf.mul(C4, tf.pow(x, 4)), tf.mul(C3, tf.pow(x, 3)), tf.mul(C2, tf.square(x)), tf.mul(C1, x), tf.scalar(6)]));
const df = (x: number) => 4 * C4 * x ** 3 + 3 * C3 * x ** 2 + 2 * C2 * x + C1;

function descend(tx: GradientTransformation<any>, x0: number, steps = 100): number[] {
  let params = { x: tf.scalar(x0) };
  let state = tx.init(params);
  const gradOf = tf.grad(f);
  const path: number[] = [];
  for (let k = 0; k < steps; k++) {
    ({ params, state } = trainStep(tx, params, state, { x: gradOf(params.x) as tf.Scalar }));
    path.push(params.x.dataSync()[0]);
  }
  return path;
}

function reference(x0: number, lr: number, momentum = 0, steps = 100): number[] {
  let x = x0;
  let t = 0;
  const path: number[] = [];
  for (let k = 0; k < steps; k++) {
    t = df(x) + momentum * t;
    x -= lr * t;
    path.push(x);
  }
  return path;
}

describe('the local-minimum quartic, lr 0.1, 100 steps', () => {
  const runs: Array<[string, GradientTransformation<any>, number, number]> = [
    ['descent from 5', sgd(0.1), 5, 0],
    ['descent from -5', sgd(0.1), -5, 0],
    ['momentum 0.9 from -5', sgd(0.1, { momentum: 0.9 }), -5, 0.9],
  ];

  it.each(runs)('%s follows the float64 recurrence to 1e-4', (_name, tx, x0, momentum) => {
    const ours = descend(tx, x0);
    const ref = reference(x0, 0.1, momentum);
    for (let k = 0; k < 100; k++) expect(Math.abs(ours[k] - ref[k])).toBeLessThan(1e-4);
  });

  it('plain descent stays in the basin it starts in; momentum escapes to the global minimum', () => {
    expect(descend(sgd(0.1), 5).at(-1)).toBeCloseTo(3.27, 1);
    expect(descend(sgd(0.1), -5).at(-1)).toBeCloseTo(-3.25, 1);
    expect(descend(sgd(0.1, { momentum: 0.9 }), -5).at(-1)).toBeCloseTo(3.27, 1);
  });
});

describe('agreement with tf.train over 20 steps', () => {
  it('sgd = tf.train.sgd', () => compare(sgd(0.05), tf.train.sgd(0.05)));
  it('sgd momentum = tf.train.momentum', () => compare(sgd(0.05, { momentum: 0.9 }), tf.train.momentum(0.05, 0.9)));
  it('sgd nesterov = tf.train.momentum(useNesterov)', () =>
    compare(sgd(0.05, { momentum: 0.9, nesterov: true }), tf.train.momentum(0.05, 0.9, true)));
});
