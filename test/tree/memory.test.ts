import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adam, disposeReplaced, treeDispose, treeKeep, treeLeaves } from '../../src/index.js';
import { makeGrads, makeParams, thrown } from '../helpers.js';

const t = (...v: number[]) => tf.tensor1d(v);

describe('memory helpers', () => {
  it('treeDispose frees every tensor of a state, once, skipping numbers', () => {
    const a = t(1);
    const before = tf.memory().numTensors;
    const b = t(2);
    treeDispose({ count: 3, mu: { a: b }, again: [b], label: 'x' });
    expect(b.isDisposed).toBe(true);
    expect(a.isDisposed).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('disposeReplaced frees exactly what the new trees no longer hold', () => {
    const shared = t(1);
    const gone = t(2);
    const fresh = t(3);
    const n = disposeReplaced([{ p: shared }, { s: gone, count: 1 }], [{ p: shared, q: fresh }, { count: 2 }]);
    expect(n).toBe(1);
    expect(gone.isDisposed).toBe(true);
    expect(shared.isDisposed).toBe(false);
    expect(fresh.isDisposed).toBe(false);
  });
});

describe('treeKeep', () => {
  it('keeps every tensor of a mix of trees and states out of tf.tidy, which disposes the rest', () => {
    const params = makeParams();
    const grads = makeGrads(1);
    const tx = adam(0.1);
    const state = tx.init(params);
    const before = tf.memory().numTensors;
    let temporary: tf.Tensor | undefined;
    let kept: { step: ReturnType<typeof tx.update>; count: number; label: string; none: null } | undefined;
    // The tidy returns nothing: only treeKeep decides what survives.
    tf.tidy(() => {
      temporary = tf.mul(params.scale, 2);
      const value = { step: tx.update(grads, state, params), count: 1, label: 'x', none: null };
      kept = treeKeep(value);
      expect(kept).toBe(value);
    });
    expect(temporary!.isDisposed).toBe(true);
    // The step's 3 updates and 6 new moments survive, and nothing else.
    expect(tf.memory().numTensors - before).toBe(9);
    const survivors = treeLeaves(kept);
    expect(survivors).toHaveLength(9);
    expect(survivors.every((x) => !x.isDisposed)).toBe(true);
    expect(kept!.count).toBe(1);
    treeDispose([kept, state, params, grads]);
  });

  it('keeps nothing when it throws, so the tidy disposes everything it made', () => {
    const before = tf.memory().numTensors;
    const e = thrown(() => tf.tidy(() => treeKeep({ w: tf.ones([2]), f: () => 1 }) as never));
    expect(e.message).toContain('treeKeep: tree.f: expected a tf.Tensor');
    expect(tf.memory().numTensors).toBe(before);
  });
});
