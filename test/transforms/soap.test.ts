import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { scaleByAdam, scaleBySoap, treeDispose, type Params } from '../../src/index.js';
import { mergeSoapDims } from '../../src/transforms/soap.js';
import { expectAllClose, flat } from '../helpers.js';

// scaleBySoap's factor layout (which axes get a preconditioner) and its unpreconditioned case.

const shapesOf = (tree: unknown) => JSON.stringify(tree, (_k, v) => (v instanceof tf.Tensor ? v.shape : v));

describe('scaleBySoap', () => {
  it('gives each axis a [d, d] factor, an empty [0] where d > maxPrecondDim, none to a scalar, a vector one only with precondition1d', () => {
    const params = { m: tf.zeros([3, 4]), v: tf.zeros([5]), s: tf.scalar(1), t: tf.zeros([2, 3, 5]) };
    const a = scaleBySoap({ maxPrecondDim: 3 }).init(params);
    expect(shapesOf(a.gg)).toBe(shapesOf({ m: [[3, 3], [0]], s: [], t: [[2, 2], [3, 3], [0]], v: [[0]] }));
    expect(shapesOf(a.q)).toBe(shapesOf(a.gg));
    const b = scaleBySoap({ precondition1d: true, mergeDims: true, maxPrecondDim: 6 }).init(params);
    // [2, 3, 5] merges to [6, 5]; [3, 4] stays (12 > 6).
    expect(shapesOf(b.gg)).toBe(shapesOf({ m: [[3, 3], [4, 4]], s: [], t: [[6, 6], [5, 5]], v: [[5, 5]] }));
    treeDispose([params, a, b]);
  });

  it("merges dimensions as the reference's merge_dims", () => {
    expect(mergeSoapDims([2, 3, 5], 6)).toEqual([6, 5]);
    expect(mergeSoapDims([2, 3], 10000)).toEqual([6]);
    expect(mergeSoapDims([20000, 3, 4], 10000)).toEqual([20000, 12]);
    expect(mergeSoapDims([3, 20000, 2], 10000)).toEqual([3, 20000, 2]);
    expect(mergeSoapDims([1, 1], 10)).toEqual([1]);
  });

  it('with no axis preconditioned is Adam (b1 = b2 = 0.95) one step late: zeros first, then Adam on the gradients from step 2', () => {
    const grads = (k: number): Params => ({ w: tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.sin(1 + 1.3 * i + 0.8 * k)), [3, 4]) });
    const params = { w: tf.zeros([3, 4]) };
    const soapTx = scaleBySoap({ maxPrecondDim: 2 });
    const adamTx = scaleByAdam({ b1: 0.95, b2: 0.95 });
    let s = soapTx.init(params);
    let a = adamTx.init(params);
    for (let k = 0; k < 5; k++) {
      const g = grads(k);
      const [u, next] = soapTx.update(g, s, params);
      if (k === 0) {
        expect(flat(u).every((x) => x === 0)).toBe(true);
      } else {
        const [ua, nextA] = adamTx.update(g, a, params);
        // eps sits at sqrt(nu) here, at sqrt(nuHat) in Adam: 1e-8 apart, far below float32.
        expectAllClose(flat(u), flat(ua), 1e-6, 1e-7);
        treeDispose([ua]);
        a = nextA;
      }
      treeDispose([u, g]);
      s = next;
    }
    treeDispose([params, s, a]);
  });
});
