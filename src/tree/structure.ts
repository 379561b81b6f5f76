import type { Tensor } from '@tensorflow/tfjs-core';
import type { PyTree } from '../types.js';
import {
  enumerableSymbolKey,
  forEachLeaf,
  formatPath,
  isPlainObject,
  isTensor,
  sortedKeys,
  tryEnterContainer,
  walkTrees,
  type LeafTest,
  type LeafWalkOptions,
} from './walk.js';

/**
 * Maps `fn` over the leaves of `tree` and, in lockstep, of the `rest` trees, which must have the
 * same structure. Returns a tree shaped like `tree`.
 *
 * Strict, as every utility that builds or compares structure: every value must be a tensor, an
 * array, a plain object, `null` or `undefined` (a JS number, as in an optimizer state, is a
 * `TypeError` naming its path).
 *
 * @throws TreeStructureError naming the first differing path and what each tree has there when a
 * `rest` tree differs, and for a tree with a cycle, nesting deeper than 1,000 levels or a symbol
 * key (which a walk by string keys would skip).
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
  return mapTrees('treeMap', names, [tree, ...rest], fn);
}

/**
 * {@link treeMap} for the tree utilities built on it, whose errors name themselves and their
 * arguments (`treeAdd: tree structures differ at w: a has ..., b has ...`).
 */
export function mapTrees<R>(
  owner: string,
  names: readonly string[],
  trees: readonly PyTree[],
  fn: (leaf: Tensor, ...rest: Tensor[]) => R,
): PyTree<R> {
  return walkTrees(trees, { names, owner }, (leaves) => fn(...(leaves as [Tensor, ...Tensor[]])));
}

/**
 * Like {@link treeMap}, with the leaf's path (e.g. `dense1.kernel`, `layers[0].bias`) passed
 * first, as `jax.tree_util.tree_map_with_path` does. Strict and throwing as {@link treeMap}.
 * @group Tree utilities
 */
export function treeMapWithPath<R>(
  fn: (path: string, leaf: Tensor, ...rest: Tensor[]) => R,
  tree: PyTree,
  ...rest: PyTree[]
): PyTree<R> {
  const names = ['tree', ...rest.map((_, i) => `rest[${i}]`)];
  return walkTrees([tree, ...rest], { names, owner: 'treeMapWithPath' }, (leaves, path) =>
    fn(formatPath(path), ...(leaves as [Tensor, ...Tensor[]])),
  );
}

/**
 * The leaves of a tree in flatten order (arrays by index, objects by sorted key).
 *
 * Accepts optimizer states as well as trees: it only collects tensors, so the JS numbers,
 * booleans and strings a state holds beside them (`count`, `learningRate`) are skipped;
 * `treeLeaves(state)` lists every tensor of the state. Anything else that is neither a tensor
 * nor a container (a function, a class instance such as a tfjs-layers weight) is a `TypeError`
 * naming its path, since skipping it could hide a tensor.
 *
 * @throws TreeStructureError for a cycle, nesting deeper than 1,000 levels, or a tensor held
 * under a symbol key (which a walk by string keys would skip).
 * @group Tree utilities
 */
export function treeLeaves(tree: unknown): Tensor[];
/**
 * The leaves of a tree whose leaves `isLeaf` recognises, in flatten order. With a leaf test of
 * its own, the tree is strict: every value must be a leaf, an array, a plain object, `null` or
 * `undefined`.
 */
export function treeLeaves<L>(tree: PyTree<L>, isLeaf: LeafTest): L[];
export function treeLeaves<L>(tree: PyTree<L>, isLeaf?: LeafTest): L[] {
  const leaves: L[] = [];
  forEachLeaf(tree, (leaf) => leaves.push(leaf), leafWalk('treeLeaves', isLeaf));
  return leaves;
}

/** The walk of {@link treeLeaves} and {@link treePaths}: states accepted unless `isLeaf` is given. */
function leafWalk(owner: string, isLeaf: LeafTest | undefined): LeafWalkOptions {
  return isLeaf === undefined ? { owner, others: 'state' } : { owner, isLeaf, leafWord: 'a leaf' };
}

/**
 * The paths of the leaves of a tree, in flatten order, formatted like `dense1.kernel`. Accepts
 * optimizer states (skipping their numbers, booleans and strings) and throws as
 * {@link treeLeaves} does; with a leaf test of its own, strict.
 * @group Tree utilities
 */
export function treePaths(tree: unknown, isLeaf?: LeafTest): string[] {
  const paths: string[] = [];
  forEachLeaf(tree as PyTree<unknown>, (_leaf, path) => paths.push(formatPath(path)), leafWalk('treePaths', isLeaf));
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
    // Plain loops, one stack frame per level (a structure may be 1,000 levels deep).
    const build = (node: DefNode): unknown => {
      switch (node.kind) {
        case 'leaf':
          return leaves[next++];
        case 'empty':
          return node.value;
        case 'array': {
          const out = new Array(node.children.length);
          for (let i = 0; i < out.length; i++) out[i] = build(node.children[i]);
          return out;
        }
        case 'object': {
          const out: Record<string, unknown> = node.nullProto ? Object.create(null) : {};
          for (let i = 0; i < node.keys.length; i++) out[node.keys[i]] = build(node.children[i]);
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
        case 'array': {
          const parts: string[] = [];
          for (const child of node.children) parts.push(show(child));
          return `[${parts.join(', ')}]`;
        }
        case 'object': {
          const parts: string[] = [];
          for (let i = 0; i < node.keys.length; i++) parts.push(`${node.keys[i]}: ${show(node.children[i])}`);
          return `{${parts.join(', ')}}`;
        }
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
      if (bc.length !== a.children.length) return false;
      for (let i = 0; i < bc.length; i++) if (!sameDef(a.children[i], bc[i])) return false;
      return true;
    }
    case 'object': {
      const bo = b as typeof a;
      if (bo.keys.length !== a.keys.length) return false;
      for (let i = 0; i < bo.keys.length; i++) if (a.keys[i] !== bo.keys[i]) return false;
      for (let i = 0; i < bo.keys.length; i++) if (!sameDef(a.children[i], bo.children[i])) return false;
      return true;
    }
  }
}

/**
 * Splits a tree into its leaves (flatten order) and its structure. `treeUnflatten(def, leaves)`
 * rebuilds it.
 *
 * Strict (it records structure): every value must be a leaf, an array, a plain object, `null`
 * or `undefined`; a JS number, as in an optimizer state, is a `TypeError` naming its path.
 * @throws TreeStructureError for a cycle, nesting deeper than 1,000 levels or a symbol key.
 * @group Tree utilities
 */
export function treeFlatten(tree: PyTree): [Tensor[], TreeDef];
export function treeFlatten<L>(tree: PyTree<L>, isLeaf: LeafTest): [L[], TreeDef];
export function treeFlatten<L>(tree: PyTree<L>, isLeaf?: LeafTest): [L[], TreeDef] {
  return flattenAs('treeFlatten', tree, isLeaf);
}

/** {@link treeFlatten} for `owner`, whose name starts the errors. */
function flattenAs<L>(owner: string, tree: PyTree<L>, isLeaf: LeafTest = isTensor, name = 'tree'): [L[], TreeDef] {
  const leaves: L[] = [];
  // The containers being walked, for cycles and depth; builds no paths (the fast path of every
  // step): on a problem, the validating walk below throws the error with the path.
  const ancestors: object[] = [];
  const fail = (): never => {
    forEachLeaf(tree, () => undefined, { owner, name, isLeaf, leafWord: isLeaf === isTensor ? undefined : 'a leaf' });
    /* c8 ignore next */
    throw new TypeError(`${owner}: invalid tree`);
  };
  const build = (node: unknown): DefNode => {
    if (isLeaf(node)) {
      leaves.push(node as L);
      return LEAF;
    }
    if (node === null || node === undefined) return { kind: 'empty', value: node };
    if (Array.isArray(node)) {
      if (!tryEnterContainer(ancestors, node)) fail();
      const children: DefNode[] = new Array(node.length);
      for (let k = 0; k < node.length; k++) children[k] = build(node[k]);
      ancestors.pop();
      return { kind: 'array', children };
    }
    if (isPlainObject(node)) {
      if (!tryEnterContainer(ancestors, node) || enumerableSymbolKey(node) !== undefined) fail();
      const keys = sortedKeys(node);
      const children: DefNode[] = new Array(keys.length);
      for (let k = 0; k < keys.length; k++) children[k] = build(node[keys[k]]);
      ancestors.pop();
      return { kind: 'object', keys, children, nullProto: Object.getPrototypeOf(node) === null };
    }
    return fail();
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
 * `true` when the two trees have the same structure (leaf values are not compared). Strict as
 * {@link treeFlatten}: a tree that is not one throws rather than compares unequal.
 * @group Tree utilities
 */
export function treeStructureEqual(a: PyTree<unknown>, b: PyTree<unknown>, isLeaf: LeafTest = isTensor): boolean {
  return flattenAs('treeStructureEqual', a, isLeaf, 'a')[1].equals(flattenAs('treeStructureEqual', b, isLeaf, 'b')[1]);
}

const isEnumerableOwn = (obj: object, key: string) => Object.prototype.propertyIsEnumerable.call(obj, key);

/**
 * Flattens trees of one structure in a single walk: the leaves of each tree, in flatten order,
 * and the structure of the first. Returns `null`, without saying where, when a structure
 * differs, `accept` rejects the tensors found at a leaf position, or a tree is one no walk may
 * map (a cycle or nesting too deep in the first tree, a symbol key in any); callers then run a
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
  // The first tree's containers being walked, for cycles and depth (the others are walked in
  // lockstep with it, so they end where it does).
  const ancestors: object[] = [];
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
      if (!tryEnterContainer(ancestors, primary)) return null;
      const children: DefNode[] = new Array(primary.length);
      for (let k = 0; k < primary.length; k++) {
        const child = build(alignedChildren(nodes, depth, k), depth + 1);
        if (child === null) return null;
        children[k] = child;
      }
      ancestors.pop();
      return { kind: 'array', children };
    }
    if (isPlainObject(primary)) {
      if (!tryEnterContainer(ancestors, primary) || enumerableSymbolKey(primary) !== undefined) return null;
      const keys = sortedKeys(primary);
      for (let i = 1; i < n; i++) {
        const other = nodes[i];
        // Same number of enumerable own keys, all of the first tree's among them: same key set.
        if (!isPlainObject(other) || Object.keys(other).length !== keys.length) return null;
        for (const key of keys) if (!isEnumerableOwn(other, key)) return null;
        if (enumerableSymbolKey(other) !== undefined) return null;
      }
      const children: DefNode[] = new Array(keys.length);
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        const child = build(alignedChildren(nodes, depth, key), depth + 1);
        if (child === null) return null;
        children[k] = child;
      }
      ancestors.pop();
      return { kind: 'object', keys, children, nullProto: Object.getPrototypeOf(primary) === null };
    }
    return null;
  };
  const root = build(trees, 0);
  return root === null ? null : [out, new TreeDef(root, count)];
}
