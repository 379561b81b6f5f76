import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { checkOptions } from '../internal/options.js';
import { ema, type EmaState } from '../transforms/ema.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleBySign } from '../transforms/sign.js';

/**
 * State of {@link signSgd}: `[{}, learning-rate state]`.
 * @group Optimizer options and states
 */
export type SignSgdState = [EmptyState, ScaleByLearningRateState];

/**
 * signSGD (Bernstein et al. 2018, arXiv:1802.04434; Balles et al. 2020, arXiv:2002.08056):
 * every coordinate moves by the learning rate against the sign of its gradient.
 *
 *     signSgd(lr) = chain(scaleBySign(), scaleByLearningRate(lr))
 *     u = -lr * sign(g)
 *
 * No options (optax's alias has none).
 * @group Optimizers
 * @function
 */
export const signSgd = /* @__PURE__ */ optimizerAlias(function signSgd(learningRate: ScalarOrSchedule, options: Record<string, never> = {}): GradientTransformation<SignSgdState> {
  const owner = 'signSgd';
  checkOptions(owner, options, []);
  const chained = asOwner(owner, () => chain(scaleBySign(), scaleByLearningRate(learningRate)));
  // Nothing in the chain builds per-leaf state: check the params all the same, so that signSgd,
  // like every optimizer, rejects parameters it cannot update at init.
  return {
    ...chained,
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return chained.init(params);
    },
  };
});

/**
 * Options of {@link signum}.
 * @group Optimizer options and states
 */
export interface SignumOptions {
  /** Decay of the moving average of the gradients, in [0, 1]. Default `0.9`. */
  beta?: number;
}

/**
 * State of {@link signum}: `[ema state, {}, learning-rate state]`.
 * @group Optimizer options and states
 */
export type SignumState = [EmaState, EmptyState, ScaleByLearningRateState];

/**
 * Signum (Bernstein et al. 2018, arXiv:1802.04434; Zhao et al. 2024, arXiv:2407.07972): signSGD
 * on a moving average of the gradients.
 *
 *     signum(lr, { beta }) = chain(ema({ decay: beta, debias: false }), scaleBySign(), scaleByLearningRate(lr))
 *     m = beta * m + (1 - beta) * g;   u = -lr * sign(m)
 *
 * The average is not debiased: a positive factor does not change a sign. Defaults:
 * `beta = 0.9` (optax's; its `accumulatorDtype` has no counterpart, the average is float32).
 * @group Optimizers
 * @function
 */
export const signum = /* @__PURE__ */ optimizerAlias(function signum(learningRate: ScalarOrSchedule, options: SignumOptions = {}): GradientTransformation<SignumState> {
  checkOptions('signum', options, ['beta']);
  return asOwner(
    'signum',
    () => chain(ema({ decay: options.beta ?? 0.9, debias: false }), scaleBySign(), scaleByLearningRate(learningRate)),
    { rename: { decay: 'beta' } }, // ema calls the beta 'decay'
  );
});
