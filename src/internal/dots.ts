import * as tf from '@tensorflow/tfjs-core';
import type { PyTree } from '../types.js';
import { treeLeaves } from '../tree/structure.js';

/**
 * Inner products of tensor trees as JS numbers, for the quasi-Newton and line-search code whose
 * scalars (curvature pairs' products, slopes, Wolfe checks) live in float64 on the JS side.
 *
 * Each leaf's product is summed on the device in float32; the per-leaf sums are read back in
 * **one** `dataSync` for all the products asked at once, and added up in float64. An empty leaf
 * contributes an exact 0, so a tree with extra empty leaves gives the same bits.
 */
export function readDots(pairs: readonly (readonly [PyTree, PyTree])[], extra: readonly tf.Tensor[] = []): { dots: number[]; extra: number[] } {
  const counts: number[] = [];
  const all = tf.tidy(() => {
    const parts: tf.Tensor[] = extra.map((t) => tf.reshape(t, [-1]));
    for (const [a, b] of pairs) {
      const la = treeLeaves(a);
      const lb = treeLeaves(b);
      counts.push(la.length);
      for (let i = 0; i < la.length; i++) {
        // tf.sum of an empty tensor is not 0 on wasm (it reads uninitialised memory).
        parts.push(la[i].size === 0 ? tf.zeros([1]) : tf.reshape(tf.sum(tf.mul(la[i], lb[i])), [1]));
      }
    }
    return parts.length === 0 ? tf.zeros([0]) : parts.length === 1 ? parts[0] : tf.concat(parts);
  });
  const data = all.dataSync() as Float32Array;
  all.dispose();
  const extraValues = Array.from(data.subarray(0, extra.length));
  const dots: number[] = [];
  let at = extra.length;
  for (const n of counts) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += data[at + i];
    at += n;
    dots.push(sum);
  }
  return { dots, extra: extraValues };
}

/** The inner product `<a, b>` of two aligned trees, as a JS number (one read-back). */
export function readDot(a: PyTree, b: PyTree): number {
  return readDots([[a, b]]).dots[0];
}
