import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { checkBoolean, checkRate, checkRequired } from '../internal/options.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { trace, type TraceState } from '../transforms/momentum.js';
import {
  differentiallyPrivateAggregate,
  type DifferentiallyPrivateAggregateOptions,
  type DifferentiallyPrivateAggregateState,
} from '../transforms/privacy.js';
import { identity, scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';

/**
 * Options of {@link dpsgd}.
 * @group Optimizer options and states
 */
export interface DpsgdOptions extends DifferentiallyPrivateAggregateOptions {
  /** Momentum (`trace`'s decay) in [0, 1]; absent: no momentum, as optax's `None`. */
  momentum?: number;
  /** Nesterov momentum (needs `momentum`). Default `false`. */
  nesterov?: boolean;
}

/**
 * State of {@link dpsgd}: `[differentiallyPrivateAggregate state, trace state (or {} without
 * momentum), learning-rate state]`.
 * @group Optimizer options and states
 */
export type DpsgdState = [DifferentiallyPrivateAggregateState, TraceState | EmptyState, ScaleByLearningRateState];

/**
 * DP-SGD (Abadi et al. 2016, "Deep Learning with Differential Privacy", arXiv:1607.00133), as
 * optax contrib: per-example gradients clipped, summed, noised and averaged by
 * {@link differentiallyPrivateAggregate}, then SGD, with momentum if given.
 *
 *     dpsgd(lr, o) = chain(differentiallyPrivateAggregate({ l2NormClip, noiseMultiplier, seed }),
 *                          o.momentum === undefined ? identity() : trace({ decay: o.momentum, nesterov }),
 *                          scaleByLearningRate(lr))
 *
 * `update(perExampleGrads, state, params)` takes gradients stacked on axis 0 (each leaf
 * `[batch, ...param shape]`), and returns parameter-shaped updates; step with `update` and
 * `applyUpdates` (`trainStep` and `toTfOptimizer` check that gradients have the parameters'
 * shapes). The noise is reproducible from `seed`, drawn as `addNoise` draws it. `l2NormClip` and
 * `noiseMultiplier` are required (as in optax); `seed = 0` (optax requires it), `nesterov = false`,
 * no momentum by default. Composite on every backend.
 * @group Optimizers
 * @function
 */
export const dpsgd = /* @__PURE__ */ optimizerAlias(function dpsgd(learningRate: ScalarOrSchedule, options: DpsgdOptions): GradientTransformation<DpsgdState> {
  const owner = 'dpsgd';
  checkRequired(owner, options, ['l2NormClip', 'noiseMultiplier'], ['l2NormClip', 'noiseMultiplier', 'seed', 'momentum', 'nesterov']);
  const { momentum: momentumOption, nesterov: nesterovOption, ...aggregate } = options;
  const momentum = momentumOption === undefined ? undefined : checkRate(owner, 'momentum', momentumOption, true);
  const nesterov = checkBoolean(owner, 'nesterov', nesterovOption ?? false);
  if (nesterov && momentum === undefined) {
    throw new TypeError(`${owner}: option 'nesterov' needs 'momentum' (e.g. { momentum: 0.9, nesterov: true })`);
  }
  return asOwner(owner, () =>
    chain(
      differentiallyPrivateAggregate(aggregate),
      momentum === undefined ? identity() : trace({ decay: momentum, nesterov }),
      scaleByLearningRate(learningRate),
    ),
  ) as GradientTransformation<DpsgdState>;
});
