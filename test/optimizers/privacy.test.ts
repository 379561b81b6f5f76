import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  applyUpdates, chain, differentiallyPrivateAggregate, disposeReplaced, dpsgd, getHyperparam, identity, kernelPath, scaleByLearningRate, trace, trainStep, treeDispose,
  type GradientTransformation, type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, thrown } from '../helpers.js';

// dpsgd, as optax 0.2.8's contrib: differentiallyPrivateAggregate, then SGD with optional momentum.

type AnyTx = GradientTransformation<any>;

/** `steps` updates on params { w: [2, 3] } with 4 examples (example i's gradient is (i + 1) * (w - target)). */
function runDp(tx: AnyTx, steps: number): { updates: number[][]; state: unknown; params: Params } {
  const target = tf.tensor2d([[1, -1, 2], [0.5, 0, -2]]);
  let params: Params = { w: tf.zeros([2, 3]) };
  let state = tx.init(params);
  const updates: number[][] = [];
  for (let k = 0; k < steps; k++) {
    const grads = { w: tf.tidy(() => tf.mul(tf.reshape(tf.range(1, 5), [4, 1, 1]), tf.sub((params as { w: tf.Tensor }).w, target))) };
    const [u, next]: [Params, unknown] = tx.update(grads, state, params);
    updates.push(flat(u));
    const p: Params = applyUpdates(params, u);
    treeDispose([grads, u, params]);
    disposeReplaced(state, next);
    [params, state] = [p, next];
  }
  target.dispose();
  return { updates, state, params };
}

describe('dpsgd', () => {
  it.each([
    ['without momentum', {}, () => identity()],
    ['with momentum', { momentum: 0.9 }, () => trace({ decay: 0.9 })],
    ['with nesterov momentum', { momentum: 0.5, nesterov: true }, () => trace({ decay: 0.5, nesterov: true })],
  ] as const)('is its documented chain, bit for bit (%s)', (_name, extra, middle) => {
    const o = { l2NormClip: 1, noiseMultiplier: 0.3, seed: 5 };
    const a = runDp(dpsgd(0.1, { ...o, ...extra }), 4);
    const b = runDp(chain(differentiallyPrivateAggregate(o), middle(), scaleByLearningRate(0.1)), 4);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('takes -lr times the mean of the clipped gradients without noise (hand-derived first step)', () => {
    // At w = 0, example i's gradient is -(i + 1) * target, of norm (i + 1) * sqrt(11.25); clipped to 2.
    const r = runDp(dpsgd(0.5, { l2NormClip: 2, noiseMultiplier: 0 }), 1);
    const n = Math.sqrt(1 + 1 + 4 + 0.25 + 0 + 4);
    const factor = [1, 2, 3, 4].reduce((s, i) => s + i * Math.min(2 / (i * n), 1), 0) / 4;
    expectAllClose(r.updates[0], [1, -1, 2, 0.5, 0, -2].map((t) => 0.5 * factor * t), 1e-6, 1e-7);
    treeDispose([r.params, r.state]);
  });

  it('reaches the target without noise, and near it with noise (the noise averages out with momentum)', () => {
    const clean = runDp(dpsgd(0.3, { l2NormClip: 100, noiseMultiplier: 0 }), 200);
    expectAllClose(flat(clean.params), [1, -1, 2, 0.5, 0, -2], 1e-4, 1e-4);
    const noisy = runDp(dpsgd(0.02, { l2NormClip: 10, noiseMultiplier: 0.1, momentum: 0.9, seed: 1 }), 300);
    expectAllClose(flat(noisy.params), [1, -1, 2, 0.5, 0, -2], 0, 0.3);
    treeDispose([clean.params, clean.state, noisy.params, noisy.state]);
  });

  it('keeps learningRate = schedule(k) in the state, and runs composite', () => {
    const schedule = (k: number) => 0.1 / (1 + k);
    const r = runDp(dpsgd(schedule, { l2NormClip: 1, noiseMultiplier: 1 }), 3);
    expect(getHyperparam(r.state, 'learningRate')).toBe(schedule(3));
    expect(kernelPath(dpsgd(0.1, { l2NormClip: 1, noiseMultiplier: 1, momentum: 0.9 }))).toBe('composite');
    treeDispose([r.params, r.state]);
  });

  it('leaks nothing over 100 steps', () => {
    const before = tf.memory().numTensors;
    const r = runDp(dpsgd(0.1, { l2NormClip: 1, noiseMultiplier: 1, momentum: 0.9 }), 100);
    treeDispose([r.params, r.state]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses gradients without the per-example axis with a clear error, and the failed step changes nothing', () => {
    const tx = dpsgd(0.1, { l2NormClip: 1, noiseMultiplier: 1, momentum: 0.9 });
    const params = { w: tf.zeros([2, 3]), b: tf.zeros([3]) };
    const state = tx.init(params);
    const before = tf.memory().numTensors;
    const error = thrown(() => tx.update({ w: tf.ones([2, 3]), b: tf.ones([3]) }, state, params));
    expect(error.message).toMatch(/^dpsgd: expects per-example gradients, stacked on axis 0 \(each leaf of shape \[batch, \.\.\.the parameter's shape\]\); updates.b has shape \[3\] but params.b has shape \[3\]/);
    expect(tf.memory().numTensors - before).toBe(2);
    expect(state[0].count).toBe(0);
    treeDispose([params, state]);
  });

  it('is stepped with update and applyUpdates: trainStep checks gradients against the params\' shapes', () => {
    const tx = dpsgd(0.1, { l2NormClip: 1, noiseMultiplier: 1 });
    const params = { w: tf.zeros([2, 3]) };
    const state = tx.init(params);
    const grads = { w: tf.ones([4, 2, 3]) };
    expect(thrown(() => trainStep(tx, params, state, grads)).message).toMatch(/shape mismatch at w: updates.w has shape \[4, 2, 3\], but params.w has shape \[2, 3\]/);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['l2NormClip', -1, RangeError], ['noiseMultiplier', -0.5, RangeError], ['momentum', 1.5, RangeError], ['seed', -1, RangeError], ['nesterov', 1, TypeError],
  ] as const)('rejects %s = %s, naming the option', (option, value, kind) => {
    const error = thrown(() => dpsgd(0.1, { l2NormClip: 1, noiseMultiplier: 1, momentum: 0.9, [option]: value }));
    expect(error).toBeInstanceOf(kind);
    expect(error.message).toMatch(new RegExp(`^dpsgd: option '${option}'`));
  });

  it('rejects a missing l2NormClip, nesterov without momentum, and unknown options', () => {
    expect(thrown(() => dpsgd(0.1, { noiseMultiplier: 1 } as never)).message).toMatch(/dpsgd: .*l2NormClip/);
    expect(thrown(() => dpsgd(0.1, { l2NormClip: 1, noiseMultiplier: 1, nesterov: true })).message).toMatch(/dpsgd: option 'nesterov' needs 'momentum'/);
    expect(thrown(() => dpsgd(0.1, { l2NormClip: 1, noiseMultiplier: 1, key: 0 } as never)).message).toMatch(/dpsgd: unknown option 'key'/);
    expect(thrown(() => dpsgd(-1, { l2NormClip: 1, noiseMultiplier: 1 })).message).toMatch(/dpsgd: option 'learningRate'/);
  });
});
