import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  disposeReplaced,
  treeAdd,
  treeDispose,
  treeFlatten,
  treeFullLike,
  treeL2Norm,
  treeLeaves,
  treeMap,
  treeMapWithPath,
  treePaths,
  treeScale,
  treeSize,
  treeStructureEqual,
  TreeStructureError,
  treeSub,
  treeUnflatten,
  treeZerosLike,
} from '../src/index.js';
import { Scratch } from '../src/internal/scratch.js';
import { treeFlattenAligned } from '../src/tree/structure.js';
import { flat } from './helpers.js';

const t = (...v: number[]) => tf.tensor1d(v);

describe('flatten order and structure', () => {
  it('visits arrays by index and objects by sorted key, skipping null and undefined', () => {
    const [a, b, c, d, e] = [t(1), t(2), t(3), t(4), t(5)];
    const tree = { b, a, c: [c, { z: d, y: e }], n: null, u: undefined };
    expect(treeLeaves(tree)).toEqual([a, b, c, e, d]);
    expect(treePaths(tree)).toEqual(['a', 'b', 'c[0]', 'c[1].y', 'c[1].z']);
  });

  it('insertion order does not change the structure', () => {
    expect(treeStructureEqual({ a: t(1), b: [t(2)] }, { b: [t(3)], a: t(4) })).toBe(true);
    expect(treeStructureEqual({ a: t(1), b: [t(2)] }, { a: t(1), b: [t(2), t(3)] })).toBe(false);
    expect(treeStructureEqual({ a: t(1) }, [t(1)])).toBe(false);
    expect(treeStructureEqual({ a: null }, { a: undefined })).toBe(true);
  });

  it('unflatten rebuilds the tree, keeping empties and prototype-free objects', () => {
    const bare = Object.create(null) as Record<string, tf.Tensor>;
    bare.w = t(1);
    const tree = { x: [t(2), null], y: bare, z: undefined };
    const [leaves, def] = treeFlatten(tree);
    expect(def.numLeaves).toBe(2);
    const back = treeUnflatten(def, leaves) as typeof tree;
    expect(back.x[1]).toBeNull();
    expect('z' in back && back.z === undefined).toBe(true);
    expect(Object.getPrototypeOf(back.y)).toBeNull();
    expect(back.y.w).toBe(bare.w);
    expect(String(def)).toBe('TreeDef({x: [*, null], y: {w: *}, z: undefined})');
    expect(() => treeUnflatten(def, [t(1)])).toThrow('treeUnflatten: this structure has 2 leaves, got 1');
  });

  it('a tf.Variable is a leaf', () => {
    const v = tf.variable(t(1, 2));
    expect(treeLeaves({ v })).toEqual([v]);
    v.dispose();
  });
});

describe('treeMap', () => {
  it('maps over several trees in lockstep and keeps the shape of the first', () => {
    const out = treeMap((x, y) => tf.add(x, y), { a: t(1), b: [t(2)] }, { b: [t(20)], a: t(10) });
    expect(flat(out)).toEqual([11, 22]);
    expect(Array.isArray(out.b)).toBe(true);
  });

  it('reports the first differing path with a TreeStructureError', () => {
    const go = () => treeMap((x) => x, { a: t(1), b: { c: t(2), d: t(3) } }, { a: t(1), b: { c: t(2) } });
    expect(go).toThrow(TreeStructureError);
    expect(go).toThrow('tree structures differ at b.d: tree has this key, rest[0] does not');
    const arrays = () => treeMap((x) => x, [t(1), t(2)], [t(1)]);
    expect(arrays).toThrow('tree structures differ at (root): tree has an array of length 2, rest[0] has an array of length 1');
    const kinds = () => treeMap((x) => x, { a: [t(1)] }, { a: t(1) });
    expect(kinds).toThrow('tree structures differ at a: tree has an array of length 1, rest[0] has a float32 tensor of shape [1]');
  });

  it('passes paths with treeMapWithPath', () => {
    const paths = treeMapWithPath((path) => path, { w: [t(1), { 'odd key': t(2) }] });
    expect(paths).toEqual({ w: ['w[0]', { 'odd key': 'w[1]["odd key"]' }] });
  });
});

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

describe('memory helpers', () => {
  it('treeDispose frees every tensor of a state, once, skipping numbers', () => {
    const a = t(1);
    const before = tf.memory().numTensors;
    const b = t(2);
    treeDispose({ count: 3, mu: { a: b }, again: [b], label: 'x' });
    expect(b.isDisposed).toBe(true);
    expect(a.isDisposed).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('disposeReplaced frees exactly what the new trees no longer hold', () => {
    const shared = t(1);
    const gone = t(2);
    const fresh = t(3);
    const n = disposeReplaced([{ p: shared }, { s: gone, count: 1 }], [{ p: shared, q: fresh }, { count: 2 }]);
    expect(n).toBe(1);
    expect(gone.isDisposed).toBe(true);
    expect(shared.isDisposed).toBe(false);
    expect(fresh.isDisposed).toBe(false);
  });
});

describe('the one-walk aligned flatten behind the per-step checks', () => {
  it('flattens trees of one structure together, whatever their key insertion order', () => {
    const [a, b, c, d] = [t(1), t(2), t(3), t(4)];
    const result = treeFlattenAligned([{ x: a, y: [b, null] }, { y: [d, undefined], x: c }], () => true);
    expect(result).not.toBeNull();
    const [[first, second], def] = result!;
    expect(first).toEqual([a, b]);
    expect(second).toEqual([c, d]);
    expect(def.equals(treeFlatten({ x: a, y: [b, null] })[1])).toBe(true);
  });

  it('returns null for any difference the validating walk reports, and for rejected leaves', () => {
    const [a, b] = [t(1), t(2)];
    const cases: unknown[][] = [
      [{ x: a }, { x: a, y: b }], // an extra key
      [{ x: a, y: b }, { x: a, z: b }], // same count, other key
      [[a, b], [a]], // array length
      [[a], { 0: a }], // array vs object
      [{ x: a }, { x: null }], // leaf vs empty
      [{ x: a }, { x: 3 }], // not a tree node
    ];
    for (const trees of cases) expect(treeFlattenAligned(trees, () => true)).toBeNull();
    // A key that is own but not enumerable does not count as present.
    const hidden = Object.defineProperty({ z: b }, 'y', { value: a, enumerable: false });
    expect(treeFlattenAligned([{ y: a, z: b }, hidden], () => true)).toBeNull();
    expect(treeFlattenAligned([{ x: a }, { x: b }], () => false)).toBeNull();
  });
});

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
