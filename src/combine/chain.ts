import { tidy } from '../tree/tidy.js';
import { chainLayout, declareState, declaredOwner, subState, type FieldKind } from '../internal/state.js';
import { checkTransformation } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { describeNode } from '../tree/walk.js';
import { disposeReplaced } from '../tree/memory.js';
import type { GradientTransformation, StateOf } from '../types.js';
import { recordOf, stepsOf, withRecord } from '../internal/record.js';
import { withFusedKernel } from '../kernels/fused.js';
import { chainStepParts } from '../kernels/step.js';

/**
 * The state of a chain: the array of its transformations' states, in order.
 * @group Wrappers and combinators
 */
export type ChainState<T extends readonly GradientTransformation<any>[]> = { [K in keyof T]: StateOf<T[K]> };

/**
 * Applies transformations one after the other: the updates out of one are the updates into the
 * next, and all see the same `params`. The state is the array of the inner states, in order:
 * `chain(clipByGlobalNorm(1), adam(1e-3))` has state `[{}, [adamState, lrState]]`.
 *
 * Intermediate updates are disposed; only the final updates and the new states are returned.
 * Before any inner update runs, the state is checked against the layouts the inner
 * transformations declare: a state that is not this chain's (another optimizer's, or params
 * passed in its place) is a `TypeError` naming its path, e.g. `chain: state[1][0] must be
 * {count, mu, nu}, got an object with keys {trace}; ...`.
 * @group Wrappers and combinators
 */
export function chain<T extends readonly GradientTransformation<any>[]>(
  ...transforms: T
): GradientTransformation<ChainState<T>> {
  // The optimizers are chains: a state that is not theirs names them, not `chain`.
  const owner = ownerOr('chain');
  transforms.forEach((t, i) => {
    if (t === null || typeof t !== 'object' || typeof t.init !== 'function' || typeof t.update !== 'function') {
      throw new TypeError(`${owner}: argument ${i} is not a gradient transformation ({ init, update })`);
    }
  });
  // The state is checked against the inner layouts before any inner update runs.
  const composite = declareState<ChainState<T>>(owner, chainLayout(transforms), {
    init: (params) => {
      const states: unknown[] = [];
      try {
        for (const t of transforms) states.push(t.init(params));
      } catch (err) {
        // A later transformation rejected the params: free what the earlier ones made.
        disposeReplaced(states, params);
        throw err;
      }
      return states as ChainState<T>;
    },
    update: (updates, state, params, extra) =>
      tidy(() => {
        let current = updates;
        const next = transforms.map((t, i) => {
          const [u, s] = t.update(current, state[i], params, extra);
          current = u;
          return s;
        });
        return [current, next];
      }) as [typeof updates, ChainState<T>],
  });
  return fuseChain<unknown[]>(
    transforms,
    composite as GradientTransformation<unknown[]>,
    (s, i) => s[i],
    (s, i, inner) => s.map((x, k) => (k === i ? inner : x)),
  ) as GradientTransformation<ChainState<T>>;
}

/**
 * The state of a {@link namedChain}: an object keyed by the entries' names.
 * @group Wrappers and combinators
 */
export type NamedChainState<E extends readonly (readonly [string, GradientTransformation<any>])[]> = {
  [K in E[number] as K[0]]: StateOf<K[1]>;
};

/**
 * {@link chain} with names: `namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(1e-3)])`
 * applies the transformations in the order given, and its state is an object keyed by the
 * names, `{ clip: {}, opt: adamwState }`, so a part of it is found by name
 * (`getHyperparam(state, 'opt.learningRate')`) rather than by position. Names must be distinct,
 * non-empty and free of dots (dots separate the parts of a path). It is fused exactly when the
 * same chain without names is (`kernelPath` says so).
 * @group Wrappers and combinators
 */
export function namedChain<const E extends readonly (readonly [string, GradientTransformation<any>])[]>(
  ...entries: E
): GradientTransformation<NamedChainState<E>> {
  const owner = 'namedChain';
  const names: string[] = [];
  entries.forEach((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
      throw new TypeError(`${owner}: argument ${i} must be a [name, transformation] pair, got ${describeNode(entry)}`);
    }
    const name = entry[0];
    if (name === '' || name.includes('.')) {
      throw new TypeError(`${owner}: the name of argument ${i} must be non-empty and have no dots, got ${JSON.stringify(name)}`);
    }
    if (names.includes(name)) throw new TypeError(`${owner}: the name ${JSON.stringify(name)} is used twice`);
    names.push(name);
  });
  const transforms = entries.map(([, t]) => t);
  transforms.forEach((t, i) => checkTransformation(owner, t, `a gradient transformation as the second item of argument ${i}`));
  const layout: Record<string, FieldKind> = {};
  names.forEach((name, i) => (layout[name] = subState(transforms[i])));
  type S = Record<string, unknown>;
  const composite = declareState<S>(owner, layout, {
    init: (params) => {
      const state: S = {};
      try {
        names.forEach((name, i) => (state[name] = transforms[i].init(params)));
      } catch (err) {
        disposeReplaced(state, params);
        throw err;
      }
      return state;
    },
    update: (updates, state, params, extra) =>
      tidy(() => {
        let current = updates;
        const next: S = {};
        names.forEach((name, i) => {
          const [u, s] = transforms[i].update(current, state[name], params, extra);
          current = u;
          next[name] = s;
        });
        return [current, next];
      }) as [typeof updates, S],
  });
  const fused = fuseChain<S>(
    transforms,
    composite,
    (s, i) => s[names[i]],
    (s, i, inner) => ({ ...s, [names[i]]: inner }),
  );
  return fused as unknown as GradientTransformation<NamedChainState<E>>;
}

/**
 * Gives a chain the fused kernel of its element steps when every part is element-wise (a
 * global-norm clip may come first: `chain(clipByGlobalNorm(1), adamw(lr))`); other chains run
 * their parts one by one. The steps are recorded either way, so enclosing chains compose them.
 * `get` and `set` read and replace the state of the transformation at a position.
 */
function fuseChain<S>(
  transforms: readonly GradientTransformation<any>[],
  composite: GradientTransformation<S>,
  get: (state: S, i: number) => unknown,
  set: (state: S, i: number, inner: unknown) => S,
): GradientTransformation<S> {
  const parts = chainStepParts<S>(transforms.map((t) => stepsOf(t)), get, set);
  if (parts === undefined) return composite;
  withRecord(composite, { steps: parts });
  if (parts.parts.length === 0) return composite;
  // The kernel's messages name the transformation whose math it runs: the one optimizer behind a
  // clip (`chain(clipByGlobalNorm(1), adamw(lr))` is adamw's kernel), else the chain.
  const withParts = transforms.filter((t) => (stepsOf(t)?.parts.length ?? 0) > 0);
  const owner = (withParts.length === 1 ? recordOf(withParts[0]).fused?.owner : undefined) ?? declaredOwner(composite) ?? 'chain';
  return withFusedKernel(composite, owner, parts.flatSlots === true);
}
