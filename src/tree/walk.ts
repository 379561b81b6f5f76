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
  return formatKeys(path, root);
}

/** {@link formatPath} of a path that may hold a symbol key (in an error about one): `a[Symbol(b)]`. */
function formatKeys(path: ReadonlyArray<PropertyKey>, root = ''): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'symbol') out += `[${String(part)}]`;
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

function invalidNode(name: string, path: ReadonlyArray<PropertyKey>, value: unknown, leafWord: string, owner?: string): TypeError {
  return new TypeError(
    `${owner ? `${owner}: ` : ''}${formatKeys(path, name)}: expected ${leafWord}, an array, a plain object, null or undefined ` +
      `in a tree, got ${describeNode(value)}${layersHint(value)}`,
  );
}

/**
 * How deeply arrays and plain objects may nest in a tree or a state: 1,000 levels. The root
 * container is level 1, so a leaf may sit at most 1,000 keys and indices below the root; a
 * container 1,000 keys below it is refused with a `TreeStructureError` naming the path prefix.
 *
 * Why 1,000: parameter trees and optimizer states nest a few dozen levels at most (a model's
 * layers, a chain of wrappers), so only a runaway structure comes near it; and the walkers
 * recurse one stack frame per level, so 1,000 levels take at most about a third of V8's default
 * stack (the largest frames, the lockstep check behind `treeMap`, overflow near 2,800 levels;
 * the single-tree walks near 5,000 to 6,800), leaving the rest to the caller. So a tree that is
 * accepted can be walked, and one that is not is refused before the stack runs out.
 */
export const MAX_TREE_DEPTH = 1000;

/** How many path parts a message shows of a path too long to print whole. */
const SHOWN_PATH_PARTS = 12;

function ownerPrefix(owner: string | undefined): string {
  return owner ? `${owner}: ` : '';
}

/**
 * The check made on entering a container (an array or a plain object) of a walked tree:
 * throws a `TreeStructureError` if the container is one of its own ancestors (a cycle) or is
 * nested too deeply ({@link MAX_TREE_DEPTH}), and otherwise pushes it on `ancestors` (the caller
 * pops it when it leaves). `ancestors[i]` is the container at `path.slice(0, i)`, so on entry
 * `ancestors.length === path.length`. The scan is as long as the nesting, a handful of
 * comparisons in real trees.
 */
export function enterContainer(
  ancestors: object[],
  node: object,
  path: ReadonlyArray<PropertyKey>,
  name: string,
  owner?: string,
): void {
  const depth = ancestors.length;
  for (let i = depth - 1; i >= 0; i--) if (ancestors[i] === node) throw cycleError(owner, name, path, i);
  if (depth >= MAX_TREE_DEPTH) throw depthError(owner, name, path);
  ancestors.push(node);
}

/**
 * {@link enterContainer} for walks that build no paths: pushes `node` on `ancestors` and returns
 * `true`, or returns `false` for a cycle or a container nested too deeply, for the caller to run
 * a walk that builds paths and throws the error.
 */
export function tryEnterContainer(ancestors: object[], node: object): boolean {
  const depth = ancestors.length;
  if (depth >= MAX_TREE_DEPTH) return false;
  for (let i = depth - 1; i >= 0; i--) if (ancestors[i] === node) return false;
  ancestors.push(node);
  return true;
}

function cycleError(owner: string | undefined, name: string, path: ReadonlyArray<PropertyKey>, first: number): TreeStructureError {
  const container = formatKeys(path.slice(0, first), name);
  return new TreeStructureError(
    `${ownerPrefix(owner)}${formatKeys(path, name)} is ${container} again (a cycle: ${container} contains itself); ` +
      `a tree or state must not contain a cycle, which no walk could finish`,
    formatKeys(path),
  );
}

function depthError(owner: string | undefined, name: string, path: ReadonlyArray<PropertyKey>): TreeStructureError {
  const shown = formatKeys(path.slice(0, SHOWN_PATH_PARTS), name);
  return new TreeStructureError(
    `${ownerPrefix(owner)}${shown}... nests arrays and objects deeper than ${MAX_TREE_DEPTH.toLocaleString('en-US')} levels ` +
      `(a container ${path.length.toLocaleString('en-US')} keys below the root), the most a tree or state may have`,
    formatKeys(path),
  );
}

/** The first own enumerable symbol key of `obj`, if it has one. */
export function enumerableSymbolKey(obj: object): symbol | undefined {
  const symbols = Object.getOwnPropertySymbols(obj);
  for (let i = 0; i < symbols.length; i++) {
    if (Object.prototype.propertyIsEnumerable.call(obj, symbols[i])) return symbols[i];
  }
  return undefined;
}

/**
 * A value held under a symbol key, which a walk by string keys would skip. `path` is the path
 * of `found`; `at` the index in it of the symbol key (its object is at `path.slice(0, at)`).
 */
function symbolKeyError(
  owner: string | undefined,
  name: string,
  path: ReadonlyArray<PropertyKey>,
  at: number,
  found: unknown,
): TreeStructureError {
  const below = path.length > at + 1 ? ` (at ${formatKeys(path, name)})` : '';
  return new TreeStructureError(
    `${ownerPrefix(owner)}${formatKeys(path.slice(0, at), name)} has ${describeNode(found)}${below} under the symbol key ` +
      `${String(path[at])}: trees and states are walked by their string keys only, so it would be silently skipped; ` +
      `use a string key`,
    formatKeys(path.slice(0, at + 1)),
  );
}

/** Throws if the plain object `obj` at `path` of the tree `name` has an enumerable symbol key. */
function refuseSymbolKeys(obj: object, path: ReadonlyArray<PropertyKey>, name: string, owner?: string): void {
  const symbol = enumerableSymbolKey(obj);
  if (symbol !== undefined) {
    throw symbolKeyError(owner, name, [...path, symbol], path.length, (obj as Record<symbol, unknown>)[symbol]);
  }
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
  return new TreeStructureError(
    `${ownerPrefix(owner)}tree structures differ at ${where}: ${what}`,
    path.length ? where : '',
  );
}

/** Key sets up to this size are listed whole in a structure error. */
const LISTED_KEYS = 8;
/** Of larger key sets, this many of the keys the other side lacks are listed. */
const LISTED_DIFFERENT_KEYS = 5;

/** A key as a structure error lists it: bare unless it would read ambiguously in a list. */
function showKey(key: string): string {
  return /^[^\s,[\]"'`]+$/.test(key) ? key : JSON.stringify(key);
}

/**
 * What one side has at an object where the key sets differ: the whole key list when it is short
 * (`keys [a, b/kernel_1]`), otherwise the count and the first of the keys only it has
 * (`500 keys (2 only there: [b/kernel_1, c])`).
 */
function describeKeys(keys: readonly string[], other: ReadonlySet<string>, withWord: boolean): string {
  if (keys.length <= LISTED_KEYS) return `${withWord ? 'keys ' : ''}[${keys.map(showKey).join(', ')}]`;
  const only = keys.filter((k) => !other.has(k));
  const shown = only.slice(0, LISTED_DIFFERENT_KEYS).map(showKey).join(', ');
  const more = only.length > LISTED_DIFFERENT_KEYS ? ` and ${only.length - LISTED_DIFFERENT_KEYS} more` : '';
  return `${keys.length} keys (${only.length === 0 ? 'none only there' : `${only.length} only there: [${shown}${more}]`})`;
}

/**
 * Describes the first key (in sorted order) that one side lacks, and what each side has at the
 * object: `grads has this key, params does not; at dense, params has keys [bias, kernel_1] and
 * grads has [bias, kernel]`.
 */
function firstKeyDifference(
  names: readonly string[],
  i: number,
  path: TreePath,
  keysA: string[],
  keysB: string[],
): { key: string; detail: string } {
  const setA = new Set(keysA);
  const setB = new Set(keysB);
  const both =
    `; at ${formatPath(path)}, ${names[0]} has ${describeKeys(keysA, setB, true)} ` +
    `and ${names[i]} has ${describeKeys(keysB, setA, false)}`;
  const all = Array.from(new Set([...keysA, ...keysB])).sort();
  for (const key of all) {
    if (!setB.has(key)) return { key, detail: `${names[0]} has this key, ${names[i]} does not${both}` };
    if (!setA.has(key)) return { key, detail: `${names[i]} has this key, ${names[0]} does not${both}` };
  }
  /* c8 ignore next */
  return { key: '', detail: `keys differ${both}` };
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
 * Throws `TreeStructureError` at the first position where another tree differs (naming what
 * each side has there), and for a tree that no walk could map: a cycle, nesting deeper than
 * {@link MAX_TREE_DEPTH} levels, or a plain object with an enumerable symbol key (which a walk
 * by string keys would skip). A value that is neither a leaf nor a container is a `TypeError`.
 * All are thrown before `fn` is called for any leaf, so `fn` may create tensors without a risk
 * of leaking them on error.
 */
export function walkTrees<R>(
  trees: readonly unknown[],
  options: WalkOptions,
  fn: (leaves: unknown[], path: TreePath) => R,
): PyTree<R> {
  checkTrees(trees, options);
  return mapChecked(trees, options.isLeaf ?? isTensor, [], fn) as PyTree<R>;
}

/**
 * Throws if the trees are not all valid and of one structure; see {@link walkTrees}. Cycles and
 * depth are checked on the first tree only: the others are walked in lockstep with it, so a
 * cycle in another tree shows as a structure difference where the first tree ends.
 */
export function checkTrees(trees: readonly unknown[], options: WalkOptions): void {
  const isLeaf = options.isLeaf ?? isTensor;
  const leafWord = options.leafWord ?? 'a tf.Tensor';
  const { names, owner } = options;
  const path: (string | number)[] = [];
  const ancestors: object[] = [];
  const visit = (nodes: readonly unknown[]): void => {
    const primary = nodes[0];
    const primaryKind = kindOf(primary, isLeaf);
    if (primaryKind === 'invalid') throw invalidNode(names[0], path, primary, leafWord, owner);
    for (let i = 1; i < nodes.length; i++) {
      const kind = kindOf(nodes[i], isLeaf);
      if (kind === 'invalid') throw invalidNode(names[i], path, nodes[i], leafWord, owner);
      if (kind !== primaryKind) throw structureError(owner, names, path, i, primary, nodes[i]);
    }
    if (primaryKind === 'leaf') {
      options.checkLeaf?.(nodes, path);
    } else if (primaryKind === 'array') {
      const arr = primary as unknown[];
      enterContainer(ancestors, arr, path, names[0], owner);
      for (let i = 1; i < nodes.length; i++) {
        const other = nodes[i] as unknown[];
        if (other.length !== arr.length) {
          throw structureError(owner, names, path, i, primary, other);
        }
      }
      for (let k = 0; k < arr.length; k++) {
        path.push(k);
        visit(nodes.map((n) => (n as unknown[])[k]));
        path.pop();
      }
      ancestors.pop();
    } else if (primaryKind === 'object') {
      enterContainer(ancestors, primary as object, path, names[0], owner);
      for (let i = 0; i < nodes.length; i++) refuseSymbolKeys(nodes[i] as object, path, names[i], owner);
      const keys = sortedKeys(primary as Record<string, unknown>);
      for (let i = 1; i < nodes.length; i++) {
        const otherKeys = sortedKeys(nodes[i] as Record<string, unknown>);
        if (otherKeys.length !== keys.length || otherKeys.some((k, j) => k !== keys[j])) {
          const { key, detail } = firstKeyDifference(names, i, path, keys, otherKeys);
          path.push(key);
          const err = structureError(owner, names, path, i, primary, nodes[i], detail);
          path.pop();
          throw err;
        }
      }
      for (const key of keys) {
        path.push(key);
        visit(nodes.map((n) => (n as Record<string, unknown>)[key]));
        path.pop();
      }
      ancestors.pop();
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

/** The mapping half of {@link walkTrees}, for trees already checked (so acyclic and not too deep). */
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
 * What a walk does with a value that is neither a leaf nor a container:
 * - `'throw'`: a `TypeError` naming the path (trees of parameters and updates);
 * - `'state'`: skips the other values an optimizer state holds (JS numbers, booleans and
 *   strings) and throws on anything else (a function, a class instance such as a tfjs-layers
 *   weight, a symbol or a bigint), which no tree or state holds;
 * - `'skip'`: skips every such value (the disposal helpers).
 */
export type OtherValues = 'throw' | 'state' | 'skip';

/** Options of {@link forEachLeaf}. */
export interface LeafWalkOptions {
  /** The tree's name in messages; `'tree'` by default. */
  name?: string;
  /** Which values are leaves; tensors by default. */
  isLeaf?: LeafTest;
  /** The word used for a leaf in messages; `'a tf.Tensor'` by default. */
  leafWord?: string;
  /** Who is asking (`'treeLeaves'`), to start messages with; none by default. */
  owner?: string;
  /** Values that are neither leaves nor containers; `'throw'` by default (see {@link OtherValues}). */
  others?: OtherValues;
  /**
   * Visit object keys in flatten order (sorted; the default) or, when `false`, in insertion
   * order, which saves the sort for walks whose order does not matter (disposal).
   */
  sorted?: boolean;
}

/** A value an optimizer state holds besides tensors, arrays, plain objects, null and undefined. */
function isStateScalar(value: unknown): boolean {
  const type = typeof value;
  return type === 'number' || type === 'boolean' || type === 'string';
}

/**
 * Calls `fn` on every leaf of `tree` in flatten order with its path. Throws as
 * {@link walkTrees} does on a tree that no walk may map (a cycle, nesting deeper than
 * {@link MAX_TREE_DEPTH} levels, a symbol key: a `TreeStructureError` naming the path) and,
 * unless `options.others` says to skip it, on a value that is neither a leaf nor a container (a
 * `TypeError`). Unlike {@link walkTrees}, it may have called `fn` on some leaves by then: callers
 * that must not act on half a tree collect the leaves first.
 *
 * Symbol keys: when other values throw, a plain object with an enumerable symbol key is a
 * `TreeStructureError` whatever the key holds, as a string key holding anything but a tree would
 * be. When other values are skipped (states, disposal), only a leaf found under a symbol key is
 * an error: it is the one thing such a walk would miss. Non-enumerable properties, string-keyed
 * or not, are not part of a tree and are never visited.
 */
export function forEachLeaf<L = Tensor>(
  tree: PyTree<L>,
  fn: (leaf: L, path: TreePath) => void,
  options: LeafWalkOptions = {},
): void {
  const isLeaf = options.isLeaf ?? isTensor;
  const leafWord = options.leafWord ?? 'a tf.Tensor';
  const name = options.name ?? 'tree';
  const { owner } = options;
  const others = options.others ?? 'throw';
  const sorted = options.sorted ?? true;
  const path: PropertyKey[] = [];
  const ancestors: object[] = [];
  // The index in `path` of the symbol key being walked under, -1 outside any.
  let symbolAt = -1;
  const visit = (node: unknown): void => {
    if (isLeaf(node)) {
      if (symbolAt >= 0) throw symbolKeyError(owner, name, path, symbolAt, node);
      // No symbol key is on the path here, so it is a TreePath.
      fn(node as L, path as TreePath);
      return;
    }
    if (node === null || node === undefined) return;
    if (Array.isArray(node)) {
      enterContainer(ancestors, node, path, name, owner);
      for (let k = 0; k < node.length; k++) {
        path.push(k);
        visit(node[k]);
        path.pop();
      }
      ancestors.pop();
      return;
    }
    if (!isPlainObject(node)) {
      if (others === 'skip' || (others === 'state' && isStateScalar(node))) return;
      throw invalidNode(name, path, node, leafWord, owner);
    }
    enterContainer(ancestors, node, path, name, owner);
    if (others === 'throw') refuseSymbolKeys(node, path, name, owner);
    const keys = sorted ? sortedKeys(node) : Object.keys(node);
    for (let k = 0; k < keys.length; k++) {
      path.push(keys[k]);
      visit(node[keys[k]]);
      path.pop();
    }
    if (others !== 'throw' && enumerableSymbolKey(node) !== undefined) {
      for (const symbol of Object.getOwnPropertySymbols(node)) {
        if (!Object.prototype.propertyIsEnumerable.call(node, symbol)) continue;
        const outer = symbolAt;
        if (outer < 0) symbolAt = path.length;
        path.push(symbol);
        visit((node as Record<symbol, unknown>)[symbol]);
        path.pop();
        symbolAt = outer;
      }
    }
    ancestors.pop();
  };
  visit(tree);
}

/**
 * Pushes onto `out` every tensor in `value` (repeats included, objects in insertion order),
 * walking arrays and plain objects and skipping every other value; the fast walk of the
 * disposal helpers, which builds no paths. Returns `false`, having pushed some, on a cycle, a
 * container nested too deeply or any enumerable symbol key; then
 * `forEachLeaf(value, ..., { others: 'skip' })` throws the error with its path (or, for a symbol
 * key that holds no tensor, collects the tensors after all).
 */
export function pushTensorsFast(value: unknown, out: Tensor[]): boolean {
  const ancestors: object[] = [];
  const walk = (node: unknown): boolean => {
    if (node instanceof Tensor) {
      out.push(node);
      return true;
    }
    if (node === null || typeof node !== 'object') return true;
    if (Array.isArray(node)) {
      if (!tryEnterContainer(ancestors, node)) return false;
      for (let i = 0; i < node.length; i++) if (!walk(node[i])) return false;
    } else {
      const proto = Object.getPrototypeOf(node);
      if (proto !== Object.prototype && proto !== null) return true;
      if (!tryEnterContainer(ancestors, node) || enumerableSymbolKey(node) !== undefined) return false;
      for (const key in node) if (!walk((node as Record<string, unknown>)[key])) return false;
    }
    ancestors.pop();
    return true;
  };
  return walk(value);
}
