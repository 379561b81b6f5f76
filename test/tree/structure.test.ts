import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  treeFlatten,
  treeLeaves,
  treeMap,
  treeMapWithPath,
  treePaths,
  treeStructureEqual,
  TreeStructureError,
  treeUnflatten,
} from '../../src/index.js';
import { treeFlattenAligned } from '../../src/tree/structure.js';
import { flat } from '../helpers.js';

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
    expect(go).toThrow('treeMap: tree structures differ at b.d: tree has this key, rest[0] does not; at b, tree has keys [c, d] and rest[0] has [c]');
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
