import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../internal/tidy.js';
import type { GradientTransformation, StateOf } from '../types.js';

/** The state of a chain: the array of its transformations' states, in order. */
export type ChainState<T extends readonly GradientTransformation<any>[]> = { [K in keyof T]: StateOf<T[K]> };

/**
 * Applies transformations one after the other: the updates out of one are the updates into the
 * next, and all see the same `params`. The state is the array of the inner states, in order:
 * `chain(clipByGlobalNorm(1), adam(1e-3))` has state `[{}, [adamState, lrState]]`.
 *
 * Intermediate updates are disposed; only the final updates and the new states are returned.
 */
export function chain<T extends readonly GradientTransformation<any>[]>(
  ...transforms: T
): GradientTransformation<ChainState<T>> {
  transforms.forEach((t, i) => {
    if (t === null || typeof t !== 'object' || typeof t.init !== 'function' || typeof t.update !== 'function') {
      throw new TypeError(`chain: argument ${i} is not a gradient transformation ({ init, update })`);
    }
  });
  return {
    init: (params) => transforms.map((t) => t.init(params)) as ChainState<T>,
    update: (updates, state, params) => {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        throw new TypeError(
          `chain: state must be the array of ${transforms.length} inner states made by this chain's init, ` +
            `got ${Array.isArray(state) ? `an array of length ${state.length}` : typeof state}`,
        );
      }
      return tidy(() => {
        let current = updates;
        const next = transforms.map((t, i) => {
          const [u, s] = t.update(current, state[i], params);
          current = u;
          return s;
        });
        return [current, next];
      }) as [typeof updates, ChainState<T>];
    },
  };
}
