import type { PyTree } from '../types.js';
import { describeNode, forEachLeaf, isPlainObject, isTensor, sortedKeys } from './walk.js';

/**
 * Finding a value in a tree or an optimizer state by a name or a dotted path, and replacing it
 * without mutating anything: `treeGet(state, 'learningRate')`, `treeSet(params, 'dense.bias', b)`.
 *
 * A query is a dot-separated list of keys and array positions (`'adam.learningRate'`,
 * `'1.learningRate'`, `'inner.body.mu'`; `'[1].learningRate'` is read the same). It matches
 * every place whose last key is the query's last key and whose path contains the query's other
 * parts in the same order (not necessarily adjacent): `'adam.learningRate'` finds
 * `adam[1].learningRate` in a `namedChain`, `'learningRate'` alone finds every learning rate.
 * A query must match exactly one place, or spell one place's whole path: that place is picked
 * over the deeper ones the query also matches, so that every path an ambiguity error lists picks
 * its place (`'learningRate'` is a wrapper's own rate when its inner state has one too).
 */

/** A place in a tree: its path (keys and array positions from the root) and value. */
interface Place {
  path: Array<string | number>;
  value: unknown;
  /** Hidden behind an `injectHyperparams` value of the same name (see {@link findPlaces}). */
  shadowed: boolean;
}

/** The parts of a query: `'a.b[2].c'` and `'a.b.2.c'` are both `['a', 'b', '2', 'c']`. */
function parseQuery(owner: string, query: unknown): string[] {
  if (typeof query !== 'string' || query.trim() === '') {
    throw new TypeError(`${owner}: expected a name or a dotted path (e.g. 'learningRate' or 'adam.learningRate'), got ${describeNode(query)}`);
  }
  const parts = query.replace(/\[(\d+)\]/g, '.$1').split('.').filter((p) => p !== '');
  if (parts.length === 0) throw new TypeError(`${owner}: '${query}' names nothing`);
  return parts;
}

/** `true` when `query` (all but its last part) is a subsequence of `path` (all but its last). */
function matches(path: ReadonlyArray<string | number>, query: readonly string[]): boolean {
  if (path.length === 0 || String(path[path.length - 1]) !== query[query.length - 1]) return false;
  let q = 0;
  for (let i = 0; i < path.length - 1 && q < query.length - 1; i++) if (String(path[i]) === query[q]) q++;
  return q === query.length - 1;
}

/**
 * Every place below the root (tensors are not entered) whose value passes `accept`. Inside the
 * state of `injectHyperparams` (`{ count, hyperparams, inner }`), a number in `inner` with the
 * same name as one in `hyperparams` is marked shadowed: the injected value is the one to read
 * and set, as the inner state's copy is reset from it at every update.
 *
 * `root` is first walked as the disposal helpers walk it (the same containers: arrays and plain
 * objects), which throws a `TreeStructureError` naming the path for a cycle, nesting deeper than
 * 1,000 levels or a tensor under a symbol key; so the search below always ends.
 */
function findPlaces(
  owner: string,
  root: unknown,
  rootName: string,
  accept: (value: unknown, key: string | number, path: ReadonlyArray<string | number>) => boolean,
): Place[] {
  forEachLeaf(root as PyTree, () => undefined, { owner, name: rootName, others: 'skip', sorted: false });
  const out: Place[] = [];
  const visit = (node: unknown, path: Array<string | number>, shadow: ReadonlySet<string>): void => {
    if (isTensor(node)) return;
    const children: Array<[string | number, unknown]> = Array.isArray(node)
      ? node.map((c, i) => [i, c])
      : isPlainObject(node)
        ? sortedKeys(node).map((k) => [k, node[k]])
        : [];
    let inner = shadow;
    if (isInjectedState(node)) inner = new Set([...shadow, ...Object.keys(node.hyperparams)]);
    for (const [key, child] of children) {
      const childPath = [...path, key];
      const childShadow = key === 'inner' && inner !== shadow ? inner : shadow;
      if (accept(child, key, childPath)) out.push({ path: childPath, value: child, shadowed: typeof key === 'string' && shadow.has(key) });
      visit(child, childPath, childShadow);
    }
  };
  visit(root, [], new Set());
  return out;
}

/** The state of `injectHyperparams`: `{ count, hyperparams, inner }`. */
function isInjectedState(node: unknown): node is { count: number; hyperparams: Record<string, unknown>; inner: unknown } {
  if (!isPlainObject(node)) return false;
  const keys = Object.keys(node);
  return keys.length === 3 && 'count' in node && 'inner' in node && isPlainObject(node.hyperparams);
}

/** A path as a dotted query that names it exactly. */
export function dottedPath(path: ReadonlyArray<string | number>): string {
  return path.map(String).join('.');
}

/**
 * The one place `query` names among those `accept` lets through, or an `Error` saying that none
 * or several match (listing the names or paths there are). `rootName` names `root` in the
 * errors about its structure.
 */
export function findOne(
  owner: string,
  root: unknown,
  query: unknown,
  accept: (value: unknown, key: string | number, path: ReadonlyArray<string | number>) => boolean,
  what: string,
  rootName = 'tree',
): Place {
  const parts = parseQuery(owner, query);
  const places = findPlaces(owner, root, rootName, accept);
  let found = places.filter((p) => matches(p.path, parts));
  const exact = found.find((p) => p.path.length === parts.length && p.path.every((key, i) => String(key) === parts[i]));
  if (exact !== undefined) return exact;
  if (found.some((p) => !p.shadowed)) found = found.filter((p) => !p.shadowed);
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    const names = [...new Set(places.map((p) => String(p.path[p.path.length - 1])).filter((n) => !/^\d+$/.test(n)))].sort();
    throw new Error(
      `${owner}: no ${what} '${query as string}' here; ` +
        (names.length ? `the names there are: ${names.join(', ')}` : `it holds no ${what}s`),
    );
  }
  throw new Error(
    `${owner}: '${query as string}' is at more than one place: ${found.map((p) => dottedPath(p.path)).join(', ')}; ` +
      `pass one of these paths (or enough of it to pick one)`,
  );
}

/** A copy of `root` with the value at `path` replaced; only the containers on the path are copied. */
export function replaceAt(root: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) {
    const copy = root.slice();
    copy[head as number] = replaceAt(root[head as number], rest, value);
    return copy;
  }
  const obj = root as Record<string, unknown>;
  const copy: Record<string, unknown> = Object.assign(Object.create(Object.getPrototypeOf(obj) as object | null), obj);
  copy[head as string] = replaceAt(obj[head as string], rest, value);
  return copy;
}

/**
 * The value in `tree` that a name or dotted path picks: a leaf, a number in a state, or a
 * subtree. Works on parameter trees and on optimizer states (arrays, plain objects, numbers).
 *
 *     treeGet(params, 'bias')                // the only leaf named bias
 *     treeGet(state, 'adam.learningRate')    // in a namedChain with an entry 'adam'
 *     treeGet(state, '1.mu')                 // position 1 of a chain
 *
 * @throws Error when nothing matches (listing the names there are) or more than one place does
 * (listing their paths).
 * @group Tree utilities
 */
export function treeGet<T = unknown>(tree: unknown, pathOrName: string): T {
  return findOne('treeGet', tree, pathOrName, () => true, 'key').value as T;
}

/**
 * A new tree equal to `tree` except at the place a name or dotted path picks (found as
 * {@link treeGet} finds it), which holds `value`. Nothing is mutated or disposed: the result
 * shares every other subtree and tensor with `tree`, and the replaced value stays the caller's.
 * @group Tree utilities
 */
export function treeSet<T>(tree: T, pathOrName: string, value: unknown): T {
  const place = findOne('treeSet', tree, pathOrName, () => true, 'key');
  return replaceAt(tree, place.path, value) as T;
}
