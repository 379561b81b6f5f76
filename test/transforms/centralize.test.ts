import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { centralize, disposeReplaced } from '../../src/index.js';
import { oneStep } from '../helpers.js';

describe('centralize', () => {
  it('subtracts the mean over all axes but the first from leaves of rank >= 2; others unchanged', () => {
    // [[1, 2, 3], [4, 5, 6]]: row means 2 and 5, so [[-1, 0, 1], [-1, 0, 1]] (optax's example).
    // [[[1, 3], [5, 7]]]: one slice of mean 4, so [[[-3, -1], [1, 3]]].
    const grads = { m: tf.tensor2d([[1, 2, 3], [4, 5, 6]]), t: tf.tensor3d([[[1, 3], [5, 7]]]), v: tf.tensor1d([1, 2]), s: tf.scalar(4) };
    expect(oneStep(centralize(), grads)).toEqual([-1, 0, 1, -1, 0, 1, 4, -3, -1, 1, 3, 1, 2]);
    disposeReplaced(grads, []);
  });
});
