import type { Tensor } from '@tensorflow/tfjs-core';
import { TreeStructureError, type Params, type PyTree } from '../types.js';
import { treeFlatten, treeFlattenAligned, type TreeDef } from '../tree/structure.js';
import { checkTrees, describeNode, formatPath, isPlainObject, isTensor, sortedKeys, type TreePath } from '../tree/walk.js';

/**
 * Per-leaf labels given as a prefix tree of the parameters, and trees split by them: the masks
 * of `addDecayedWeights`, `masked` and `freeze` (boolean labels) and the labels of `partition`
 * (string labels). A label where the parameters have a subtree labels every leaf below it. The
 * wrappers hand each inner transformation a tree of the parameters' structure with `null` (an
 * empty subtree) at every leaf that is not its own, so the inner state exists for its leaves
 * only.
 */

/** What the labels of a prefix tree are. */
export interface LabelKind<L> {
  /** The tree's name in messages: `'mask'`, `'labels'`. */
  readonly name: string;
  /** The allowed leaves in messages: `mask.a must be ${word} or a subtree of them`. */
  readonly word: string;
  is(value: unknown): value is L;
}

/** Boolean labels: `true` selects a leaf. */
export const MASK: LabelKind<boolean> = {
  name: 'mask',
  word: 'true, false',
  is: (value): value is boolean => typeof value === 'boolean',
};

/** One label of a label tree and where it stands in it. */
export interface LabelEntry<L> {
  label: L;
  path: TreePath;
}

/**
 * Checks that `tree` holds only labels and containers (a `TypeError` naming the path
 * otherwise) and returns its labels in flatten order with their paths.
 */
export function checkLabelTree<L>(owner: string, kind: LabelKind<L>, tree: unknown): LabelEntry<L>[] {
  const out: LabelEntry<L>[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (kind.is(node)) {
      out.push({ label: node, path: path.slice() });
    } else if (Array.isArray(node)) {
      node.forEach((c, k) => visit(c, [...path, k]));
    } else if (isPlainObject(node)) {
      sortedKeys(node).forEach((k) => visit(node[k], [...path, k]));
    } else if (node !== null && node !== undefined) {
      throw new TypeError(`${owner}: ${formatPath(path, kind.name)} must be ${kind.word} or a subtree of them, got ${describeNode(node)}`);
    }
  };
  visit(tree, []);
  return out;
}

/** A label tree given as a tree or as a function of the parameters. */
export type LabelSpec<L> = PyTree<L> | ((params: Params) => PyTree<L>);

/**
 * The label tree for `target`: `spec` itself (checked when the wrapper was made), or what the
 * function `spec` returns for it, checked now.
 */
export function labelTreeFor<L>(owner: string, kind: LabelKind<L>, spec: LabelSpec<L>, target: Params): PyTree<L> {
  if (typeof spec !== 'function') return spec;
  const tree = (spec as (params: Params) => PyTree<L>)(target);
  checkLabelTree(owner, kind, tree);
  return tree;
}

/**
 * One label per leaf of `target` (in flatten order), read from the prefix tree `tree`: a label
 * where `target` has a subtree applies to all of its leaves. A `TreeStructureError` names the
 * first path where the two trees differ. `target` must be a valid tree (see {@link alignedLeaves}).
 */
export function resolveLabels<L>(owner: string, kind: LabelKind<L>, tree: PyTree<L>, target: PyTree, targetName = 'params'): L[] {
  const out: L[] = [];
  const fill = (node: unknown, label: L): void => {
    if (isTensor(node)) out.push(label);
    else if (Array.isArray(node)) node.forEach((c) => fill(c, label));
    else if (isPlainObject(node)) sortedKeys(node).forEach((k) => fill(node[k], label));
  };
  const mismatch = (path: TreePath, m: unknown, p: unknown): TreeStructureError =>
    new TreeStructureError(
      `${owner}: ${kind.name} and ${targetName} differ at ${formatPath(path)}: ${kind.name} has ${describeNode(m)}, ` +
        `${targetName} has ${describeNode(p)}`,
      path.length ? formatPath(path) : '',
    );
  const visit = (m: unknown, p: unknown, path: (string | number)[]): void => {
    if (kind.is(m)) return fill(p, m);
    if (m === null || m === undefined) {
      if (p === null || p === undefined) return;
      throw mismatch(path, m, p);
    }
    if (Array.isArray(m)) {
      if (!Array.isArray(p) || p.length !== m.length) throw mismatch(path, m, p);
      return m.forEach((c, k) => visit(c, p[k], [...path, k]));
    }
    const mo = m as Record<string, unknown>;
    if (!isPlainObject(p)) throw mismatch(path, m, p);
    const mk = sortedKeys(mo);
    const pk = sortedKeys(p);
    const missing = pk.find((k) => !(k in mo)) ?? mk.find((k) => !(k in p));
    if (missing !== undefined) {
      const where = formatPath([...path, missing]);
      const side = missing in mo ? targetName : kind.name;
      throw new TreeStructureError(`${owner}: ${kind.name} and ${targetName} differ at ${where}: ${side} has no such key`, where);
    }
    mk.forEach((k) => visit(mo[k], p[k], [...path, k]));
  };
  visit(tree, target, []);
  return out;
}

/**
 * The leaves of trees of one structure (`updates` and, when given, `params`), one array per
 * tree, and that structure. A tree that is not one (a value that is neither a tensor nor a
 * container) is a `TypeError`, and trees of different structures a `TreeStructureError`, each
 * naming `owner` and the path. Leaves are not checked further: the inner transformations check
 * the leaves they get.
 */
export function alignedLeaves(owner: string, names: readonly string[], trees: readonly PyTree[]): [Tensor[][], TreeDef] {
  const fast = treeFlattenAligned(trees, () => true);
  if (fast !== null) return fast;
  checkTrees(trees, { names, owner });
  // The validating walk found nothing wrong after all: flatten tree by tree.
  const flat = trees.map((t) => treeFlatten(t));
  return [flat.map(([leaves]) => leaves), flat[0][1]];
}

/** The tree of structure `def` holding the `leaves` labelled `label`, and `null` at the others. */
export function selectLeaves<L>(def: TreeDef, leaves: readonly Tensor[], labels: readonly L[], label: L): PyTree {
  return def.unflatten(leaves.map((t, i) => (labels[i] === label ? t : null)));
}

/**
 * Writes into `out` (the leaves of the whole tree) the leaves of `result`, the updates an inner
 * transformation returned for `given` (a tree from {@link selectLeaves} with `label`). `result`
 * must have the structure of `given`: a `TreeStructureError` naming the path otherwise.
 */
export function mergeLeaves<L>(owner: string, what: string, out: Tensor[], labels: readonly L[], label: L, given: PyTree, result: PyTree): void {
  const names = ['updates given', `updates ${what} returned`];
  const aligned = treeFlattenAligned([given, result], () => true);
  if (aligned === null) {
    checkTrees([given, result], { names, owner });
    throw new TreeStructureError(`${owner}: ${what} returned updates of another structure than it was given`, '');
  }
  const got = aligned[0][1];
  let j = 0;
  for (let i = 0; i < out.length; i++) if (labels[i] === label) out[i] = got[j++];
}
