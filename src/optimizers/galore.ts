import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { checkOptions } from '../internal/options.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByGalore, type ScaleByGaloreOptions, type ScaleByGaloreState } from '../transforms/galore.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';

/**
 * Options of {@link galore}.
 * @group Optimizer options and states
 */
export interface GaloreOptions extends ScaleByGaloreOptions {
  /** Decoupled (AdamW-style) weight decay in the full parameter space, a number >= 0 or a schedule. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link galore}: `[scaleByGalore state, weight-decay state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type GaloreState = [ScaleByGaloreState, AddDecayedWeightsState, ScaleByLearningRateState];

/**
 * GaLore (Zhao et al. 2024, "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank
 * Projection", arXiv:2403.03507), as optax 0.2.8's contrib: the base optimizer (Adam by default)
 * runs on gradients projected onto their leading singular vectors, refreshed every
 * `updateProjGap` steps, so its moments take `r (m + n)`-ish memory instead of `m n` per matrix;
 * see {@link scaleByGalore}.
 *
 *     galore(lr, o) = chain(scaleByGalore(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *
 * The weight decay is decoupled and applied in the full space (a base optimizer that needs
 * `params`, such as `adamw`, cannot run in the low-rank space: its update fails for want of
 * them). If `baseOptimizer` applies a learning rate of its own, give `galore` a learning rate of 1.
 * Defaults, as optax: `rank = 128, updateProjGap = 200, scale = 1, baseOptimizer = scaleByAdam(),
 * weightDecay = 0`, rank-2 leaves projected. Composite on every backend.
 * @group Optimizers
 * @function
 */
export const galore = /* @__PURE__ */ optimizerAlias(function galore(learningRate: ScalarOrSchedule, options: GaloreOptions = {}): GradientTransformation<GaloreState> {
  checkOptions('galore', options, ['rank', 'updateProjGap', 'scale', 'baseOptimizer', 'weightDimensionNumbers', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return asOwner('galore', () => chain(scaleByGalore(rest), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});
