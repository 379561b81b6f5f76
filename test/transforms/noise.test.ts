import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { addNoise, disposeReplaced } from '../../src/index.js';
import { noiseSeed } from '../../src/transforms/noise.js';
import { expectAllClose, flat, itThrowsRangeError, thrown } from '../helpers.js';

// Noise: reproducible from the seed.

describe('addNoise', () => {
  it('adds sqrt(eta / t^gamma) times the documented tf.randomNormal draw', () => {
    // t = 1, 2: std = sqrt(0.3 / t^0.55); the noise of the j-th non-empty leaf is
    // tf.randomNormal(shape, 0, 1, 'float32', noiseSeed(seed, t, j)).
    const grads = { a: tf.tensor1d([1, 2, 3]), b: tf.zeros([0]), c: tf.tensor2d([[4, 5]]) };
    const tx = addNoise({ eta: 0.3, gamma: 0.55, seed: 7 });
    let state = tx.init(grads);
    for (let t = 1; t <= 2; t++) {
      const [u, next] = tx.update(grads, state, grads);
      const std = Math.sqrt(0.3 / t ** 0.55);
      const na = tf.randomNormal([3], 0, 1, 'float32', noiseSeed(7, t, 0));
      const nc = tf.randomNormal([1, 2], 0, 1, 'float32', noiseSeed(7, t, 1));
      const expected = [...[1, 2, 3].map((g, i) => g + std * na.dataSync()[i]), ...[4, 5].map((g, i) => g + std * nc.dataSync()[i])];
      expectAllClose(flat(u), expected, 1e-6, 1e-7);
      expect(next.count).toBe(t);
      disposeReplaced([u, na, nc], [grads]);
      state = next;
    }
    disposeReplaced(grads, []);
  });

  it('has the documented standard deviation, and independent draws per leaf and per step', () => {
    const n = 20_000;
    const grads = { a: tf.zeros([n]), b: tf.zeros([n]) };
    const tx = addNoise({ eta: 0.04, gamma: 0.55, seed: 1 });
    const s0 = tx.init(grads);
    const [u1, s1] = tx.update(grads, s0, grads);
    const [u2, s2] = tx.update(grads, s1, grads);
    const [a1, b1] = [u1.a, u1.b].map((x) => Array.from(x.dataSync()));
    const a2 = Array.from(u2.a.dataSync());
    const sd = (x: number[]) => Math.sqrt(x.reduce((acc, v) => acc + v * v, 0) / x.length);
    const corr = (x: number[], y: number[]) => x.reduce((acc, v, i) => acc + v * y[i], 0) / (x.length * sd(x) * sd(y));
    expect(sd(a1) / Math.sqrt(0.04)).toBeCloseTo(1, 1);
    expect(sd(a2) / Math.sqrt(0.04 / 2 ** 0.55)).toBeCloseTo(1, 1);
    expect(Math.abs(corr(a1, b1))).toBeLessThan(0.05);
    expect(Math.abs(corr(a1, a2))).toBeLessThan(0.05);
    disposeReplaced([u1, u2, s0, s1, s2, grads], []);
  });
});

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['addNoise eta', () => addNoise({ eta: -1, gamma: 0.55 }), /addNoise: option 'eta' .* got -1/],
    ['addNoise gamma', () => addNoise({ eta: 1, gamma: NaN }), /addNoise: option 'gamma' .* got NaN/],
  ];
  itThrowsRangeError(cases);

  it('wrong types and unknown options are TypeErrors', () => {
    expect(thrown(() => addNoise({ eta: 1 } as never))).toBeInstanceOf(TypeError);
  });
});
