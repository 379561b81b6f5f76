import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { checkBoolean, checkOptions } from '../internal/options.js';
import { checkStateDtype, type StateDtype } from '../internal/state-dtype.js';
import { trace, type TraceState } from '../transforms/momentum.js';
import { identity, scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';

/**
 * Options of {@link sgd}.
 * @group Optimizer options and states
 */
export interface SgdOptions {
  /** Momentum coefficient in [0, 1]; omit it for plain SGD. */
  momentum?: number;
  /** Nesterov momentum (needs `momentum`). Default `false`. */
  nesterov?: boolean;
  /**
   * How the momentum buffer is stored (needs `momentum`): `'float32'` (the default),
   * `'bfloat16'` or `'int8'`; see `scaleByAdam`'s `stateDtype`.
   */
  stateDtype?: StateDtype;
}

/**
 * State of {@link sgd}: `[momentum state (or {} without momentum), learning-rate state]`.
 * @group Optimizer options and states
 */
export type SgdState = [TraceState | EmptyState, ScaleByLearningRateState];

/**
 * Stochastic gradient descent, with optional heavy-ball or Nesterov momentum (Sutskever et al.
 * 2013):
 *
 *     sgd(lr)                                = chain(identity(), scaleByLearningRate(lr))
 *     sgd(lr, { momentum, nesterov })        = chain(trace({ decay: momentum, nesterov }), scaleByLearningRate(lr))
 *
 * so `u = -lr * g`, or with momentum `t = g + momentum * t; u = -lr * t` (Nesterov:
 * `u = -lr * (g + momentum * t)`), the convention of `tf.train.sgd` / `tf.train.momentum` and
 * PyTorch (no dampening). `nesterov` or `stateDtype` without `momentum` is an error rather than
 * ignored.
 * @group Optimizers
 * @function
 */
export const sgd = /* @__PURE__ */ optimizerAlias(function sgd(learningRate: ScalarOrSchedule, options: SgdOptions = {}): GradientTransformation<SgdState> {
  const owner = 'sgd';
  checkOptions(owner, options, ['momentum', 'nesterov', 'stateDtype']);
  const nesterov = checkBoolean(owner, 'nesterov', options.nesterov ?? false);
  if (nesterov && options.momentum === undefined) {
    throw new TypeError(`sgd: option 'nesterov' needs 'momentum' (e.g. { momentum: 0.9, nesterov: true })`);
  }
  const stateDtype = checkStateDtype(owner, options.stateDtype);
  if (options.stateDtype !== undefined && options.momentum === undefined) {
    throw new TypeError(`sgd: option 'stateDtype' needs 'momentum' (plain SGD keeps no state), e.g. { momentum: 0.9, stateDtype: '${stateDtype}' }`);
  }
  const { momentum } = options;
  const chained = asOwner(
    owner,
    () => chain(momentum === undefined ? identity() : trace({ decay: momentum, nesterov, stateDtype }), scaleByLearningRate(learningRate)),
    { rename: { decay: 'momentum' } }, // trace calls the momentum 'decay'
  ) as GradientTransformation<SgdState>;
  // Without momentum nothing in the chain builds per-leaf state; check the params all the same,
  // so that sgd, like every optimizer, rejects parameters it cannot update at init.
  return {
    ...chained,
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return chained.init(params);
    },
  };
});

