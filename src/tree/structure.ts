import type { Tensor } from '@tensorflow/tfjs-core';
import type { PyTree } from '../types.js';
import {
  forEachLeaf,
  formatPath,
  isPlainObject,
  isTensor,
  sortedKeys,
  walkTrees,
  type LeafTest,
} from './walk.js';

/**
 * Maps `fn` over the leaves of `tree` and, in lockstep, of the `rest` trees, which must have the
 * same structure. Returns a tree shaped like `tree`.
 *
 * @throws TreeStructureError naming the first differing path when a `rest` tree differs.
 * @example treeMap((p, g) => tf.sub(p, tf.mul(g, 0.1)), params, grads)
 * @group Tree utilities
 */
export function treeMap<T extends PyTree>(
  fn: (leaf: Tensor, ...rest: Tensor[]) => Tensor,
  tree: T,
  ...rest: PyTree[]
): T;
export function treeMap<R>(
  fn: (leaf: Tensor, ...rest: Tensor[]) => R,
  tree: PyTree,
  ...rest: PyTree[]
): PyTree<R>;
export function treeMap<R>(
  fn: (leaf: Tensor, ...rest: Tensor[]) => R,
  tree: PyTree,
  ...rest: PyTree[]
): PyTree<R> {
  const names = ['tree', ...rest.map((_, i) => `rest[${i}]`)];
  return walkTrees([tree, ...rest], { names }, (leaves) =>
    fn(...(leaves as [Tensor, ...Tensor[]])),
  );
}

/**
 * Like {@link treeMap}, with the leaf's path (e.g. `dense1.kernel`, `layers[0].bias`) passed
 * first, as `jax.tree_util.tree_map_with_path` does.
 * @group Tree utilities
 */
export function treeMapWithPath<R>(
  fn: (path: string, leaf: Tensor, ...rest: Tensor[]) => R,
  tree: PyTree,
  ...rest: PyTree[]
): PyTree<R> {
  const names = ['tree', ...rest.map((_, i) => `rest[${i}]`)];
  return walkTrees([tree, ...rest], { names }, (leaves, path) =>
    fn(formatPath(path), ...(leaves as [Tensor, ...Tensor[]])),
  );
}

/**
 * The leaves of a tree in flatten order (arrays by index, objects by sorted key).
 * @group Tree utilities
 */
export function treeLeaves(tree: PyTree): Tensor[];
/** The leaves of a tree whose leaves `isLeaf` recognises, in flatten order. */
export function treeLeaves<L>(tree: PyTree<L>, isLeaf: LeafTest): L[];
export function treeLeaves<L>(tree: PyTree<L>, isLeaf: LeafTest = isTensor): L[] {
  const leaves: L[] = [];
  forEachLeaf(tree, (leaf) => leaves.push(leaf), { isLeaf });
  return leaves;
}

/**
 * The paths of the leaves of a tree, in flatten order, formatted like `dense1.kernel`.
 * @group Tree utilities
 */
export function treePaths(tree: PyTree<unknown>, isLeaf: LeafTest = isTensor): string[] {
  const paths: string[] = [];
  forEachLeaf(tree, (_leaf, path) => paths.push(formatPath(path)), { isLeaf });
  return paths;
}

type DefNode =
  | { kind: 'leaf' }
  | { kind: 'empty'; value: null | undefined }
  | { kind: 'array'; children: DefNode[] }
  | { kind: 'object'; keys: string[]; children: DefNode[]; nullProto: boolean };

/** Every leaf position is described by this one node. */
const LEAF: DefNode = Object.freeze({ kind: 'leaf' });

/**
 * The structure of a tree without its leaves, as returned by {@link treeFlatten}. Two trees have
 * equal structure when their `TreeDef`s are {@link TreeDef.equals | equal}; `null` and
 * `undefined` count as the same empty subtree.
 * @group Tree utilities
 */
export class TreeDef {
  /** @internal */
  constructor(
    private readonly root: DefNode,
    /** How many leaves a tree of this structure has. */
    readonly numLeaves: number,
  ) {}

  /** `true` when `other` describes the same structure. */
  equals(other: TreeDef): boolean {
    return this.numLeaves === other.numLeaves && sameDef(this.root, other.root);
  }

  /** Builds a tree of this structure from leaves in flatten order. */
  unflatten<L>(leaves: readonly L[]): PyTree<L> {
    if (leaves.length !== this.numLeaves) {
      throw new RangeError(
        `treeUnflatten: this structure has ${this.numLeaves} leaves, got ${leaves.length}`,
      );
    }
    let next = 0;
    const build = (node: DefNode): unknown => {
      switch (node.kind) {
        case 'leaf':
          return leaves[next++];
        case 'empty':
          return node.value;
        case 'array':
          return node.children.map(build);
        case 'object': {
          const out: Record<string, unknown> = node.nullProto ? Object.create(null) : {};
          node.keys.forEach((key, i) => (out[key] = build(node.children[i])));
          return out;
        }
      }
    };
    return build(this.root) as PyTree<L>;
  }

  /** A compact text form: `{bias: *, kernel: *}`, `[*, null]`. */
  toString(): string {
    const show = (node: DefNode): string => {
      switch (node.kind) {
        case 'leaf':
          return '*';
        case 'empty':
          return String(node.value);
        case 'array':
          return `[${node.children.map(show).join(', ')}]`;
        case 'object':
          return `{${node.keys.map((k, i) => `${k}: ${show(node.children[i])}`).join(', ')}}`;
      }
    };
    return `TreeDef(${show(this.root)})`;
  }
}

function sameDef(a: DefNode, b: DefNode): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'leaf':
    case 'empty':
      return true;
    case 'array': {
      const bc = (b as typeof a).children;
      return bc.length === a.children.length && a.children.every((c, i) => sameDef(c, bc[i]));
    }
    case 'object': {
      const bo = b as typeof a;
      return (
        bo.keys.length === a.keys.length &&
        a.keys.every((k, i) => k === bo.keys[i]) &&
        a.children.every((c, i) => sameDef(c, bo.children[i]))
      );
    }
  }
}

/**
 * Splits a tree into its leaves (flatten order) and its structure. `treeUnflatten(def, leaves)`
 * rebuilds it.
 * @group Tree utilities
 */
export function treeFlatten(tree: PyTree): [Tensor[], TreeDef];
export function treeFlatten<L>(tree: PyTree<L>, isLeaf: LeafTest): [L[], TreeDef];
export function treeFlatten<L>(tree: PyTree<L>, isLeaf: LeafTest = isTensor): [L[], TreeDef] {
  const leaves: L[] = [];
  const build = (node: unknown): DefNode => {
    if (isLeaf(node)) {
      leaves.push(node as L);
      return LEAF;
    }
    if (node === null || node === undefined) return { kind: 'empty', value: node };
    if (Array.isArray(node)) return { kind: 'array', children: node.map(build) };
    if (isPlainObject(node)) {
      const keys = sortedKeys(node);
      return {
        kind: 'object',
        keys,
        children: keys.map((k) => build(node[k])),
        nullProto: Object.getPrototypeOf(node) === null,
      };
    }
    // Let the validating walker produce the error with the path.
    forEachLeaf(tree, () => undefined, { isLeaf });
    /* c8 ignore next */
    throw new TypeError('invalid tree');
  };
  const root = build(tree);
  return [leaves, new TreeDef(root, leaves.length)];
}

/**
 * Rebuilds a tree from its structure and its leaves in flatten order.
 * @group Tree utilities
 */
export function treeUnflatten<L = Tensor>(treeDef: TreeDef, leaves: readonly L[]): PyTree<L> {
  return treeDef.unflatten(leaves);
}

/**
 * `true` when the two trees have the same structure (leaf values are not compared).
 * @group Tree utilities
 */
export function treeStructureEqual(a: PyTree<unknown>, b: PyTree<unknown>, isLeaf: LeafTest = isTensor): boolean {
  return treeFlatten(a, isLeaf)[1].equals(treeFlatten(b, isLeaf)[1]);
}

const isEnumerableOwn = (obj: object, key: string) => Object.prototype.propertyIsEnumerable.call(obj, key);

/**
 * Flattens trees of one structure in a single walk: the leaves of each tree, in flatten order,
 * and the structure of the first. Returns `null`, without saying where, when a structure
 * differs or `accept` rejects the tensors found at a leaf position; callers then run a
 * validating walk for an error naming the path. Builds no paths, so it is the fast path for the
 * per-step checks of large trees.
 * @internal
 */
export function treeFlattenAligned(
  trees: readonly unknown[],
  accept: (leaves: readonly Tensor[]) => boolean,
): [Tensor[][], TreeDef] | null {
  const n = trees.length;
  const out: Tensor[][] = trees.map(() => []);
  let count = 0;
  // The aligned children of a node, one reused array per depth (a walk visits one node per
  // depth at a time), so the walk allocates nothing per leaf.
  const levels: unknown[][] = [];
  const alignedChildren = (nodes: readonly unknown[], depth: number, key: string | number): unknown[] => {
    const level = (levels[depth] ??= new Array(n));
    for (let i = 0; i < n; i++) level[i] = (nodes[i] as Record<string | number, unknown>)[key];
    return level;
  };
  const build = (nodes: readonly unknown[], depth: number): DefNode | null => {
    const primary = nodes[0];
    if (isTensor(primary)) {
      for (let i = 1; i < n; i++) if (!isTensor(nodes[i])) return null;
      if (!accept(nodes as Tensor[])) return null;
      for (let i = 0; i < n; i++) out[i].push(nodes[i] as Tensor);
      count++;
      return LEAF;
    }
    if (primary === null || primary === undefined) {
      for (let i = 1; i < n; i++) if (nodes[i] !== null && nodes[i] !== undefined) return null;
      return { kind: 'empty', value: primary };
    }
    if (Array.isArray(primary)) {
      for (let i = 1; i < n; i++) {
        const other = nodes[i];
        if (!Array.isArray(other) || other.length !== primary.length) return null;
      }
      const children: DefNode[] = new Array(primary.length);
      for (let k = 0; k < primary.length; k++) {
        const child = build(alignedChildren(nodes, depth, k), depth + 1);
        if (child === null) return null;
        children[k] = child;
      }
      return { kind: 'array', children };
    }
    if (isPlainObject(primary)) {
      const keys = sortedKeys(primary);
      for (let i = 1; i < n; i++) {
        const other = nodes[i];
        // Same number of enumerable own keys, all of the first tree's among them: same key set.
        if (!isPlainObject(other) || Object.keys(other).length !== keys.length) return null;
        for (const key of keys) if (!isEnumerableOwn(other, key)) return null;
      }
      const children: DefNode[] = new Array(keys.length);
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        const child = build(alignedChildren(nodes, depth, key), depth + 1);
        if (child === null) return null;
        children[k] = child;
      }
      return { kind: 'object', keys, children, nullProto: Object.getPrototypeOf(primary) === null };
    }
    return null;
  };
  const root = build(trees, 0);
  return root === null ? null : [out, new TreeDef(root, count)];
}
