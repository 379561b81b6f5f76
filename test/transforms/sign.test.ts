import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { scaleBySign } from '../../src/index.js';
import { oneStep } from '../helpers.js';

describe('scaleBySign', () => {
  it("is JAX's sign: -1, 0, 1, NaN for NaN, 1 for a tiny positive value", () => {
    const g = tf.tensor1d([-2, 0, 3, NaN, 1e-30, -1e-30]);
    expect(oneStep(scaleBySign(), g)).toEqual([-1, 0, 1, NaN, 1, -1]);
    g.dispose();
  });
});
