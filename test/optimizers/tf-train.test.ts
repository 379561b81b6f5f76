import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { adagrad, adam, adamax, applyUpdates, rmsprop, sgd, type GradientTransformation, type Params } from '../../src/index.js';
import { expectAllClose, flat, gradValues } from '../helpers.js';

// The same 20-step gradient sequence fed to tf.train's optimizer (on variables) and to ours (on
// tensors), with the same hyperparameters and eps set equal. Gradients depend on the step only,
// so both see identical inputs. tf.train keeps bias corrections and accumulators in float32
// tensors, so agreement is to float32 rounding, not bitwise.

const SHAPES: Record<string, number[]> = { kernel: [4, 3], bias: [3], gain: [] };

function initial(name: string): number[] {
  const n = SHAPES[name].reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => Math.cos(i + name.length) * 0.8);
}

function grad(name: string, k: number): number[] {
  const n = SHAPES[name].reduce((a, b) => a * b, 1);
  return gradValues(k, n + name.length).slice(name.length).map((g, i) => g * (1 + 0.1 * ((i + k) % 4)));
}

function compare(ours: GradientTransformation<any>, theirs: tf.Optimizer, steps = 20): void {
  const names = Object.keys(SHAPES);
  const suffix = Math.random().toString(36).slice(2);
  const vars = Object.fromEntries(
    names.map((n) => [n, tf.variable(tf.tensor(initial(n), SHAPES[n]), true, `${n}_${suffix}`)]),
  );
  let params: Params = Object.fromEntries(names.map((n) => [n, tf.tensor(initial(n), SHAPES[n])]));
  let state = ours.init(params);
  for (let k = 0; k < steps; k++) {
    const grads = Object.fromEntries(names.map((n) => [n, tf.tensor(grad(n, k), SHAPES[n])]));
    theirs.applyGradients(Object.fromEntries(names.map((n) => [vars[n].name, grads[n]])));
    const [u, next]: [Params, unknown] = ours.update(grads, state, params);
    params = applyUpdates(params, u);
    state = next;
  }
  const p = params as Record<string, tf.Tensor>;
  for (const n of names) expectAllClose(flat(p[n]), Array.from(vars[n].dataSync()), 2e-5, 2e-6);
  theirs.dispose();
  for (const v of Object.values(vars)) v.dispose();
}

describe('agreement with tf.train over 20 steps', () => {
  it('sgd = tf.train.sgd', () => compare(sgd(0.05), tf.train.sgd(0.05)));
  it('sgd momentum = tf.train.momentum', () => compare(sgd(0.05, { momentum: 0.9 }), tf.train.momentum(0.05, 0.9)));
  it('sgd nesterov = tf.train.momentum(useNesterov)', () =>
    compare(sgd(0.05, { momentum: 0.9, nesterov: true }), tf.train.momentum(0.05, 0.9, true)));
  it('adagrad = tf.train.adagrad', () => compare(adagrad(0.1), tf.train.adagrad(0.1, 0.1)));
  it('rmsprop = tf.train.rmsprop', () => compare(rmsprop(0.01, { eps: 1e-7 }), tf.train.rmsprop(0.01, 0.9, 0, 1e-7)));
  it('rmsprop momentum = tf.train.rmsprop(momentum)', () =>
    compare(rmsprop(0.01, { eps: 1e-7, momentum: 0.8 }), tf.train.rmsprop(0.01, 0.9, 0.8, 1e-7)));
  it('rmsprop centered = tf.train.rmsprop(centered)', () =>
    compare(rmsprop(0.01, { eps: 1e-7, centered: true }), tf.train.rmsprop(0.01, 0.9, 0, 1e-7, true)));
  it('adam = tf.train.adam', () => compare(adam(0.01, { eps: 1e-7 }), tf.train.adam(0.01, 0.9, 0.999, 1e-7)));
  it('adam with b1 = 0.5, b2 = 0.9 = tf.train.adam', () =>
    compare(adam(0.02, { b1: 0.5, b2: 0.9, eps: 1e-7 }), tf.train.adam(0.02, 0.5, 0.9, 1e-7)));
  // tf.train.adamax adds eps to the infinity norm after the maximum, optax (and we) to |g|
  // before it; with eps = 1e-8 against gradients of order 0.1 the two agree to float32 rounding.
  it('adamax = tf.train.adamax (eps placed differently, negligibly here)', () =>
    compare(adamax(0.01), tf.train.adamax(0.01, 0.9, 0.999, 1e-8)));
});
