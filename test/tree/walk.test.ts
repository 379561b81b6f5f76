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
import { collectTensors } from '../../src/tree/memory.js';
import { treeFlattenAligned } from '../../src/tree/structure.js';
import { failsCleanly, flat, makeGrads, makeParams, tensorsOf, thrown } from '../helpers.js';

const t = (...v: number[]) => tf.tensor1d(v);

/** Expects a TreeStructureError whose message contains every one of `parts`. */
function expectStructureError(fn: () => unknown, ...parts: string[]): TreeStructureError {
  const e = thrown(fn);
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
    const e = thrown(() => treeLeaves({ count: 1, w: new LayerVariable() }));
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
