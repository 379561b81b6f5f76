import * as tf from '@tensorflow/tfjs-core';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../tree/tidy.js';
import type { GradientTransformation, Params, StateOf } from '../types.js';
import { checkFloatTrees, mapFloatLeavesN, missingParams } from '../internal/leaves.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions, checkTransformation } from '../internal/options.js';
import { declareState, subState } from '../internal/state.js';
import { treeMap } from '../tree/structure.js';

/**
 * State of {@link lookahead}.
 * @group Wrappers and combinators
 */
export interface LookaheadState<S = unknown> {
  /** Updates done so far. */
  count: number;
  /** The slow weights: the parameters as of the last synchronization (copies at `init`). */
  slow: Params;
  /** The state of the fast optimizer. */
  inner: S;
}

/**
 * Options of {@link lookahead}.
 * @group Wrappers and combinators
 */
export interface LookaheadOptions {
  /** Fast steps per synchronization (the paper's `k`), a whole number >= 1. Default `6`. */
  syncPeriod?: number;
  /** How far the slow weights move towards the fast ones at a synchronization (the paper's `alpha`), in [0, 1]. Default `0.5`. */
  slowStepSize?: number;
  /** Restart the fast optimizer's state (its `init` at the synchronized parameters) after each synchronization. Default `false`. */
  resetState?: boolean;
}

/**
 * Lookahead (Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back",
 * arXiv:1907.08610): the parameters take `syncPeriod` steps of the `fast` optimizer, then move
 * back part of the way towards where they were at the last synchronization, the slow weights:
 *
 *     u = fast update                     (every step)
 *     on every syncPeriod-th step (count + 1 a multiple of syncPeriod), with p the params:
 *       d = p + u - slow                  (the last fast weights minus the slow weights)
 *       slow = slow + slowStepSize * d
 *       u = u - (1 - slowStepSize) * d    (so that p + u = the new slow weights)
 *
 * The parameters the caller holds are the fast weights and the slow weights live in the state:
 * after a synchronization step, the updated parameters equal the new slow weights (to float32
 * rounding of the addition; with `slowStepSize: 1` the update is the fast one unchanged, so
 * `lookahead(sgd(lr), { syncPeriod: 1, slowStepSize: 1 })` equals `sgd(lr)` bit for bit).
 * `update` needs `params`. With `resetState`, the fast optimizer's state is replaced after each
 * synchronization by its `init` at the synchronized parameters: moments restart at zero and
 * its step count at 0 (so a learning-rate schedule inside `fast` restarts too, as in optax).
 *
 * Defaults: `syncPeriod = 6`, `slowStepSize = 0.5`, `resetState = false`.
 * State: `{ count, slow, inner }`: `slow` starts as copies of the parameters (new tensors, so a
 * step that disposes the replaced parameters leaves them alone), `inner` is `fast`'s state.
 *
 * Where we differ from optax, and why: optax takes and returns `LookaheadParams` (a fast and a
 * slow tree in the parameters); here the parameters stay an ordinary tree and the slow copy is
 * the wrapper's own state, so `lookahead(...)` drops into any training loop, `trainStep` or
 * `toTfOptimizer` unchanged. To evaluate with the slow weights between synchronizations, read
 * `state.slow`. optax counts `steps_since_sync` mod `syncPeriod`; `count` here is the total, as
 * everywhere in this library. optax's `reset_state` re-initializes the fast state from the
 * parameters before the step; here from the synchronized ones, which matters only for an
 * optimizer whose state depends on the parameters' values.
 * @group Wrappers and combinators
 */
export function lookahead<T extends GradientTransformation<any>>(
  fast: T,
  options: LookaheadOptions = {},
): GradientTransformation<LookaheadState<StateOf<T>>> {
  const owner = 'lookahead';
  checkTransformation(owner, fast, 'a fast optimizer');
  checkOptions(owner, options, ['syncPeriod', 'slowStepSize', 'resetState']);
  const syncPeriod = checkInteger(owner, 'syncPeriod', options.syncPeriod ?? 6, 1);
  const alpha = checkNumber(owner, 'slowStepSize', options.slowStepSize ?? 0.5, { min: 0, max: 1 });
  const resetState = checkBoolean(owner, 'resetState', options.resetState ?? false);
  type State = LookaheadState<StateOf<T>>;
  return declareState<State>(owner, { count: 'count', slow: 'tree', inner: subState(fast) }, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      const inner = fast.init(params);
      return { count: 0, slow: treeMap((p) => tf.clone(p), params), inner };
    },
    update: (updates, state, params, extra) => {
      if (params === undefined || params === null) throw missingParams(owner);
      checkFloatTrees(owner, ['updates', 'params', 'state.slow'], [updates, params, state.slow]);
      const count = state.count + 1;
      const sync = count % syncPeriod === 0;
      return tidy(() => {
        const [u, inner] = fast.update(updates, state.inner, params, extra);
        if (!sync) return [u, { count, slow: state.slow, inner }];
        let out: Params;
        let slow: Params;
        if (alpha === 1) {
          // The fast weights become the slow ones: the update stays the fast one.
          out = u;
          slow = treeMap((p, x) => tf.add(p, x), params, u);
        } else {
          const a = tf.scalar(alpha);
          const b = tf.scalar(1 - alpha);
          [out, slow] = mapFloatLeavesN(owner, ['updates', 'params', 'state.slow'], [u, params, state.slow], 2, (x, p, w) => {
            const s = new Scratch();
            const d = s.keep(s.sub(s.add(p, x), w));
            const next = alpha === 0 ? w : s.add(w, s.mul(a, d));
            return [s.sub(x, s.mul(b, d)), next];
          });
        }
        // A discarded fast state is freed by the tidy (what it shares with the inputs is not its to free).
        return [out, { count, slow, inner: resetState ? fast.init(slow) : inner }];
      }) as [typeof updates, State];
    },
  });
}
