import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { checkOptions } from '../internal/options.js';
import { addNoise, type AddNoiseState } from '../transforms/noise.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';

// Runs as composite tf ops on every backend (no fused kernel yet).

/**
 * Options of {@link noisySgd}.
 * @group Optimizer options and states
 */
export interface NoisySgdOptions {
  /** Variance of the noise at the first step, >= 0. Default `0.01`. */
  eta?: number;
  /** Decay exponent of the variance. Default `0.55`. */
  gamma?: number;
  /** Seed of the noise, a whole number in [0, 2^32). Default `0`. */
  seed?: number;
}

/**
 * State of {@link noisySgd}: `[addNoise state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type NoisySgdState = [AddNoiseState, ScaleByLearningRateState];

/**
 * SGD with annealed Gaussian gradient noise (Neelakantan et al. 2015, arXiv:1511.06807):
 *
 *     noisySgd(lr, o) = chain(addNoise({ eta, gamma, seed }), scaleByLearningRate(lr))
 *     u = -lr * (g + sqrt(eta / t^gamma) * n),   n ~ N(0, 1),  t = count + 1
 *
 * Reproducible: the same `seed` gives the same updates (see {@link addNoise} for how the noise
 * is drawn; the draws are not JAX's). Defaults: `eta = 0.01, gamma = 0.55, seed = 0` (optax's,
 * whose `key` is this `seed`).
 * @group Optimizers
 * @function
 */
export const noisySgd = /* @__PURE__ */ optimizerAlias(function noisySgd(learningRate: ScalarOrSchedule, options: NoisySgdOptions = {}): GradientTransformation<NoisySgdState> {
  const owner = 'noisySgd';
  checkOptions(owner, options, ['eta', 'gamma', 'seed']);
  const { eta = 0.01, gamma = 0.55, seed = 0 } = options;
  const chained = asOwner(owner, () => chain(addNoise({ eta, gamma, seed }), scaleByLearningRate(learningRate)));
  // Nothing in the chain builds per-leaf state: check the params all the same at init.
  return {
    ...chained,
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return chained.init(params);
    },
  };
});
