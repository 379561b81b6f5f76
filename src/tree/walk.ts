import { Tensor } from '@tensorflow/tfjs-core';
import { TreeStructureError, type PyTree } from '../types.js';

/**
 * A path into a tree: array indices and object keys, from the root down.
 * @group Tree utilities
 */
export type TreePath = ReadonlyArray<string | number>;

/**
 * Decides which values are leaves. Everything else must be null, undefined, array or object.
 * @inline
 */
export type LeafTest = (value: unknown) => boolean;

/**
 * `true` for a `tf.Tensor` (a `tf.Variable` included); tfjs makes `instanceof` work across copies.
 * @group Tree utilities
 */
export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

/** `true` for `{}` literals and `Object.create(null)` objects, not for class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a path the way it would be written in JS: `layers[2].kernel`, `["my key"]`. The root
 * name, when given, is prepended: `params.layers[2].kernel`; the root itself is the bare name.
 * @group Tree utilities
 */
export function formatPath(path: TreePath, root = ''): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (IDENTIFIER.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** A short description of a node, for error messages. */
export function describeNode(value: unknown): string {
  if (isTensor(value)) return `a ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    const shown = keys.slice(0, 6).join(', ') + (keys.length > 6 ? ', ...' : '');
    return `an object with keys {${shown}}`;
  }
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name ?? 'Object';
    return `an instance of ${name}`;
  }
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`;
  return `a ${typeof value} (${String(value)})`;
}

/** The keys of a plain object in flatten order (sorted, as JAX does). */
export function sortedKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj).sort();
}

/**
 * What to do instead, when a tree holds a tfjs-layers object where a tensor belongs (the usual
 * mistake: `tx.init(model.trainableWeights)`); `''` for anything else.
 */
function layersHint(value: unknown): string {
  if (value === null || typeof value !== 'object') return '';
  const v = value as Record<string, unknown>;
  if (typeof v.read === 'function' && typeof v.originalName === 'string') {
    return (
      `: a tfjs-layers weight (LayerVariable '${v.originalName}') is not a tensor; use its tf.Variable, ` +
      `weight.read(), or a params tree of the whole model's weights from modelParams(model)`
    );
  }
  if (Array.isArray(v.trainableWeights) && typeof v.apply === 'function') {
    return `: a tfjs-layers ${typeof v.predict === 'function' ? 'model' : 'layer'} is not a tensor; make a params tree of its weights with modelParams(model)`;
  }
  return '';
}

function invalidNode(name: string, path: TreePath, value: unknown, leafWord: string, owner?: string): TypeError {
  return new TypeError(
    `${owner ? `${owner}: ` : ''}${formatPath(path, name)}: expected ${leafWord}, an array, a plain object, null or undefined ` +
      `in a tree, got ${describeNode(value)}${layersHint(value)}`,
  );
}

function structureError(
  owner: string | undefined,
  names: readonly string[],
  path: TreePath,
  i: number,
  primary: unknown,
  other: unknown,
  detail?: string,
): TreeStructureError {
  const where = formatPath(path);
  const what =
    detail ??
    `${names[0]} has ${describeNode(primary)}, ${names[i]} has ${describeNode(other)}`;
  const prefix = owner ? `${owner}: ` : '';
  return new TreeStructureError(
    `${prefix}tree structures differ at ${where}: ${what}`,
    path.length ? where : '',
  );
}

/** Describes which key one side lacks, in sorted order, for a structure error. */
function firstKeyDifference(
  names: readonly string[],
  i: number,
  keysA: string[],
  keysB: string[],
): { key: string; detail: string } {
  const setA = new Set(keysA);
  const setB = new Set(keysB);
  const all = Array.from(new Set([...keysA, ...keysB])).sort();
  for (const key of all) {
    if (!setB.has(key)) return { key, detail: `${names[0]} has this key, ${names[i]} does not` };
    if (!setA.has(key)) return { key, detail: `${names[i]} has this key, ${names[0]} does not` };
  }
  /* c8 ignore next */
  return { key: '', detail: 'keys differ' };
}

/** Options of {@link walkTrees}. */
export interface WalkOptions {
  /** Names of the trees, for messages (`['params', 'updates']`). */
  names: readonly string[];
  /** Which values are leaves; tensors by default. */
  isLeaf?: LeafTest;
  /** The word used for a leaf in messages; `'a tf.Tensor'` by default. */
  leafWord?: string;
  /** Who is asking (`'adam'`), to start messages with; none by default. */
  owner?: string;
  /** Called at each leaf position during the check, before any mapping; may throw. */
  checkLeaf?: (leaves: readonly unknown[], path: TreePath) => void;
}

/**
 * Walks `trees[0]` and the other trees in lockstep, calling `fn` with the leaves found at each
 * leaf position of `trees[0]`, in flatten order, and builds a tree of the results with the
 * structure of `trees[0]`. Objects in the output have their keys in sorted order; objects made
 * with `Object.create(null)` stay prototype-free.
 *
 * Throws `TreeStructureError` at the first position where another tree differs, and a
 * `TypeError` for a value that is neither a leaf nor a container. Both are thrown before `fn`
 * is called for any leaf, so `fn` may create tensors without a risk of leaking them on error.
 */
export function walkTrees<R>(
  trees: readonly unknown[],
  options: WalkOptions,
  fn: (leaves: unknown[], path: TreePath) => R,
): PyTree<R> {
  checkTrees(trees, options);
  return mapChecked(trees, options.isLeaf ?? isTensor, [], fn) as PyTree<R>;
}

/** Throws if the trees are not all valid and of one structure; see {@link walkTrees}. */
export function checkTrees(trees: readonly unknown[], options: WalkOptions): void {
  const isLeaf = options.isLeaf ?? isTensor;
  const leafWord = options.leafWord ?? 'a tf.Tensor';
  const path: (string | number)[] = [];
  const visit = (nodes: readonly unknown[]): void => {
    const primary = nodes[0];
    const primaryKind = kindOf(primary, isLeaf);
    if (primaryKind === 'invalid') throw invalidNode(options.names[0], path, primary, leafWord, options.owner);
    for (let i = 1; i < nodes.length; i++) {
      const kind = kindOf(nodes[i], isLeaf);
      if (kind === 'invalid') throw invalidNode(options.names[i], path, nodes[i], leafWord, options.owner);
      if (kind !== primaryKind) throw structureError(options.owner, options.names, path, i, primary, nodes[i]);
    }
    if (primaryKind === 'leaf') {
      options.checkLeaf?.(nodes, path);
    } else if (primaryKind === 'array') {
      const arr = primary as unknown[];
      for (let i = 1; i < nodes.length; i++) {
        const other = nodes[i] as unknown[];
        if (other.length !== arr.length) {
          throw structureError(options.owner, options.names, path, i, primary, other);
        }
      }
      for (let k = 0; k < arr.length; k++) {
        path.push(k);
        visit(nodes.map((n) => (n as unknown[])[k]));
        path.pop();
      }
    } else if (primaryKind === 'object') {
      const keys = sortedKeys(primary as Record<string, unknown>);
      for (let i = 1; i < nodes.length; i++) {
        const otherKeys = sortedKeys(nodes[i] as Record<string, unknown>);
        if (otherKeys.length !== keys.length || otherKeys.some((k, j) => k !== keys[j])) {
          const { key, detail } = firstKeyDifference(options.names, i, keys, otherKeys);
          path.push(key);
          const err = structureError(options.owner, options.names, path, i, primary, nodes[i], detail);
          path.pop();
          throw err;
        }
      }
      for (const key of keys) {
        path.push(key);
        visit(nodes.map((n) => (n as Record<string, unknown>)[key]));
        path.pop();
      }
    }
  };
  visit(trees);
}

type NodeKind = 'leaf' | 'empty' | 'array' | 'object' | 'invalid';

function kindOf(value: unknown, isLeaf: LeafTest): NodeKind {
  if (isLeaf(value)) return 'leaf';
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'array';
  if (isPlainObject(value)) return 'object';
  return 'invalid';
}

/** The mapping half of {@link walkTrees}, for trees already checked. */
function mapChecked<R>(
  trees: readonly unknown[],
  isLeaf: LeafTest,
  path: (string | number)[],
  fn: (leaves: unknown[], path: TreePath) => R,
): unknown {
  const primary = trees[0];
  if (isLeaf(primary)) return fn(trees as unknown[], path);
  if (primary === null || primary === undefined) return primary;
  if (Array.isArray(primary)) {
    const out = new Array(primary.length);
    for (let k = 0; k < primary.length; k++) {
      path.push(k);
      out[k] = mapChecked(trees.map((t) => (t as unknown[])[k]), isLeaf, path, fn);
      path.pop();
    }
    return out;
  }
  const obj = primary as Record<string, unknown>;
  const out: Record<string, unknown> =
    Object.getPrototypeOf(obj) === null ? Object.create(null) : {};
  for (const key of sortedKeys(obj)) {
    path.push(key);
    out[key] = mapChecked(trees.map((t) => (t as Record<string, unknown>)[key]), isLeaf, path, fn);
    path.pop();
  }
  return out;
}

/**
 * Calls `fn` on every leaf of `tree` in flatten order with its path. Throws like
 * {@link walkTrees} on a value that is neither a leaf nor a container.
 */
export function forEachLeaf<L = Tensor>(
  tree: PyTree<L>,
  fn: (leaf: L, path: TreePath) => void,
  options: { name?: string; isLeaf?: LeafTest; leafWord?: string } = {},
): void {
  const isLeaf = options.isLeaf ?? isTensor;
  const leafWord = options.leafWord ?? 'a tf.Tensor';
  const name = options.name ?? 'tree';
  const path: (string | number)[] = [];
  const visit = (node: unknown): void => {
    switch (kindOf(node, isLeaf)) {
      case 'leaf':
        fn(node as L, path);
        return;
      case 'empty':
        return;
      case 'array':
        (node as unknown[]).forEach((child, k) => {
          path.push(k);
          visit(child);
          path.pop();
        });
        return;
      case 'object': {
        const obj = node as Record<string, unknown>;
        for (const key of sortedKeys(obj)) {
          path.push(key);
          visit(obj[key]);
          path.pop();
        }
        return;
      }
      default:
        throw invalidNode(name, path, node, leafWord);
    }
  };
  visit(tree);
}
