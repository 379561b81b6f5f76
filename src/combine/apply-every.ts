import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import type { GradientTransformation, Params } from '../types.js';
import { flattenFloatTrees, stateLike } from '../internal/leaves.js';
import { checkInteger } from '../internal/options.js';
import { declareState } from '../internal/state.js';

/**
 * State of {@link applyEvery}.
 * @group Wrappers and combinators
 */
export interface ApplyEveryState {
  /** Position in the current cycle of `k` updates: 0 to `k - 1` (optax's `count`, kept mod `k`). */
  count: number;
  /** The sum of the updates received since the cycle began (optax's `grad_acc`). */
  gradAcc: Params;
}

/**
 * Sums the incoming updates over cycles of `k` steps and emits the sum on the last step of each
 * cycle, zeros on the others (optax's `apply_every`). With `c = count` (0 to `k - 1`):
 *
 *     gradAcc = g                      (c = 0: a new cycle)
 *     gradAcc = gradAcc + g            (otherwise)
 *     u = gradAcc if c = k - 1, else 0
 *     count = (c + 1) mod k
 *
 * `k = 1` (the default) passes the updates through. Placed after an optimizer in a chain,
 * `chain(adam(lr), applyEvery(4))` applies four Adam steps' worth of updates every fourth step;
 * the optimizer before it still updates its own state at every step, so this is not the same as
 * a four times larger batch (use `multiSteps` for that).
 *
 * Where we differ from optax, and why: optax computes `0 * gradAcc + g` and `0 * gradAcc` with
 * multiplications, so a NaN or infinity once in the accumulator leaks into the next cycle and
 * into the zero updates; here a new cycle starts from `g` itself and the off-cycle updates are
 * true zeros. The accumulator never holds the caller's gradient tensors (a new cycle stores a
 * `tf.clone`, which shares the buffer and copies nothing), so disposing the gradients after a
 * step cannot break the state.
 *
 * State: `{ count, gradAcc }`, `gradAcc` starting at zero.
 * @group Wrappers and combinators
 */
export function applyEvery(k = 1): GradientTransformation<ApplyEveryState> {
  const owner = 'applyEvery';
  checkInteger(owner, 'k', k, 1);
  return declareState(owner, { count: 'count', gradAcc: 'tree' }, {
    init: (params) => ({ count: 0, gradAcc: stateLike(owner, params) }),
    update: (updates, state) => {
      const [[gs, accs], def] = flattenFloatTrees(owner, ['updates', 'state.gradAcc'], [updates, state.gradAcc]);
      const c = state.count % k;
      return tidy(() => {
        const acc = gs.map((g, j) => (c === 0 ? tf.clone(g) : tf.add(accs[j], g)));
        const out = c === k - 1 ? acc : acc.map((a) => tf.zerosLike(a));
        return [def.unflatten(out), { count: (c + 1) % k, gradAcc: def.unflatten(acc) }];
      }) as [typeof updates, ApplyEveryState];
    },
  });
}
