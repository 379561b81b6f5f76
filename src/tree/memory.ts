import * as tf from '@tensorflow/tfjs-core';
import type { PyTree } from '../types.js';
import { forEachLeaf, isPlainObject, isTensor, pushTensorsFast } from './walk.js';

/**
 * Adds every tensor found in `value` to `into`: `value` may be a tree, an optimizer state (plain
 * objects and arrays holding trees and numbers) or any mix of them. Values that are neither
 * tensors nor containers (numbers, strings, booleans, functions, class instances) are skipped.
 * Throws a `TreeStructureError` naming the path for a cycle, nesting deeper than 1,000 levels or
 * a tensor under a symbol key, before adding anything.
 */
export function collectTensors(value: unknown, into: Set<tf.Tensor> = new Set(), owner?: string, name = 'value'): Set<tf.Tensor> {
  for (const t of tensorsOf(value, owner, name)) into.add(t);
  return into;
}

/**
 * Every tensor found in `value` (see {@link collectTensors}), repeats included, in no particular
 * order (objects are walked in insertion order: disposal needs no sort).
 */
function tensorsOf(value: unknown, owner: string | undefined, name: string): tf.Tensor[] {
  const found: tf.Tensor[] = [];
  if (pushTensorsFast(value, found)) return found;
  // A problem, or a symbol key: the walk with paths throws, or collects after all.
  found.length = 0;
  forEachLeaf(value as PyTree, (t) => found.push(t), { owner, name, others: 'skip', sorted: false });
  return found;
}

/**
 * Disposes every tensor in a tree or state. Accepts optimizer states: numbers and every other
 * value that is neither a tensor nor an array or plain object are skipped (a dispose helper
 * frees what it can see, and never stops halfway). A tensor that appears twice is disposed
 * once; one already disposed is left alone.
 *
 * @throws TreeStructureError, before disposing anything, for a cycle, nesting deeper than
 * 1,000 levels, or a tensor under a symbol key (which it could not see, so would leak).
 * @group Tree utilities
 */
export function treeDispose(value: unknown): void {
  for (const t of collectTensors(value, new Set(), 'treeDispose')) if (!t.isDisposed) t.dispose();
}

/**
 * `tf.keep` on every tensor of a params tree, a state or any mix of them (arrays, plain objects,
 * JS numbers, booleans and strings, which pass through), and returns `tree` itself. For use
 * inside `tf.tidy`, whose result types do not cover states: the kept tensors survive the tidy,
 * everything else it made is disposed.
 *
 * ```ts
 * const [updates, nextState] = tf.tidy(() => treeKeep(tx.update(grads, state, params)));
 * ```
 *
 * Every tensor is found before any is kept, so an error keeps nothing.
 *
 * @throws TypeError naming the path for a value no tree or state holds (a function, a class
 * instance such as a tfjs-layers weight), and TreeStructureError for a cycle, nesting deeper
 * than 1,000 levels or a tensor under a symbol key: in each case a tensor could be missed, and
 * disposed by the tidy.
 * @group Tree utilities
 */
export function treeKeep<T>(tree: T): T {
  const found: tf.Tensor[] = [];
  forEachLeaf(tree as PyTree, (t) => found.push(t), { owner: 'treeKeep', others: 'state', sorted: false });
  for (const t of found) tf.keep(t);
  return tree;
}

/**
 * Disposes exactly the tensors held by `oldValues` that `newValues` no longer hold, and returns
 * how many it disposed. Use it after a step, when the new parameters and state may share tensors
 * with the old ones:
 *
 * ```ts
 * const [updates, nextState] = tx.update(grads, state, params);
 * const nextParams = applyUpdates(params, updates);
 * disposeReplaced([params, state, updates, grads], [nextParams, nextState]);
 * ```
 *
 * Both arguments may be any mix of trees and states (arrays, plain objects, numbers); values
 * that are neither tensors nor containers are skipped, as {@link treeDispose} skips them.
 *
 * `oldValues` is walked as {@link treeDispose} walks it: a cycle, nesting deeper than 1,000
 * levels or a tensor under a symbol key is a `TreeStructureError`, thrown before anything is
 * disposed. `newValues` only says what to keep, so it never throws: a tree that no walk may map
 * is searched as far as it reaches (each container once, symbol keys included), so that the
 * usual cleanup after a failed step, `disposeReplaced(made, params)`, never replaces the step's
 * error with one about `params`, nor disposes a tensor `params` holds.
 * @group Training loop
 */
export function disposeReplaced(oldValues: unknown, newValues: unknown): number {
  const keep = tensorsToKeep(newValues);
  const old = tensorsOf(oldValues, 'disposeReplaced', 'oldValues');
  let disposed = 0;
  // A tensor met twice is disposed the first time (and then is disposed).
  for (const t of old) {
    if (!t.isDisposed && !keep.has(t)) {
      t.dispose();
      disposed++;
    }
  }
  return disposed;
}

/**
 * Every tensor reachable from `value` through arrays and plain objects. The fast walk serves
 * valid trees; anything else (a cycle, deep nesting, a symbol key) is searched without a limit:
 * iteratively, each container once, enumerable symbol keys included.
 */
function tensorsToKeep(value: unknown): Set<tf.Tensor> {
  const found: tf.Tensor[] = [];
  if (pushTensorsFast(value, found)) return new Set(found);
  const keep = new Set<tf.Tensor>();
  const seen = new Set<object>();
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isTensor(node)) keep.add(node);
    else if ((Array.isArray(node) || isPlainObject(node)) && !seen.has(node)) {
      seen.add(node);
      if (Array.isArray(node)) for (let i = 0; i < node.length; i++) pending.push(node[i]);
      else {
        for (const key of Object.keys(node)) pending.push(node[key]);
        for (const symbol of Object.getOwnPropertySymbols(node)) {
          if (Object.prototype.propertyIsEnumerable.call(node, symbol)) pending.push((node as Record<symbol, unknown>)[symbol]);
        }
      }
    }
  }
  return keep;
}
