import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { masked, type MaskedState } from '../combine/masked.js';
import { checkNumber, checkOptions, checkRate, checkScalarOrSchedule } from '../internal/options.js';
import { treeMap } from '../tree/structure.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByMuon, scaleByShape, type ScaleByMuonOptions, type ScaleByMuonState } from '../transforms/muon.js';
import { adamw, type AdamwState } from './adam.js';
import type { EmptyState } from '../types.js';

// Runs as tf ops on every backend (no fused kernel).

/**
 * Options of {@link muon}.
 * @group Optimizer options and states
 */
export interface MuonOptions extends ScaleByMuonOptions {
  /** Decoupled weight decay of the matrices (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which matrices to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
  /** `b1` of the AdamW that the other leaves get. Default `0.9`. */
  adamB1?: number;
  /** `b2` of that AdamW. Default `0.999`. */
  adamB2?: number;
  /** `epsRoot` of that AdamW (its `eps` is `eps`, and `nesterov` is `nesterov`). Default `0`. */
  adamEpsRoot?: number;
  /** Weight decay of that AdamW. Default `0`. */
  adamWeightDecay?: ScalarOrSchedule;
  /** Learning rate of that AdamW. Default: the Muon learning rate. */
  adamLearningRate?: ScalarOrSchedule;
  /** Scale matrix updates by `sqrt(max(fanIn, fanOut)) * consistentRms` instead of `sqrt(max(1, fanOut / fanIn))`. */
  consistentRms?: number;
}

/**
 * State of {@link muon}: `[masked(matrix chain) state, masked(adamw) state]`, the matrix chain
 * being `[scaleByMuon, scaleByShape, addDecayedWeights, scaleByLearningRate]`.
 * @group Optimizer options and states
 */
export type MuonState = [
  MaskedState<[ScaleByMuonState, EmptyState, AddDecayedWeightsState, ScaleByLearningRateState]>,
  MaskedState<AdamwState>,
];

const isMatrix = (params: Params) => treeMap((x) => x.rank === 2, params);
const isNotMatrix = (params: Params) => treeMap((x) => x.rank !== 2, params);

/**
 * Muon (Jordan et al. 2024), as optax contrib: Nesterov momentum orthogonalised by Newton–Schulz
 * iterations for the rank-2 leaves, AdamW for the others.
 *
 *     muon(lr, o) = chain(
 *       masked(chain(scaleByMuon(o), scaleByShape(o), addDecayedWeights(o.weightDecay, { mask: o.mask }),
 *                    scaleByLearningRate(lr)), isMatrix),
 *       masked(adamw(o.adamLearningRate ?? lr, { b1: o.adamB1, b2: o.adamB2, eps: o.eps,
 *                    epsRoot: o.adamEpsRoot, weightDecay: o.adamWeightDecay, nesterov: o.nesterov }), isNotMatrix))
 *
 * optax builds it with `partition`; here two `masked` do it, because `partition` rejects a label
 * with no leaves (a model with no matrix, or only matrices, is fine with `muon`). The learning
 * rate is therefore in two places: read it with `getHyperparam(state, '0.inner.3.learningRate')`
 * (matrices) and `'1.inner.2.learningRate'` (the rest). Defaults: `nsCoeffs = 'standard'`,
 * `nsSteps = 5, beta = 0.95, eps = 1e-8, weightDecay = 0, nesterov = true, adaptive = false,
 * adamB1 = 0.9, adamB2 = 0.999, adamEpsRoot = 0, adamWeightDecay = 0`. Not offered: optax's
 * `preconditioning` other than `'frobenius'`, `muon_weight_dimension_numbers`, `mu_dtype`.
 * @group Optimizers
 * @function
 */
export const muon = /* @__PURE__ */ optimizerAlias(function muon(learningRate: ScalarOrSchedule, options: MuonOptions = {}): GradientTransformation<MuonState> {
  const owner = 'muon';
  checkOptions(owner, options, [
    'nsCoeffs', 'nsSteps', 'beta', 'eps', 'nesterov', 'adaptive', 'weightDecay', 'mask',
    'adamB1', 'adamB2', 'adamEpsRoot', 'adamWeightDecay', 'adamLearningRate', 'consistentRms',
  ]);
  const {
    weightDecay = 0, mask, adamB1 = 0.9, adamB2 = 0.999, adamEpsRoot = 0, adamWeightDecay = 0,
    adamLearningRate = learningRate, consistentRms, ...muonOptions
  } = options;
  // The AdamW options are checked here so that an error names them as muon's options; the
  // rate first, as the AdamW rate defaults to it.
  checkScalarOrSchedule(owner, 'learningRate', learningRate, { min: 0 });
  checkRate(owner, 'adamB1', adamB1);
  checkRate(owner, 'adamB2', adamB2);
  checkNumber(owner, 'adamEpsRoot', adamEpsRoot, { min: 0 });
  checkScalarOrSchedule(owner, 'adamWeightDecay', adamWeightDecay, { min: 0 });
  checkScalarOrSchedule(owner, 'adamLearningRate', adamLearningRate, { min: 0 });
  return asOwner(owner, () => {
    const matrices = chain(
      scaleByMuon(muonOptions),
      scaleByShape({ consistentRms }),
      addDecayedWeights(weightDecay, { mask }),
      scaleByLearningRate(learningRate),
    );
    const others = adamw(adamLearningRate, {
      b1: adamB1,
      b2: adamB2,
      eps: muonOptions.eps ?? 1e-8,
      epsRoot: adamEpsRoot,
      weightDecay: adamWeightDecay,
      nesterov: muonOptions.nesterov ?? true,
    });
    return chain(masked(matrices, isMatrix), masked(others, isNotMatrix));
  });
});
