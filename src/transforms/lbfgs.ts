import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, Updates } from '../types.js';
import { checkFloatTrees, mapFloatLeaves, missingParams, stateLike } from '../internal/leaves.js';
import { checkBoolean, checkInteger, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { readDot, readDots } from '../internal/dots.js';
import { tidy } from '../tree/tidy.js';
import { formatPath } from '../tree/walk.js';

// L-BFGS direction (Nocedal & Wright, Algorithms 7.4 and 7.5), in optax's step order: first
// the memory takes the newest curvature pair, then the incoming updates are preconditioned.
// The memory's vectors are tensor trees; every inner product and coefficient is a JS number.

/**
 * Options of {@link scaleByLbfgs} (and of `lbfgs`).
 * @group Transform options and states
 */
export interface ScaleByLbfgsOptions {
  /** Curvature pairs kept, a whole number >= 1. Default `10`. */
  memorySize?: number;
  /** Start the two-loop recursion from `gamma * I` (see {@link scaleByLbfgs}) instead of `I`. Default `true`. */
  scaleInitPrecond?: boolean;
}

/**
 * State of {@link scaleByLbfgs}.
 * @group Transform options and states
 */
export interface ScaleByLbfgsState {
  /** Updates done. */
  count: number;
  /** The parameters at the last update (zeros before the first). */
  params: Params;
  /** The updates (gradients) the last update received (zeros before the first). */
  updates: Updates;
  /**
   * `memorySize` slots of parameter differences `s_i = w_{i+1} - w_i`, a ring buffer: the pair
   * made at update `k` (k >= 1) sits in slot `(k - 1) % memorySize`. Empty slots hold zeros.
   */
  diffParams: Params[];
  /** The matching slots of update differences `y_i = u_{i+1} - u_i`. */
  diffUpdates: Updates[];
  /** The matching `rho_i = 1 / <y_i, s_i>` (0 for an empty slot or when `<y_i, s_i> = 0`). */
  weights: number[];
}

const LBFGS_KEYS = ['memorySize', 'scaleInitPrecond'];

/** The option values of {@link scaleByLbfgs}, checked, with defaults filled in. @internal */
export function lbfgsOptions(owner: string, options: ScaleByLbfgsOptions = {}): Required<ScaleByLbfgsOptions> {
  return {
    memorySize: checkInteger(owner, 'memorySize', options.memorySize ?? 10, 1),
    scaleInitPrecond: checkBoolean(owner, 'scaleInitPrecond', options.scaleInitPrecond ?? true),
  };
}

/**
 * Scales updates by the L-BFGS approximation of the inverse Hessian (Liu & Nocedal 1989; Nocedal
 * & Wright, "Numerical Optimization", Algorithms 7.4 and 7.5). Returns the direction `P_k u_k`
 * (not negated: follow it with `scale(-1)` or `scaleByLearningRate`, then a line search, as
 * `lbfgs` does). With `s_i = w_{i+1} - w_i` and `y_i = u_{i+1} - u_i` from the last
 * `memorySize` updates and `rho_i = 1 / <y_i, s_i>`, the two-loop recursion computes
 *
 *     q = u_k
 *     for i newest..oldest:  a_i = rho_i <s_i, q>;   q = q - a_i y_i
 *     r = gamma_k q
 *     for i oldest..newest:  b_i = rho_i <y_i, r>;   r = r + (a_i - b_i) s_i
 *     P_k u_k = r
 *
 * where `gamma_k = <s, y> / <y, y>` of the newest pair (1 if `<y, y> = 0`), and, on the first
 * update (no pair yet), `gamma_0 = min(1, 1 / ||u_0||)`, optax's heuristic that keeps the first
 * step inside the unit ball. With `scaleInitPrecond: false`, `gamma_k = 1`.
 *
 * The memory is updated **before** preconditioning, from `params` and the updates received, so
 * in a chain with a line search the pair is formed only from accepted steps. `update` needs
 * `params`. Defaults: `memorySize = 10`, `scaleInitPrecond = true`. State: `{ count, params,
 * updates, diffParams, diffUpdates, weights }`, the memory as `memorySize` tensor trees each
 * (one shared zero tree fills the empty slots) and the weights as JS numbers.
 *
 * Where it differs from optax, and why: the inner products and the coefficients `a_i`, `b_i`,
 * `rho_i`, `gamma_k` are float64 JS numbers (each product read back once: about `2m + 2` reads
 * per update) rather than device scalars; empty slots (weight 0) are skipped instead of
 * multiplied by zero; the memory is an array of trees rather than leaves stacked along a new
 * axis, so a new pair replaces one slot without copying the others.
 * @group Transforms
 */
export function scaleByLbfgs(options: ScaleByLbfgsOptions = {}): GradientTransformation<ScaleByLbfgsState> {
  const owner = ownerOr('scaleByLbfgs');
  checkOptions(owner, options, LBFGS_KEYS);
  const { memorySize, scaleInitPrecond } = lbfgsOptions(owner, options);
  return declareState<ScaleByLbfgsState>(
    owner,
    { count: 'count', params: 'tree', updates: 'tree', diffParams: 'tree', diffUpdates: 'tree', weights: 'any' },
    {
      init: (params) => {
        const zeros = stateLike(owner, params);
        const slots = Array.from({ length: memorySize }, () => zeros);
        return {
          count: 0,
          params: zeros,
          updates: zeros,
          diffParams: slots,
          diffUpdates: [...slots],
          weights: new Array<number>(memorySize).fill(0),
        };
      },
      update: (updates, state, params) => {
        if (params === undefined) throw missingParams(owner);
        checkMemory(owner, state, memorySize);
        checkFloatTrees(owner, ['updates', 'params', 'state.params', 'state.updates'], [updates, params, state.params, state.updates]);
        return tidy(() => {
          const k = state.count;
          const diffParams = [...state.diffParams];
          const diffUpdates = [...state.diffUpdates];
          const weights = [...state.weights];
          let gamma = 1;
          if (k > 0) {
            // 1. The newest curvature pair goes into the slot of update k - 1.
            const slot = (k - 1) % memorySize;
            const s = mapFloatLeaves(owner, ['params', 'state.params'], [params, state.params], (w, w0) => tf.sub(w, w0));
            const y = mapFloatLeaves(owner, ['updates', 'state.updates'], [updates, state.updates], (u, u0) => tf.sub(u, u0));
            const [ys, yy] = readDots([[y, s], [y, y]]).dots;
            diffParams[slot] = s;
            diffUpdates[slot] = y;
            weights[slot] = ys === 0 ? 0 : 1 / ys;
            if (scaleInitPrecond) gamma = yy > 0 ? ys / yy : 1;
          } else if (scaleInitPrecond) {
            gamma = Math.min(1, 1 / Math.sqrt(readDot(updates, updates)));
          }
          // 2. The two-loop recursion, newest pair first.
          const order: number[] = [];
          for (let j = 1; j <= memorySize; j++) {
            const slot = (((k - j) % memorySize) + memorySize) % memorySize;
            if (weights[slot] !== 0) order.push(slot);
          }
          const alphas: number[] = [];
          let q: Updates = updates;
          for (const slot of order) {
            const alpha = weights[slot] * readDot(diffParams[slot], q);
            alphas.push(alpha);
            q = replace(q, updates, addScaled(owner, q, -alpha, diffUpdates[slot]));
          }
          let r: Updates = replace(q, updates, scaleTree(owner, q, gamma));
          for (let j = order.length - 1; j >= 0; j--) {
            const slot = order[j];
            const beta = weights[slot] * readDot(diffUpdates[slot], r);
            r = replace(r, updates, addScaled(owner, r, alphas[j] - beta, diffParams[slot]));
          }
          const next: ScaleByLbfgsState = {
            count: k + 1,
            // Copies (sharing the buffers), so a variable assigned in place keeps its old value here.
            params: mapFloatLeaves(owner, ['params'], [params], (w) => tf.clone(w)),
            updates: mapFloatLeaves(owner, ['updates'], [updates], (u) => tf.clone(u)),
            diffParams,
            diffUpdates,
            weights,
          };
          return [r, next];
        }) as [typeof updates, ScaleByLbfgsState];
      },
    },
  );
}

/** `x + c * v`, leaf by leaf. */
function addScaled(owner: string, x: Updates, c: number, v: Updates): Updates {
  const cs = tf.scalar(c);
  const out = mapFloatLeaves(owner, ['updates', 'memory'], [x, v], (a, b) => tf.add(a, tf.mul(b, cs)));
  cs.dispose();
  return out;
}

/** `c * x`, leaf by leaf. */
function scaleTree(owner: string, x: Updates, c: number): Updates {
  const cs = tf.scalar(c);
  const out = mapFloatLeaves(owner, ['updates'], [x], (a) => tf.mul(a, cs));
  cs.dispose();
  return out;
}

/** Returns `next`, disposing `previous` if it is an intermediate (not the input `keep`). */
function replace(previous: Updates, keep: Updates, next: Updates): Updates {
  if (previous !== keep) tf.dispose(previous as tf.TensorContainer);
  return next;
}

/** Checks that the memory has `memorySize` slots (the tree checks come with the math). */
function checkMemory(owner: string, state: ScaleByLbfgsState, memorySize: number): void {
  for (const key of ['diffParams', 'diffUpdates', 'weights'] as const) {
    const value = state[key];
    if (!Array.isArray(value) || value.length !== memorySize) {
      throw new TypeError(`${owner}: ${formatPath([key], 'state')} must be an array of ${memorySize} entries (memorySize), got ${Array.isArray(value) ? `${value.length} entries` : typeof value}`);
    }
  }
  if (!state.weights.every((w) => typeof w === 'number')) {
    throw new TypeError(`${owner}: ${formatPath(['weights'], 'state')} must hold numbers`);
  }
}
