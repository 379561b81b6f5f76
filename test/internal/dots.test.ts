import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { readDot, readDots } from '../../src/internal/dots.js';

describe('readDots: inner products of trees as float64 JS numbers', () => {
  it('adds the per-leaf float32 sums in float64, with one extra scalar read alongside', () => {
    const a = { w: tf.tensor1d([1, 2, 3]), b: tf.tensor1d([0.5]) };
    const b = { w: tf.tensor1d([4, 5, 6]), b: tf.tensor1d([2]) };
    const extra = tf.scalar(7);
    const before = tf.memory().numTensors;
    const { dots, extra: read } = readDots([[a, b], [a, a]], [extra]);
    expect(dots).toEqual([33, 14.25]);
    expect(read).toEqual([7]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, extra]);
  });

  it('an empty leaf adds an exact 0 on every backend (wasm sums an empty tensor to garbage)', () => {
    const zeros = { w: tf.zeros([3]), e: tf.zeros([0]), m: tf.zeros([0, 4]) };
    expect(readDot(zeros, zeros)).toBe(0);
    const x = { w: tf.tensor1d([1, 2]), e: tf.zeros([0]) };
    expect(readDot(x, x)).toBe(5);
    expect(readDots([]).dots).toEqual([]);
    tf.dispose([zeros, x]);
  });
});
