import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { treeMap } from '../tree/structure.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByKron, type ScaleByKronOptions, type ScaleByKronState } from '../transforms/psgd-kron.js';

// Runs as tf ops on every backend (no fused kernel), with the triangular inverses in float64 JS.

/**
 * Options of {@link psgdKron}.
 * @group Optimizer options and states
 */
export interface PsgdKronOptions extends ScaleByKronOptions {
  /** Decoupled weight decay (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: the leaves of rank >= 2, as the reference. */
  mask?: Mask;
}

/**
 * State of {@link psgdKron}: `[scaleByKron state, addDecayedWeights state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type PsgdKronState = [ScaleByKronState, AddDecayedWeightsState, ScaleByLearningRateState];

const rank2Up = (params: Params) => treeMap((x) => x.rank >= 2, params);

/**
 * PSGD Kron (Xi-Lin Li's preconditioned SGD with a Kronecker-factored preconditioner), as the
 * `kron_torch` reference (github.com/evanatyourservice/kron_torch):
 *
 *     psgdKron(lr, o) = chain(scaleByKron(o), addDecayedWeights(o.weightDecay, { mask: o.mask ?? rank >= 2 }),
 *                             scaleByLearningRate(lr))
 *     u = -lr * (clipRms(m x_i Q_i^T Q_i) + weightDecay * p)
 *
 * See {@link scaleByKron} for the preconditioner and its update. The reference decays only the
 * parameters of rank >= 2, before the step and multiplied by the learning rate, which is what
 * this chain does. The preconditioner is updated when a counter of steps reaches
 * `1 / preconditionUpdateProbability` (deterministic, as the reference); the random probe
 * vectors come from `seed`.
 *
 * Defaults, as the reference: `b1 = 0.9, weightDecay = 0`, `preconditionUpdateProbability`
 * `clamp(exp(-0.001 (count - 500)), 0.03, 1)`, `maxSizeTriangular = 8192, minNdimTriangular =
 * 2, memorySaveMode = null, momentumIntoPrecondUpdate = true, precondLr = 0.1,
 * precondInitScale = 1, mergeDims = true, seed = 0`. The reference's learning rate default is
 * `3e-4`; here it is required.
 * @group Optimizers
 * @function
 */
export const psgdKron = /* @__PURE__ */ optimizerAlias(function psgdKron(learningRate: ScalarOrSchedule, options: PsgdKronOptions = {}): GradientTransformation<PsgdKronState> {
  const owner = 'psgdKron';
  checkOptions(owner, options, [
    'b1', 'weightDecay', 'mask', 'preconditionUpdateProbability', 'maxSizeTriangular', 'minNdimTriangular', 'memorySaveMode',
    'momentumIntoPrecondUpdate', 'precondLr', 'precondInitScale', 'mergeDims', 'seed',
  ]);
  const { weightDecay = 0, mask = rank2Up, ...kronOptions } = options;
  return asOwner(owner, () => chain(scaleByKron(kronOptions), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(learningRate)));
});
