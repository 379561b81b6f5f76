import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { afterAll, describe, expect, it } from 'vitest';
import { adam, assignUpdates, setKernelMode, sgd, trainStep, treeDispose, TreeStructureError, valueAndGrad } from '../../src/index.js';
import { expectAllClose, flat } from '../helpers.js';

describe('tf.Variable parameters', () => {
  it('trainStep assigns in place: same objects, new values, no leak over 100 steps', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.scalar(0.5));
    let params = { w, b };
    const tx = adam(0.01);
    let state = tx.init(params);
    const start = tf.memory().numTensors;
    for (let k = 0; k < 100; k++) {
      const grads = tf.tidy(() => ({ w: tf.mul(2, params.w), b: tf.mul(2, params.b) }));
      ({ params, state } = trainStep(tx, params, state, grads));
    }
    expect(tf.memory().numTensors).toBe(start);
    expect(params.w).toBe(w);
    expect(params.b).toBe(b);
    // The same steps on plain tensors give the same bits.
    let plain = { w: tf.tensor1d([1, -2]), b: tf.scalar(0.5) };
    let plainState = tx.init(plain);
    for (let k = 0; k < 100; k++) {
      const grads = tf.tidy(() => ({ w: tf.mul(2, plain.w), b: tf.mul(2, plain.b) }));
      ({ params: plain, state: plainState } = trainStep(tx, plain, plainState, grads));
    }
    expect(flat(params)).toEqual(flat(plain));
    expect(Math.abs(flat(params)[1])).toBeLessThan(1);
  });

  it('trainStep handles a mix of variables and tensors', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const params = { v, t: tf.tensor1d([3]) };
    const tx = sgd(0.5);
    const state = tx.init(params);
    const next = trainStep(tx, params, state, { v: tf.tensor1d([1, 1]), t: tf.tensor1d([2]) });
    expect(next.params.v).toBe(v);
    expect(flat(next.params)).toEqual([2, 0.5, 1.5]);
    expect(params.t.isDisposed).toBe(true);
  });

  it('trainStep keeps the gradients with keepGrads', () => {
    const params = { x: tf.tensor1d([1]) };
    const grads = { x: tf.tensor1d([1]) };
    const tx = sgd(0.1);
    trainStep(tx, params, tx.init(params), grads, { keepGrads: true });
    expect(grads.x.isDisposed).toBe(false);
    // A fresh tree: the step above may have replaced and disposed `params`.
    const fresh = { x: tf.tensor1d([1]) };
    trainStep(tx, fresh, tx.init(fresh), grads);
    expect(grads.x.isDisposed).toBe(true);
  });

  it('assignUpdates writes into variables and changes none of them on error', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3]));
    const out = assignUpdates({ a, b }, { a: tf.tensor1d([0.5, 0.5]), b: tf.tensor1d([1]) });
    expect(out.a).toBe(a);
    expect(flat(out)).toEqual([1.5, 2.5, 4]);
    expect(() => assignUpdates({ a, b }, { a: tf.tensor1d([1, 1]), b: tf.tensor1d([1, 1]) })).toThrow(
      'assignUpdates: shape mismatch at b: variables.b has shape [1], but updates.b has shape [2]',
    );
    expect(flat({ a, b })).toEqual([1.5, 2.5, 4]);
    expect(() => assignUpdates({ a, c: tf.tensor1d([1]) }, { a: tf.tensor1d([1, 1]), c: tf.tensor1d([1]) })).toThrow(
      'assignUpdates: variables.c is a tensor, not a tf.Variable; use applyUpdates for tensors',
    );
    expect(flat({ a })).toEqual([1.5, 2.5]);
  });

  it('valueAndGrad on a tree of variables differentiates them where the loss uses them, even through a closure', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.scalar(0.5));
    const unused = tf.variable(tf.tensor1d([7]));
    const params = { w, b, unused };
    // The loss ignores its argument and reads the variables directly, as a layers model does.
    const closure = valueAndGrad(() => tf.sum(tf.add(tf.mul(w, w), b)) as tf.Scalar);
    const viaClosure = closure(params);
    expect(viaClosure.value.dataSync()[0]).toBe(1 + 4 + 1);
    // Flatten order b, unused, w: d/db sum(w² + b) = 2, unused 0, 2w.
    expect(flat(viaClosure.grads)).toEqual([2, 0, 2, -4]);
    // The same through the argument.
    const viaArgument = valueAndGrad((p: typeof params) => tf.sum(tf.add(tf.mul(p.w, p.w), p.b)) as tf.Scalar)(params);
    expect(flat(viaArgument.grads)).toEqual([2, 0, 2, -4]);
    tf.dispose([viaClosure.value, viaArgument.value]);
    treeDispose([viaClosure.grads, viaArgument.grads, params]);
  });

  it('trainStep may overwrite plain parameter tensors in place; a tf.clone taken before keeps the old values', () => {
    let params = { w: tf.tensor1d([1, 2, 3]) };
    const tx = adam(0.1);
    let state = tx.init(params);
    const snapshot = tf.clone(params.w);
    ({ params, state } = trainStep(tx, params, state, { w: tf.tensor1d([1, 1, 1]) }));
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3]);
    expect(flat(params)).toEqual([1, 2, 3].map((x) => Math.fround(x - 0.1)));
    treeDispose([params, state, snapshot]);
  });
});

describe('trainStep inside tf.tidy (where tfjs programs call applyGradients and minimize)', () => {
  const previous = tf.getBackend();
  afterAll(async () => {
    setKernelMode('auto');
    await tf.setBackend(previous);
  });
  const cases = ['wasm', 'cpu'].flatMap((backend) =>
    (['auto', 'composite'] as const).flatMap((mode) => (['tensors', 'variables', 'variables whose first value is alive'] as const).map((kind) => [backend, mode, kind] as const)),
  );
  it.each(cases)('on %s, %s kernels, params as %s: the new params and state outlive the tidy', async (backend, mode, kind) => {
    await tf.setBackend(backend);
    setKernelMode(mode);
    const tx = adam(0.1);
    const first = tf.tensor1d([1, 2]);
    let params: { w: tf.Tensor } = { w: kind === 'tensors' ? first : tf.variable(first) };
    if (kind === 'variables') first.dispose();
    let state = tx.init(params);
    const start = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      // As tfjs-examples' cart-pole does: gradients and step inside one tidy.
      tf.tidy(() => {
        const w = params.w;
        const g = w instanceof tf.Variable ? tf.variableGrads(() => tf.sum(tf.square(w)), [w]).grads[w.name] : tf.mul(w, 2);
        ({ params, state } = trainStep(tx, params, state, { w: g }));
      });
    }
    expect(tf.memory().numTensors).toBe(start);
    // Adam's first steps move each coordinate by about the rate.
    expectAllClose(flat(params), [0.7015862, 1.7006234], 1e-6);
    treeDispose([params, state]);
    if (kind === 'variables whose first value is alive') first.dispose();
  });
});

describe('misuse trainStep refuses instead of computing wrong numbers', () => {
  const previous = tf.getBackend();
  afterAll(async () => {
    setKernelMode('auto');
    await tf.setBackend(previous);
  });
  it.each(['wasm', 'cpu'].flatMap((b) => (['auto', 'composite'] as const).map((m) => [b, m] as const)))(
    'on %s, %s kernels: a state trainStep replaced cannot be stepped again, through trainStep or update',
    async (backend, mode) => {
      await tf.setBackend(backend);
      setKernelMode(mode);
      const tx = adam(0.1);
      let params = { w: tf.tensor1d([1, 2]) };
      const old = tx.init(params);
      let state;
      ({ params, state } = trainStep(tx, params, old, { w: tf.tensor1d([1, 1]) }));
      const before = flat(params);
      const message = /adam: this state was already given to trainStep, which replaced it .* pass the state that trainStep returned/;
      const grads = { w: tf.tensor1d([1, 1]) };
      expect(() => trainStep(tx, params, old, grads)).toThrow(message);
      expect(() => tx.update(grads, old, params)).toThrow(message);
      // Nothing changed, and the state returned still steps.
      expect(flat(params)).toEqual(before);
      ({ params, state } = trainStep(tx, params, state, grads));
      expect(flat(params)[0]).toBeLessThan(before[0]);
      treeDispose([params, state]);
    },
  );

  it('one tensor at two paths of params is refused, naming both paths, before anything changes', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const tx = sgd(0.5);
    const params = { encoder: { embed: v }, decoder: { out: v } };
    const state = tx.init(params);
    const grads = { encoder: { embed: tf.tensor1d([1, 1]) }, decoder: { out: tf.tensor1d([2, 2]) } };
    expect(() => trainStep(tx, params, state, grads)).toThrow(
      'sgd: params.decoder.out and params.encoder.embed are the same tensor; each parameter must appear once in params',
    );
    expect(() => trainStep(tx, params, state, grads)).toThrow(TreeStructureError);
    expect(() => assignUpdates(params, grads)).toThrow('assignUpdates: variables.decoder.out and variables.encoder.embed are the same tensor');
    expect(flat(v)).toEqual([1, 2]);
    expect(grads.decoder.out.isDisposed).toBe(false);
    treeDispose([v, grads]);
  });
});
