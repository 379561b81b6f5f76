import { alignedLeaves, checkLabelTree, labelTreeFor, MASK, mergeLeaves, resolveLabels, selectLeaves } from '../internal/labels.js';
import { checkTransformation } from '../internal/options.js';
import { asOwner, ownerOr } from '../internal/owner.js';
import { declareState, subState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import type { Mask } from '../transforms/decay.js';
import { setToZero } from '../transforms/zero.js';
import { describeNode } from '../tree/walk.js';
import type { ElementStep } from '../internal/element-step.js';
import { elementStepOf, withElementStep } from '../internal/record.js';
import type { EmptyState, ExtraArgs, GradientTransformation, Params, StateOf, Updates } from '../types.js';

/**
 * State of {@link masked}: the inner transformation's state, kept for the selected leaves only.
 * @group Wrappers and combinators
 */
export interface MaskedState<S = unknown> {
  /**
   * The inner transformation's state, as its `init` made it for the params with `null` at every
   * leaf the mask skips: per-leaf tensors exist only for the selected leaves.
   */
  inner: S;
}

/**
 * Applies `inner` to the leaves the mask selects and passes the others through unchanged (the
 * very same tensors), as optax's `masked`:
 *
 *     u = inner(g)    for the leaves where the mask is true
 *     u = g           for the others
 *
 *     const tx = chain(clipByGlobalNorm(1), masked(adamw(1e-3), (p) => treeMap((x) => x.rank > 1, p)));
 *
 * `mask` is a tree of booleans with the structure of the parameters, or a prefix of it (a
 * boolean at a subtree selects or skips all its leaves; a lone `true` selects everything), or a
 * function from the parameters to such a tree. `init` calls a mask function with the params;
 * `update` with the params when it is given them and with the updates otherwise (they have the
 * same structure), so `masked` needs no params unless `inner` does. optax calls it with the
 * updates in `update` always; the two differ only for a function that reads leaf values rather
 * than the structure, names or shapes, and then the params are what the type promises.
 *
 * `inner` sees trees of the parameters' structure with `null` (an empty subtree, optax's
 * `MaskedNode`) at every leaf the mask skips: the updates, the params, and in `init` the params,
 * so its per-leaf state exists only for the selected leaves. `extra` is passed to it unchanged
 * (optax's `mask_compatible_extra_args` is not offered: a tree in `extra`, such as `extra.grad`,
 * keeps all its leaves).
 *
 * State: `{ inner }`, the inner state (so `getHyperparam(state, 'learningRate')` finds an inner
 * learning rate). A mask that does not fit the params is a `TreeStructureError` naming the path,
 * thrown before anything is computed.
 * @group Wrappers and combinators
 */
export function masked<T extends GradientTransformation<any>>(inner: T, mask: Mask): GradientTransformation<MaskedState<StateOf<T>>> {
  type S = StateOf<T>;
  const owner = ownerOr('masked');
  checkTransformation(owner, inner);
  checkMask(owner, mask);
  const tx = declareState<MaskedState<S>>(owner, { inner: subState(inner) }, {
    init: (params) => {
      const [[leaves], def] = alignedLeaves(owner, ['params'], [params]);
      const selected = resolveLabels(owner, MASK, labelTreeFor(owner, MASK, mask, params), params, 'params');
      return { inner: inner.init(selectLeaves(def, leaves, selected, true)) };
    },
    update: <U extends Updates>(updates: U, state: MaskedState<S>, params?: Params, extra?: ExtraArgs) => {
      const withParams = params !== undefined;
      const [[u, p], def] = alignedLeaves(owner, ['updates', 'params'], withParams ? [updates, params] : [updates]);
      const target = withParams ? params : updates;
      const selected = resolveLabels(owner, MASK, labelTreeFor(owner, MASK, mask, target), target, withParams ? 'params' : 'updates');
      return tidy(() => {
        const given = selectLeaves(def, u, selected, true);
        const [result, innerState] = inner.update(given, state.inner, withParams ? selectLeaves(def, p, selected, true) : undefined, extra);
        const out = u.slice();
        mergeLeaves(owner, 'the inner transformation', out, selected, true, given, result);
        return [def.unflatten(out) as U, { inner: innerState }];
      }) as [U, MaskedState<S>];
    },
  });
  const step = maskedStep(owner, inner, mask);
  return step === undefined ? tx : withElementStep(tx, step);
}

/**
 * The element step of `masked(inner, mask)` when `inner` is a stateless element step that reads
 * the parameters' norm (the trust ratio, as `lars` masks it): the inner step on the leaves the
 * mask selects, the update passed through on the others, which is what the composite path
 * computes. Both read the parameters, against which the mask is resolved. Other inner steps
 * keep the composite path (their state, or a mask resolved against the updates, would differ).
 */
function maskedStep<S>(owner: string, inner: GradientTransformation<S>, mask: Mask): ElementStep<MaskedState<S>> | undefined {
  const step = elementStepOf(inner);
  if (step === undefined || step.slotNames.length > 0 || !step.leafNorms?.includes('params') || step.leafMask !== undefined) return undefined;
  return {
    owner,
    slotNames: [],
    slots: () => [],
    scalars: (s) => step.scalars(s.inner),
    usesParams: () => true,
    leafNorms: step.leafNorms,
    ...(step.variant === undefined ? {} : { variant: (s: MaskedState<S>) => step.variant!(s.inner) }),
    leafMask: (params) => resolveLabels(owner, MASK, labelTreeFor(owner, MASK, mask, params), params),
    emit: (ops, x) => (x.masked ? { u: x.u, slots: [] } : step.emit(ops, x)),
    next: (s) => {
      const build = step.next(s.inner);
      return () => ({ inner: build([]) });
    },
  };
}

/**
 * Sets the updates of the leaves the mask selects to zero and passes the others through
 * unchanged, which holds the selected parameters fixed: optax's `freeze(mask)`, which is
 * `masked(setToZero(), mask)`. `mask` is as for {@link masked} (a lone `true` freezes
 * everything, `false` nothing). The zeros are new tensors.
 *
 * State: `{}` (optax's is `MaskedState(EmptyState)`, `{ inner: {} }` here; there is nothing to
 * keep, so the state is the plain empty one).
 * @group Wrappers and combinators
 */
export function freeze(mask: Mask): GradientTransformation<EmptyState> {
  const owner = 'freeze';
  const zeroed = asOwner(owner, () => masked(setToZero(), mask));
  const empty: MaskedState<EmptyState> = { inner: {} };
  return declareState<EmptyState>(owner, {}, {
    init: (params) => {
      zeroed.init(params);
      return {};
    },
    update: (updates, state, params, extra) => [zeroed.update(updates, empty, params, extra)[0], state],
  });
}

/** Checks a mask argument: a function, or a tree of booleans (not a missing one). */
function checkMask(owner: string, mask: unknown): void {
  if (typeof mask === 'function') return;
  if (mask === null || mask === undefined) {
    throw new TypeError(`${owner}: expected a mask (a tree of booleans, or a function from the params to one), got ${describeNode(mask)}`);
  }
  checkLabelTree(owner, MASK, mask);
}
