import { optimizerAlias } from '../internal/aliases.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chainFor } from '../combine/chain.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { checkBoolean, checkOptions } from '../internal/options.js';
import { traceFor, type TraceState } from '../transforms/momentum.js';
import { identity, learningRateWithOwner, type ScaleByLearningRateState } from '../transforms/scale.js';
import { HyperRate } from '../internal/hyper.js';

/**
 * Options of {@link sgd}.
 * @group Optimizer options and states
 */
export interface SgdOptions {
  /** Momentum coefficient in [0, 1]; omit it for plain SGD. */
  momentum?: number;
  /** Nesterov momentum (needs `momentum`). Default `false`. */
  nesterov?: boolean;
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
 * PyTorch (no dampening). `nesterov` without `momentum` is an error rather than ignored.
 * @group Optimizers
 * @function
 */
export const sgd = /* @__PURE__ */ optimizerAlias(function sgd(learningRate: ScalarOrSchedule, options: SgdOptions = {}): GradientTransformation<SgdState> {
  const owner = 'sgd';
  checkOptions(owner, options, ['momentum', 'nesterov']);
  const nesterov = checkBoolean(owner, 'nesterov', options.nesterov ?? false);
  if (nesterov && options.momentum === undefined) {
    throw new TypeError(`sgd: option 'nesterov' needs 'momentum' (e.g. { momentum: 0.9, nesterov: true })`);
  }
  const rate = new HyperRate(owner, 'learningRate', learningRate);
  const lr = learningRateWithOwner(owner, rate);
  const direction: GradientTransformation<TraceState | EmptyState> =
    options.momentum === undefined
      ? (identity() as GradientTransformation<TraceState | EmptyState>)
      : (traceFor(owner, { decay: options.momentum, nesterov }, 'momentum') as GradientTransformation<TraceState | EmptyState>);
  const chained = chainFor(owner, direction, lr) as GradientTransformation<SgdState>;
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

