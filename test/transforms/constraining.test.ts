import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { disposeReplaced, keepParamsNonnegative, zeroNans } from '../../src/index.js';
import { flat, oneStep, thrown } from '../helpers.js';

describe('zeroNans', () => {
  it('replaces NaN by 0, keeps infinities, and flags the leaves that had a NaN', () => {
    const grads = { a: tf.tensor1d([1, NaN, Infinity]), b: tf.tensor1d([2, -3]) };
    const tx = zeroNans();
    const s0 = tx.init(grads);
    expect(flat(s0.foundNan)).toEqual([0, 0]);
    const [u, s1] = tx.update(grads, s0, grads);
    expect(flat(u)).toEqual([1, 0, Infinity, 2, -3]);
    expect(flat(s1.foundNan)).toEqual([1, 0]);
    disposeReplaced([u, s0, s1, grads], []);
  });
});

describe('keepParamsNonnegative', () => {
  it('replaces an update that would make a parameter negative by -p', () => {
    // p + u = [-1, 0.25, 1, -0.5]: the first and last would go below 0, so they become -p.
    const p = tf.tensor1d([1, 0.5, 0, -1]);
    const u = tf.tensor1d([-2, -0.25, 1, 0.5]);
    expect(oneStep(keepParamsNonnegative(), u, p)).toEqual([-1, -0.25, 1, 1]);
    expect(thrown(() => keepParamsNonnegative().update(u, {}, undefined)).message).toMatch(/keepParamsNonnegative: .*needs the current parameters/);
    disposeReplaced([p, u], []);
  });
});
