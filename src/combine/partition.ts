import { alignedLeaves, checkLabelTree, mergeLeaves, resolveLabels, selectLeaves, type LabelEntry, type LabelKind } from '../internal/labels.js';
import { checkTransformation } from '../internal/options.js';
import { declareState, subStates } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { disposeReplaced } from '../tree/memory.js';
import { describeNode, formatPath, isPlainObject } from '../tree/walk.js';
import type { ExtraArgs, GradientTransformation, Params, PyTree, StateOf, Updates } from '../types.js';

/**
 * The label of each parameter for {@link partition}: a tree of strings with the structure of the
 * parameters, or a prefix of it (a string at a subtree labels all its leaves), or a function from
 * the parameters to such a tree. Declared as a method so that a function typed for your own
 * parameter type is accepted.
 * @group Wrappers and combinators
 */
export type Labels =
  | PyTree<string>
  | {
      /** Gives the label tree for these parameters (called by `init`, and by `update` with the params, or the updates when no params are given). */
      labels(params: Params): PyTree<string>;
    }['labels'];

/**
 * State of {@link partition}: each label's transformation's state, under the label.
 * @group Wrappers and combinators
 */
export interface PartitionState<S extends Record<string, unknown> = Record<string, unknown>> {
  /**
   * Each label's transformation's state, under the label (`{ adam: ..., sgd: ... }`), each made
   * by its `init` for the params with `null` at the leaves of other labels.
   */
  inner: S;
}

/**
 * The inner states of a partition of `T`, by label.
 * @group Wrappers and combinators
 */
export type PartitionStates<T extends Record<string, GradientTransformation<any>>> = { [K in keyof T]: StateOf<T[K]> };

const LABELS: LabelKind<string> = {
  name: 'labels',
  word: 'a label (a string)',
  is: (value): value is string => typeof value === 'string',
};

/**
 * Applies a different transformation to each group of parameters: every leaf goes through the
 * transformation of its label (optax's `partition`, formerly `multi_transform`).
 *
 *     const tx = partition({ kernels: adamw(1e-3), biases: sgd(1e-2) }, { dense: { kernel: 'kernels', bias: 'biases' } });
 *     getHyperparam(state, 'kernels.learningRate');   // adamw's rate
 *
 * `labels` is a tree of strings or a function of the parameters (see {@link Labels}); `init`
 * calls a function with the params, `update` with the params when it is given them and with the
 * updates otherwise (optax: with the updates always; they differ only for a function that reads
 * leaf values). Each transformation sees trees of the parameters' structure with `null` (an
 * empty subtree) at the other labels' leaves, for the updates, the params and in `init`, so its
 * per-leaf state exists only for its own leaves; `extra` is passed to each unchanged. To leave
 * some parameters untouched, give them a label whose transformation is `setToZero()`.
 *
 * Errors, thrown before anything is computed: a label with no transformation is an `Error`
 * naming it and where it stands (at construction for a labels tree), and so is a transformation
 * that no parameter is labelled for (optax lets it run on no leaves; here it is most likely a
 * misspelt label); labels that do not fit the params are a `TreeStructureError` naming the path.
 * Labels are strings, the keys of `transforms` (optax takes any hashable value).
 *
 * State: `{ inner: { [label]: state } }`, so a dotted path through a label picks one
 * transformation's hyperparameter: `getHyperparam(state, 'kernels.learningRate')`.
 * @group Wrappers and combinators
 */
export function partition<T extends Record<string, GradientTransformation<any>>>(
  transforms: T,
  labels: Labels,
): GradientTransformation<PartitionState<PartitionStates<T>>> {
  const owner = 'partition';
  if (!isPlainObject(transforms) || Object.keys(transforms).length === 0) {
    throw new TypeError(`${owner}: expected an object of transformations by label ({ label: transformation, ... }), got ${describeNode(transforms)}`);
  }
  const names = Object.keys(transforms);
  for (const name of names) checkTransformation(owner, transforms[name], `a gradient transformation for label '${name}'`);
  const known = (entries: LabelEntry<string>[]): void => {
    const unknown = entries.find((e) => !Object.prototype.hasOwnProperty.call(transforms, e.label));
    if (unknown !== undefined) {
      throw new Error(
        `${owner}: ${formatPath(unknown.path, 'labels')} is the label '${unknown.label}', which has no transformation ` +
          `(the labels with one are: ${names.map((n) => `'${n}'`).join(', ')})`,
      );
    }
  };
  if (typeof labels !== 'function') {
    if (labels === null || labels === undefined) {
      throw new TypeError(`${owner}: expected labels (a tree of strings, or a function from the params to one), got ${describeNode(labels)}`);
    }
    known(checkLabelTree(owner, LABELS, labels));
  }
  /** The label of each leaf of `target`, after every check. */
  const labelsOf = (target: PyTree, targetName: string): string[] => {
    let tree = labels as PyTree<string>;
    if (typeof labels === 'function') {
      tree = labels(target);
      known(checkLabelTree(owner, LABELS, tree));
    }
    const perLeaf = resolveLabels(owner, LABELS, tree, target, targetName);
    const used = new Set(perLeaf);
    const idle = names.find((n) => !used.has(n));
    if (idle !== undefined) {
      throw new Error(
        `${owner}: no leaf of the ${targetName} has the label '${idle}', so its transformation would get no leaves; ` +
          `label some parameters '${idle}' or remove it`,
      );
    }
    return perLeaf;
  };
  type S = PartitionState<PartitionStates<T>>;
  return declareState<S>(owner, { inner: subStates(transforms) }, {
    init: (params) => {
      const [[leaves], def] = alignedLeaves(owner, ['params'], [params]);
      const perLeaf = labelsOf(params, 'params');
      const states: Record<string, unknown> = {};
      try {
        for (const name of names) states[name] = transforms[name].init(selectLeaves(def, leaves, perLeaf, name));
      } catch (err) {
        // A later transformation rejected its params: free what the earlier ones made.
        disposeReplaced(states, params);
        throw err;
      }
      return { inner: states as PartitionStates<T> };
    },
    update: <U extends Updates>(updates: U, state: S, params?: Params, extra?: ExtraArgs) => {
      const withParams = params !== undefined;
      const [[u, p], def] = alignedLeaves(owner, ['updates', 'params'], withParams ? [updates, params] : [updates]);
      const perLeaf = labelsOf(withParams ? params : updates, withParams ? 'params' : 'updates');
      return tidy(() => {
        const out = u.slice();
        const next: Record<string, unknown> = {};
        for (const name of names) {
          const given = selectLeaves(def, u, perLeaf, name);
          const innerParams = withParams ? selectLeaves(def, p, perLeaf, name) : undefined;
          const [result, innerState] = transforms[name].update(given, state.inner[name], innerParams, extra);
          mergeLeaves(owner, `the transformation for '${name}'`, out, perLeaf, name, given, result);
          next[name] = innerState;
        }
        return [def.unflatten(out) as U, { inner: next as PartitionStates<T> }];
      }) as [U, S];
    },
  });
}

/**
 * optax's former name for {@link partition}: the very same function.
 * @group Wrappers and combinators
 * @function
 */
export const multiTransform = partition;
