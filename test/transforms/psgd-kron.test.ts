import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { scaleByKron, treeDispose } from '../../src/index.js';
import { kronUpdateProbability } from '../../src/transforms/psgd-kron.js';

// scaleByKron's factor layout and its default update-probability schedule.

const shapesOf = (tree: unknown) => JSON.stringify(tree, (_k, v) => (v instanceof tf.Tensor ? v.shape : v));

describe('scaleByKron', () => {
  it('gives triangular factors to the axes of matrices, diagonal ones to vectors, scalars, long axes and by memorySaveMode', () => {
    const params = { m: tf.zeros([3, 4]), v: tf.zeros([5]), s: tf.scalar(1), t: tf.zeros([2, 3, 4]), e: tf.zeros([0, 3]) };
    const shapes = (o: Parameters<typeof scaleByKron>[0]) => {
      const state = scaleByKron(o).init(params);
      const text = shapesOf(state.q);
      treeDispose(state);
      return text;
    };
    // [2, 3, 4] merges to [6, 4] (its axes' difference -2 is below [2, 12]'s 10, as the reference's np.diff rule).
    expect(shapes({})).toBe(shapesOf({ e: [], m: [[3, 3], [4, 4]], s: [[1]], t: [[6, 6], [4, 4]], v: [[5]] }));
    expect(shapes({ mergeDims: false, maxSizeTriangular: 3 })).toBe(shapesOf({ e: [], m: [[3, 3], [4]], s: [[1]], t: [[2, 2], [3, 3], [4]], v: [[5]] }));
    expect(shapes({ memorySaveMode: 'oneDiag', minNdimTriangular: 1 })).toBe(shapesOf({ e: [], m: [[3, 3], [4]], s: [[1]], t: [[6], [4, 4]], v: [[5]] }));
    expect(shapes({ memorySaveMode: 'allDiag' })).toBe(shapesOf({ e: [], m: [[3], [4]], s: [[1]], t: [[6], [4]], v: [[5]] }));
    treeDispose(params);
  });

  it('starts each of r factors at precondInitScale^(1/r) times the identity', () => {
    const state = scaleByKron({ precondInitScale: 4 }).init({ m: tf.zeros([2, 2]), v: tf.zeros([2]) });
    const q = state.q as unknown as { m: tf.Tensor[]; v: tf.Tensor[] };
    expect(Array.from(q.m[0].dataSync())).toEqual([2, 0, 0, 2]);
    expect(Array.from(q.v[0].dataSync())).toEqual([4, 4]);
    treeDispose(state);
  });

  it("anneals the update probability as the reference's schedule: 1 for 500 steps, then exp(-0.001 (n - 500)) down to 0.03", () => {
    expect(kronUpdateProbability(0)).toBe(1);
    expect(kronUpdateProbability(500)).toBe(1);
    expect(kronUpdateProbability(1500)).toBeCloseTo(Math.exp(-1), 15);
    expect(kronUpdateProbability(4000)).toBeCloseTo(Math.exp(-3.5), 15);
    expect(kronUpdateProbability(4100)).toBe(0.03);
  });
});
