import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chainFor } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { addDecayedWeightsFor, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { learningRateWithOwner, type ScaleByScheduleState } from '../transforms/scale.js';
import {
  scaleByAdadeltaFor,
  scaleByAdamaxFor,
  scaleByAmsgradFor,
  scaleByLionFor,
  scaleByRadamFor,
  type ScaleByAdadeltaOptions,
  type ScaleByAdadeltaState,
  type ScaleByAdamaxOptions,
  type ScaleByAdamaxState,
  type ScaleByAmsgradOptions,
  type ScaleByAmsgradState,
  type ScaleByLionOptions,
  type ScaleByLionState,
  type ScaleByRadamOptions,
  type ScaleByRadamState,
} from '../transforms/variants.js';

// These optimizers run as composite tf ops on every backend (no fused kernel yet).

/** Options of {@link adamax}. */
export type AdamaxOptions = ScaleByAdamaxOptions;
/** State of {@link adamax}: `[scaleByAdamax state, learning-rate state]`. */
export type AdamaxState = [ScaleByAdamaxState, ScaleByScheduleState];

/**
 * Adamax (Kingma & Ba 2015, section 7.1), Adam with the infinity norm:
 *
 *     adamax(lr, o) = chain(scaleByAdamax(o), scaleByLearningRate(lr))
 *     u = -lr * (mu / (1 - b1^t)) / max(|g| + eps, b2 * nu)
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8` (optax's).
 */
export function adamax(learningRate: ScalarOrSchedule, options: AdamaxOptions = {}): GradientTransformation<AdamaxState> {
  return chainFor('adamax', scaleByAdamaxFor('adamax', options), learningRateWithOwner('adamax', learningRate));
}

/** Options of {@link amsgrad}. */
export type AmsgradOptions = ScaleByAmsgradOptions;
/** State of {@link amsgrad}: `[scaleByAmsgrad state, learning-rate state]`. */
export type AmsgradState = [ScaleByAmsgradState, ScaleByScheduleState];

/**
 * AMSGrad (Reddi, Kale & Kumar 2018): Adam with the running maximum of the bias-corrected
 * second moment in the denominator, as optax defines it.
 *
 *     amsgrad(lr, o) = chain(scaleByAmsgrad(o), scaleByLearningRate(lr))
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, biasCorrectionMu = true,
 * biasCorrectionNu = true`; turn both corrections off for the paper's form.
 */
export function amsgrad(learningRate: ScalarOrSchedule, options: AmsgradOptions = {}): GradientTransformation<AmsgradState> {
  return chainFor('amsgrad', scaleByAmsgradFor('amsgrad', options), learningRateWithOwner('amsgrad', learningRate));
}

/** Options of {@link radam}. */
export type RadamOptions = ScaleByRadamOptions;
/** State of {@link radam}: `[scaleByRadam state, learning-rate state]`. */
export type RadamState = [ScaleByRadamState, ScaleByScheduleState];

/**
 * RAdam, Rectified Adam (Liu et al. 2020, arXiv:1908.03265): plain momentum SGD for the first
 * steps, while the adaptive rate's variance is intractable, then Adam with a rectified step.
 *
 *     radam(lr, o) = chain(scaleByRadam(o), scaleByLearningRate(lr))
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, threshold = 5`.
 */
export function radam(learningRate: ScalarOrSchedule, options: RadamOptions = {}): GradientTransformation<RadamState> {
  return chainFor('radam', scaleByRadamFor('radam', options), learningRateWithOwner('radam', learningRate));
}

/** Options of {@link adadelta}. */
export interface AdadeltaOptions extends ScaleByAdadeltaOptions {
  /** Weight decay added to the gradient before the rescaling (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/** State of {@link adadelta}: `[weight-decay state, scaleByAdadelta state, learning-rate state]`. */
export type AdadeltaState = [AddDecayedWeightsState, ScaleByAdadeltaState, ScaleByScheduleState];

/**
 * Adadelta (Zeiler 2012, arXiv:1212.5701):
 *
 *     adadelta(lr, o) = chain(addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByAdadelta(o), scaleByLearningRate(lr))
 *
 * Adadelta's step already has the units of the parameters, so the learning rate defaults to 1.
 * Unlike optax, whose `adadelta()` without a learning rate skips the final scaling (and with it
 * the sign flip), the update here always descends: `u = -lr * rescaled g`. Weight decay, when
 * set, is added to the gradient before the rescaling (L2 style), as in optax and PyTorch.
 * Defaults: `learningRate = 1, rho = 0.9, eps = 1e-6, weightDecay = 0`.
 */
export function adadelta(learningRate: ScalarOrSchedule = 1, options: AdadeltaOptions = {}): GradientTransformation<AdadeltaState> {
  const owner = 'adadelta';
  checkOptions(owner, options, ['rho', 'eps', 'weightDecay', 'mask']);
  const { weightDecay = 0, mask, ...rest } = options;
  return chainFor(
    owner,
    addDecayedWeightsFor(owner, weightDecay, mask === undefined ? {} : { mask }),
    scaleByAdadeltaFor(owner, rest),
    learningRateWithOwner(owner, learningRate),
  );
}

/** Options of {@link lion}. */
export interface LionOptions extends ScaleByLionOptions {
  /** Decoupled weight-decay rate (a number >= 0 or a schedule). Default `1e-3`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/** State of {@link lion}: `[scaleByLion state, weight-decay state, learning-rate state]`. */
export type LionState = [ScaleByLionState, AddDecayedWeightsState, ScaleByScheduleState];

/**
 * Lion (Chen et al. 2023, arXiv:2302.06675): the sign of a gradient-momentum interpolation,
 * with decoupled weight decay as in AdamW:
 *
 *     lion(lr, o) = chain(scaleByLion(o), addDecayedWeights(o.weightDecay, { mask: o.mask }), scaleByLearningRate(lr))
 *     u = -lr * (sign((1 - b1) * g + b1 * mu) + weightDecay * p)
 *
 * Its steps are as large as the learning rate in every coordinate, so it wants a learning rate
 * 3 to 10 times smaller than AdamW's. Defaults: `b1 = 0.9, b2 = 0.99, weightDecay = 1e-3`.
 */
export function lion(learningRate: ScalarOrSchedule, options: LionOptions = {}): GradientTransformation<LionState> {
  const owner = 'lion';
  checkOptions(owner, options, ['b1', 'b2', 'weightDecay', 'mask']);
  const { weightDecay = 1e-3, mask, ...rest } = options;
  return chainFor(
    owner,
    scaleByLionFor(owner, rest),
    addDecayedWeightsFor(owner, weightDecay, mask === undefined ? {} : { mask }),
    learningRateWithOwner(owner, learningRate),
  );
}
