import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Scratch } from '../../src/internal/scratch.js';

const t = (...v: number[]) => tf.tensor1d(v);

describe('Scratch: element-wise math that frees intermediates as it goes', () => {
  it('disposes each temporary when an op consumes it, and never inputs, kept or final results', () => {
    const x = t(1, 2);
    const y = t(3, 4);
    const before = tf.memory().numTensors;
    const s = new Scratch();
    const a = s.mul(x, y);
    const kept = s.keep(s.add(x, y));
    const b = s.add(a, kept);
    const result = s.sqrt(s.mul(b, kept));
    expect(a.isDisposed).toBe(true);
    expect(b.isDisposed).toBe(true);
    expect(x.isDisposed || y.isDisposed || kept.isDisposed || result.isDisposed).toBe(false);
    expect(Array.from(result.dataSync())).toEqual([Math.fround(Math.sqrt((3 + 4) * 4)), Math.fround(Math.sqrt((8 + 6) * 6))]);
    // Only the kept tensor and the result are left.
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([x, y, kept, result]);
  });
});
