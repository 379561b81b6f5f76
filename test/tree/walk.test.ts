import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adafactor,
  adam,
  adamw,
  applyIfFinite,
  chain,
  clipByGlobalNorm,
  disposeReplaced,
  injectHyperparams,
  lookahead,
  masked,
  multiSteps,
  namedChain,
  partition,
  sgd,
  sm3,
  treeAdd,
  treeDispose,
  treeFlatten,
  treeFullLike,
  treeGet,
  treeKeep,
  treeL2Norm,
  treeLeaves,
  treeMap,
  treeMapWithPath,
  treePaths,
  treeScale,
  treeSet,
  treeSize,
  treeStructureEqual,
  TreeStructureError,
  treeSub,
  treeUnflatten,
  treeZerosLike,
  type GradientTransformation,
  type PyTree,
} from '../../src/index.js';
import { flattenFloatTrees } from '../../src/internal/leaves.js';
import { Scratch } from '../../src/internal/scratch.js';
import { collectTensors } from '../../src/tree/memory.js';
import { treeFlattenAligned } from '../../src/tree/structure.js';
import { failsCleanly, flat, makeGrads, makeParams, tensorsOf } from '../helpers.js';

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

/** The error `fn` throws (failing the test if it throws none). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/** Expects a TreeStructureError whose message contains every one of `parts`. */
function expectStructureError(fn: () => unknown, ...parts: string[]): TreeStructureError {
  const e = errorOf(fn);
  expect(e).toBeInstanceOf(TreeStructureError);
  for (const part of parts) expect(e.message).toContain(part);
  return e as TreeStructureError;
}

/** `depth` levels of containers, alternately arrays and objects, around one leaf. */
function nested(depth: number, leaf: unknown): PyTree {
  let node = leaf as PyTree;
  for (let i = 0; i < depth; i++) node = i % 2 === 0 ? [node] : { k: node };
  return node;
}

/** Every walk over a tree a user may call, each throwing as its name says. */
const WALKS: Array<[string, (tree: never) => unknown]> = [
  ['treeMap', (x) => treeMap((l) => l, x)],
  ['treeMap', (x) => treeMap((l) => l, x, x)],
  ['treeMapWithPath', (x) => treeMapWithPath((p) => p, x)],
  ['treeLeaves', (x) => treeLeaves(x)],
  ['treePaths', (x) => treePaths(x)],
  ['treeFlatten', (x) => treeFlatten(x)],
  ['treeStructureEqual', (x) => treeStructureEqual(x, x)],
  ['treeZerosLike', (x) => treeZerosLike(x)],
  ['treeAdd', (x) => treeAdd(x, x)],
  ['treeScale', (x) => treeScale(2, x)],
  ['treeL2Norm', (x) => treeL2Norm(x)],
  ['treeSize', (x) => treeSize(x)],
  ['treeDispose', (x) => treeDispose(x)],
  ['treeKeep', (x) => treeKeep(x)],
  ['disposeReplaced', (x) => disposeReplaced(x, [])],
  ['treeGet', (x) => treeGet(x, 'w')],
  ['treeSet', (x) => treeSet(x, 'w', null)],
  ['adam', (x) => adam(0.1).init(x)],
  ['adam', (x) => flattenFloatTrees('adam', ['updates', 'params'], [x, x])],
];

describe('symbol keys: no leaf is skipped without a word', () => {
  const meta = Symbol('meta');

  it('every walk refuses a tensor under a symbol key, naming the path and the symbol', () => {
    for (const [owner, walk] of WALKS) {
      const w = t(1);
      const hidden = t(2);
      const tree = { layer: { w, [meta]: hidden } };
      const e = failsCleanly(() => walk(tree as never));
      expect(e, owner).toBeInstanceOf(TreeStructureError);
      expect(e.message).toContain(`${owner}: `);
      expect(e.message).toMatch(/\.layer has a float32 tensor of shape \[1\] under the symbol key Symbol\(meta\)/);
      expect((e as TreeStructureError).path).toBe('layer[Symbol(meta)]');
      // Nothing was disposed or kept on the way.
      expect(w.isDisposed || hidden.isDisposed).toBe(false);
      tf.dispose([w, hidden]);
    }
  });

  it('a parameter under a symbol key is refused by init and by every step, not left untrained', () => {
    const params = { w: t(1, 2), [meta]: t(3) };
    expectStructureError(() => adam(0.1).init(params), 'adam: params has a float32 tensor of shape [1] under the symbol key Symbol(meta)');
    const plain = { w: params.w };
    const state = adamw(0.1).init(plain);
    expectStructureError(() => adamw(0.1).update({ w: t(1, 1) }, state, params), 'adamw: params has a float32 tensor of shape [1] under the symbol key Symbol(meta)');
    // In the gradients too: an extra gradient under a symbol key is a difference, not ignored.
    expectStructureError(() => adamw(0.1).update({ w: t(1, 1), [meta]: t(1) } as never, state, plain), 'adamw: updates has a float32 tensor');
  });

  it('walks that build or compare structure refuse any value under a symbol key; tensor-only walks only tensors', () => {
    const tree = { w: t(1), inner: { [meta]: 'a label' } };
    expectStructureError(() => treeFlatten(tree as never), 'treeFlatten: tree.inner has a string ("a label") under the symbol key Symbol(meta)');
    expectStructureError(() => treeMap((x) => x, { w: t(1) }, { w: t(2), [meta]: 1 } as never), 'treeMap: rest[0] has a number (1) under the symbol key');
    // A state-like value: the walks that only collect tensors skip what is not one.
    expect(treeLeaves(tree)).toEqual([tree.w]);
    expect(treePaths(tree)).toEqual(['w']);
    expect(collectTensors(tree).size).toBe(1);
    // Deeper under the symbol key: the error names where the tensor is.
    const deep = { s: { [meta]: { list: [null, t(5)] } } };
    const e = expectStructureError(() => treeLeaves(deep), 'treeLeaves: tree.s has a float32 tensor of shape [1] (at tree.s[Symbol(meta)].list[1]) under the symbol key Symbol(meta)');
    expect(e.path).toBe('s[Symbol(meta)]');
  });

  it('a non-enumerable property is not part of a tree, symbol-keyed or not', () => {
    const tree = Object.defineProperty({ w: t(1) }, meta, { value: t(2), enumerable: false });
    expect(treeLeaves(tree)).toEqual([tree.w]);
    expect(treeFlatten(tree)[1].numLeaves).toBe(1);
  });

  it("the library's own states hold no symbol keys (so its walks accept every one of them)", () => {
    const params = makeParams();
    const transforms: Array<GradientTransformation<any>> = [
      adam(0.1),
      chain(clipByGlobalNorm(1), adamw(0.1)),
      namedChain(['clip', clipByGlobalNorm(1)], ['sgd', sgd(0.1, { momentum: 0.9 })]),
      injectHyperparams(adam)({ learningRate: 0.1 }),
      multiSteps(adam(0.1), { everyK: 2 }),
      applyIfFinite(adam(0.1), { maxConsecutiveErrors: 3 }),
      lookahead(sgd(0.1), { syncPeriod: 2 }),
      masked(adam(0.1), { layer: true, scale: false }),
      partition({ a: adam(0.1), b: sgd(0.1) }, { layer: 'a', scale: 'b' }),
      adafactor(0.1),
      sm3(0.1),
    ];
    const symbolKeyed = (value: unknown): boolean =>
      !(value instanceof tf.Tensor) &&
      value !== null &&
      typeof value === 'object' &&
      (Object.getOwnPropertySymbols(value).length > 0 || Object.values(value).some(symbolKeyed));
    for (const tx of transforms) {
      const grads = makeGrads(1);
      const state = tx.init(params);
      const [updates, next] = tx.update(grads, state, params);
      for (const s of [state, next]) {
        expect(symbolKeyed(s)).toBe(false);
        expect(treeLeaves(s)).toEqual(tensorsOf(s));
      }
      disposeReplaced([state, updates, next, grads], params);
    }
    treeDispose(params);
  });
});

describe('cycles and deep nesting: a clear error, never a stack overflow', () => {
  it('every walk names where a cycle comes back and the container it comes back to', () => {
    for (const [owner, walk] of WALKS) {
      const w = t(1);
      const tree: Record<string, unknown> = { a: { w, list: [] as unknown[] } };
      ((tree.a as { list: unknown[] }).list).push(tree.a);
      const e = failsCleanly(() => walk(tree as never));
      expect(e, owner).toBeInstanceOf(TreeStructureError);
      expect(e.message).toMatch(new RegExp(`^${owner}: \\w+\\.a\\.list\\[0\\] is \\w+\\.a again \\(a cycle: \\w+\\.a contains itself\\)`));
      expect((e as TreeStructureError).path).toBe('a.list[0]');
      expect(w.isDisposed).toBe(false);
      w.dispose();
    }
  });

  it('a tree that contains itself at the root, or through an array', () => {
    const root: PyTree[] = [t(1)];
    root.push([root]);
    expectStructureError(() => treeLeaves(root), 'treeLeaves: tree[1][0] is tree again (a cycle: tree contains itself)');
    expectStructureError(() => treeMap((x) => x, [t(1), [null]], root), 'treeMap: tree structures differ at [1][0]');
  });

  it('a subtree shared by two branches is not a cycle', () => {
    const shared = { w: t(1) };
    const tree = { a: shared, b: shared, c: [shared, shared] };
    expect(treeLeaves(tree)).toHaveLength(4);
    expect(treeFlatten(tree)[1].numLeaves).toBe(4);
    expect(flat(treeMap((x) => x, tree, tree))).toEqual([1, 1, 1, 1]);
  });

  it('20,000 levels deep: every walk throws a TreeStructureError naming the path prefix and the limit', () => {
    const leaf = t(1);
    const deep = nested(20_000, leaf);
    for (const [owner, walk] of WALKS) {
      const e = failsCleanly(() => walk(deep as never));
      expect(e, owner).toBeInstanceOf(TreeStructureError);
      // The message shows the first 12 keys of the path.
      expect(e.message).toMatch(new RegExp(`^${owner}: \\w+(\\.k\\[0\\]){6}\\.\\.\\. `));
      expect(e.message).toContain('... nests arrays and objects deeper than 1,000 levels (a container 1,000 keys below the root), the most a tree or state may have');
      expect((e as TreeStructureError).path.split('[0]')).toHaveLength(501);
    }
    expect(leaf.isDisposed).toBe(false);
    leaf.dispose();
  });

  it('1,000 levels is the limit: such a tree goes through every walk, one more level does not', () => {
    const leaf = t(3);
    const deepest = nested(1000, leaf);
    expect(treeLeaves(deepest)).toEqual([leaf]);
    expect(treePaths(deepest)).toEqual([Array(500).fill('k[0]').join('.')]);
    const [leaves, def] = treeFlatten(deepest);
    expect(leaves).toEqual([leaf]);
    expect(def.equals(treeFlatten(nested(1000, t(0)))[1])).toBe(true);
    expect(treeStructureEqual(treeUnflatten(def, leaves), deepest)).toBe(true);
    expect(String(def)).toMatch(/^TreeDef\(\{k: \[\{k: \[/);
    expect(flat(treeMap((x, y) => tf.add(x, y), deepest, deepest))).toEqual([6]);
    expect(treeSize(deepest)).toBe(1);
    expect(treeL2Norm(deepest).dataSync()[0]).toBe(3);
    expect(treeGet(nested(999, { w: leaf }), 'w')).toBe(leaf);
    expect(treeFlattenAligned([deepest, deepest], () => true)).not.toBeNull();
    expect(disposeReplaced(deepest, deepest)).toBe(0);
    expectStructureError(() => treeLeaves(nested(1001, leaf)), 'deeper than 1,000 levels');
    expect(treeFlattenAligned([nested(1001, leaf)], () => true)).toBeNull();
    // A leaf (or null) 1,000 keys down is fine; a container there is level 1,001.
    expect(treeLeaves(nested(1000, null))).toEqual([]);
    expectStructureError(() => treeLeaves(nested(1000, [])), 'a container 1,000 keys below the root');
    treeDispose(deepest);
  });

  it('the fast aligned flatten gives up on a cycle or too deep a tree, for the validating walk to name', () => {
    const a: Record<string, unknown> = { w: t(1) };
    a.self = a;
    expect(treeFlattenAligned([a], () => true)).toBeNull();
    expect(treeFlattenAligned([{ w: t(1), [Symbol('s')]: 1 }], () => true)).toBeNull();
    expect(treeFlattenAligned([{ w: t(1) }, { w: t(1), [Symbol('s')]: 1 }], () => true)).toBeNull();
  });

  it('disposeReplaced only searches what to keep, so a cleanup after a failed step keeps its error', () => {
    const w = t(1);
    const cyclic: Record<string, unknown> = { w };
    cyclic.self = cyclic;
    const made = t(2);
    expect(disposeReplaced([made, w], cyclic)).toBe(1);
    expect(made.isDisposed).toBe(true);
    expect(w.isDisposed).toBe(false);
    // What the new values hold under a symbol key or too deep is kept too.
    const [a, b] = [t(1), t(2)];
    expect(disposeReplaced([a, b], [{ [Symbol('s')]: a }, nested(5000, b)])).toBe(0);
    expect(a.isDisposed || b.isDisposed).toBe(false);
    // chain's init frees what its first transformations made with disposeReplaced(states, params).
    const e = failsCleanly(() => chain(adam(0.1), sgd(0.1)).init(cyclic as never));
    expect(e.message).toMatch(/^adam: params\.self is params again/);
    tf.dispose([w, a, b]);
  });
});

describe('tree utilities that only visit tensors accept optimizer states', () => {
  it('treeLeaves, treePaths and treeSize skip the numbers, booleans and strings of a state', () => {
    const params = makeParams();
    const tx = chain(clipByGlobalNorm(1), adam(0.1));
    const state = tx.init(params);
    const leaves = treeLeaves(state);
    expect(leaves).toEqual(tensorsOf(state));
    expect(leaves).toHaveLength(6);
    expect(treePaths(state)).toEqual(['[1][0].mu.layer.bias', '[1][0].mu.layer.kernel', '[1][0].mu.scale', '[1][0].nu.layer.bias', '[1][0].nu.layer.kernel', '[1][0].nu.scale']);
    expect(treeSize(state)).toBe(20);
    expect(treeLeaves({ count: 3, flag: true, label: 'x', none: null, gone: undefined, w: params.scale })).toEqual([params.scale]);
    treeDispose([state, params]);
  });

  it('they still refuse what no tree or state holds, which could hide a tensor', () => {
    const weight = { read: () => null, originalName: 'dense/kernel' };
    class LayerVariable {
      read = weight.read;
      originalName = weight.originalName;
    }
    const e = errorOf(() => treeLeaves({ count: 1, w: new LayerVariable() }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain("treeLeaves: tree.w: expected a tf.Tensor, an array, a plain object, null or undefined in a tree, got an instance of LayerVariable: a tfjs-layers weight (LayerVariable 'dense/kernel')");
    expect(() => treeSize({ f: () => 1 })).toThrow('treeSize: tree.f: expected a tf.Tensor');
    // With a leaf test of its own, treeLeaves is strict: the caller said what the leaves are.
    expect(() => treeLeaves({ a: true, n: 3 }, (x) => typeof x === 'boolean')).toThrow('treeLeaves: tree.n: expected a leaf');
  });

  it('the utilities that build or compare structure stay strict about numbers', () => {
    const params = makeParams();
    const state = adam(0.1).init(params);
    expect(() => treeMap((x) => x, state as never)).toThrow(/^treeMap: tree\[0\]\.count: expected a tf\.Tensor, .* got a number \(0\)$/);
    expect(() => treeFlatten(state as never)).toThrow('treeFlatten: tree[0].count: expected a tf.Tensor');
    expect(() => treeL2Norm(state as never)).toThrow('treeL2Norm: tree[0].count: expected a tf.Tensor');
    expect(() => treeStructureEqual(state as never, state as never)).toThrow('treeStructureEqual: a[0].count: expected a tf.Tensor');
    treeDispose([state, params]);
  });
});

describe('treeKeep', () => {
  it('keeps every tensor of a mix of trees and states out of tf.tidy, which disposes the rest', () => {
    const params = makeParams();
    const grads = makeGrads(1);
    const tx = adam(0.1);
    const state = tx.init(params);
    const before = tf.memory().numTensors;
    let temporary: tf.Tensor | undefined;
    let kept: { step: ReturnType<typeof tx.update>; count: number; label: string; none: null } | undefined;
    // The tidy returns nothing: only treeKeep decides what survives.
    tf.tidy(() => {
      temporary = tf.mul(params.scale, 2);
      const value = { step: tx.update(grads, state, params), count: 1, label: 'x', none: null };
      kept = treeKeep(value);
      expect(kept).toBe(value);
    });
    expect(temporary!.isDisposed).toBe(true);
    // The step's 3 updates and 6 new moments survive, and nothing else.
    expect(tf.memory().numTensors - before).toBe(9);
    const survivors = treeLeaves(kept);
    expect(survivors).toHaveLength(9);
    expect(survivors.every((x) => !x.isDisposed)).toBe(true);
    expect(kept!.count).toBe(1);
    treeDispose([kept, state, params, grads]);
  });

  it('keeps nothing when it throws, so the tidy disposes everything it made', () => {
    const before = tf.memory().numTensors;
    const e = errorOf(() => tf.tidy(() => treeKeep({ w: tf.ones([2]), f: () => 1 }) as never));
    expect(e.message).toContain('treeKeep: tree.f: expected a tf.Tensor');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('structure errors show what each side has near the path', () => {
  it('lists both key sets at the object where they differ', () => {
    const params = { 'dense_Dense1/kernel_1': t(1), 'dense_Dense1/bias': t(2) };
    const grads = { 'dense_Dense1/kernel': t(1), 'dense_Dense1/bias': t(2) };
    const e = expectStructureError(
      () => treeAdd(params, grads),
      'treeAdd: tree structures differ at ["dense_Dense1/kernel"]: b has this key, a does not; ' +
        'at (root), a has keys [dense_Dense1/bias, dense_Dense1/kernel_1] and b has [dense_Dense1/bias, dense_Dense1/kernel]',
    );
    expect(e.path).toBe('["dense_Dense1/kernel"]');
    // A key that would read ambiguously in a list is quoted.
    expectStructureError(() => treeMap((x) => x, { 'a, b': t(1) }, {}), 'at (root), tree has keys ["a, b"] and rest[0] has []');
  });

  it('of large objects, the counts and the first keys only one side has', () => {
    const many = (extra: string[]) => Object.fromEntries([...Array.from({ length: 500 }, (_, i) => `k${i}`), ...extra].map((k) => [k, t(1)]));
    const a = many(['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']);
    const b = many(['y']);
    expectStructureError(
      () => treeSub(a, b),
      'treeSub: tree structures differ at x1: a has this key, b does not; at (root), a has 507 keys ' +
        '(7 only there: [x1, x2, x3, x4, x5 and 2 more]) and b has 501 keys (1 only there: [y])',
    );
    expectStructureError(() => treeSub(many([]), many(['y'])), 'a has 500 keys (none only there) and b has 501 keys (1 only there: [y])');
    treeDispose([a, b]);
  });
});
