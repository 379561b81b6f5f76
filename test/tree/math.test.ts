import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { treeAdd, treeDispose, treeFullLike, treeL2Norm, treeScale, treeSize, treeSub, treeZerosLike } from '../../src/index.js';
import { flat } from '../helpers.js';

const t = (...v: number[]) => tf.tensor1d(v);

describe('tree math', () => {
  const tree = () => ({ a: tf.tensor2d([[1, 2], [3, 4]]), b: tf.scalar(-2) });

  it('zeros, full, add, sub, scale, size', () => {
    expect(flat(treeZerosLike(tree()))).toEqual([0, 0, 0, 0, 0]);
    expect(flat(treeFullLike(tree(), 0.5))).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(flat(treeAdd(tree(), tree()))).toEqual([2, 4, 6, 8, -4]);
    expect(flat(treeSub(tree(), treeFullLike(tree(), 1)))).toEqual([0, 1, 2, 3, -3]);
    expect(flat(treeScale(3, tree()))).toEqual([3, 6, 9, 12, -6]);
    expect(treeSize(tree())).toBe(5);
  });

  it('treeL2Norm is the norm over all leaves together', () => {
    // 1 + 4 + 9 + 16 + 4 = 34
    expect(treeL2Norm(tree()).dataSync()[0]).toBeCloseTo(Math.sqrt(34), 6);
    expect(treeL2Norm(tree(), { squared: true }).dataSync()[0]).toBeCloseTo(34, 5);
    expect(treeL2Norm({}).dataSync()[0]).toBe(0);
  });

  it('treeL2Norm neither overflows nor underflows float32, and keeps the bits of the plain sum in range', () => {
    const norm = (tree: unknown, squared = false) => {
      const n = treeL2Norm(tree as never, { squared });
      const [value] = n.dataSync();
      n.dispose();
      return value;
    };
    /** The float64 norm of the float32 values, rounded to float32. */
    const exact = (...v: number[]) => Math.fround(Math.hypot(...Float32Array.from(v)));
    // Squares of 1e40 overflow float32, squares of 1e-50 underflow it; the norms do neither.
    expect(norm({ a: t(1e20), b: t(-1e20, 3e19) })).toBe(exact(1e20, -1e20, 3e19));
    expect(norm(t(3e-25, -4e-25))).toBe(exact(3e-25, -4e-25));
    expect(norm([t(3e38, -3e38), t(3e38)])).toBe(exact(3e38, -3e38, 3e38));
    // The sum of squares itself beyond float32 is Infinity; below it, still exact to rounding.
    expect(norm(t(1e20), true)).toBe(Infinity);
    expect(norm(t(3 * 2 ** 50, 4 * 2 ** 50), true)).toBe(25 * 2 ** 100);
    // Zeros, empty leaves, infinities, NaN, and integer leaves.
    expect(norm({ a: t(0, 0), b: tf.zeros([0]), c: tf.zeros([0, 3]) })).toBe(0);
    expect(norm({ a: t(1, 2), b: tf.zeros([0]) })).toBe(exact(1, 2));
    expect(norm(t(1, -Infinity))).toBe(Infinity);
    expect(norm(t(1, NaN, Infinity))).toBeNaN();
    expect(norm([t(1e20), t(NaN)])).toBeNaN();
    expect(norm({ a: tf.tensor1d([3, 4], 'int32'), b: t(12) })).toBe(13);
    // In float32's range, the result has the bits of sqrt(sum(x^2)) computed directly.
    for (const scale of [1e-15, 1e-3, 1, 7, 1e10]) {
      const leaves = [3, 17, 300].map((n, j) => tf.tensor1d(Array.from({ length: n }, (_, i) => Math.sin(j + 1.7 * i) * scale * (1 + (i % 7)))));
      const plain = tf.tidy(() => tf.addN(leaves.map((x) => tf.sum(tf.square(x)))));
      const root = tf.sqrt(plain);
      expect(norm(leaves, true)).toBe(plain.dataSync()[0]);
      expect(norm(leaves)).toBe(root.dataSync()[0]);
      tf.dispose([...leaves, plain, root]);
    }
  });

  it('scale and norm leak nothing beyond their results', () => {
    const x = tree();
    const before = tf.memory().numTensors;
    const s = treeScale(2, x);
    const n = treeL2Norm(x);
    expect(tf.memory().numTensors - before).toBe(3);
    treeDispose([s, n]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
