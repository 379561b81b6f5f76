import { tidy } from '../internal/tidy.js';
import { chainLayout, declareState } from '../internal/state.js';
import { disposeReplaced } from '../tree/memory.js';
import type { GradientTransformation, StateOf } from '../types.js';
import { withFusedKernel } from '../kernels/fused.js';
import { liftSpec } from '../kernels/lift.js';
import { CLIP_NORM, fusedSpecOf, type MaybeFused } from '../kernels/spec.js';

/** The state of a chain: the array of its transformations' states, in order. */
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
 */
export function chain<T extends readonly GradientTransformation<any>[]>(
  ...transforms: T
): GradientTransformation<ChainState<T>> {
  return chainFor('chain', ...transforms);
}

/**
 * {@link chain} with the caller's name in error messages: the optimizers are chains, and a state
 * that is not theirs should name them, not `chain`. @internal
 */
export function chainFor<T extends readonly GradientTransformation<any>[]>(
  owner: string,
  ...transforms: T
): GradientTransformation<ChainState<T>> {
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
  return fuseChain(transforms, composite as GradientTransformation<unknown[]>) as GradientTransformation<ChainState<T>>;
}

/**
 * Gives a chain a fused kernel when it is one fusable optimizer, optionally behind
 * `clipByGlobalNorm` (the common `chain(clipByGlobalNorm(1), adamw(lr))`); other chains run
 * their parts one by one.
 */
function fuseChain<S extends unknown[]>(
  transforms: readonly GradientTransformation<any>[],
  composite: GradientTransformation<S>,
): GradientTransformation<S> {
  const last = transforms.length - 1;
  const spec = last >= 0 ? fusedSpecOf(transforms[last]) : undefined;
  if (!spec) return composite;
  const clipNorm = last === 1 ? (transforms[0] as MaybeFused<unknown>)[CLIP_NORM] : undefined;
  if (last > 1 || (last === 1 && (clipNorm === undefined || spec.clipNorm !== undefined))) return composite;
  const lifted = liftSpec<unknown, S>(
    spec,
    (s) => s[last],
    (s, inner) => s.map((x, i) => (i === last ? inner : x)) as S,
    clipNorm,
  );
  return withFusedKernel(composite, lifted);
}
