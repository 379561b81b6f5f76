import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { checkOptions } from '../internal/options.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import {
  scaleByDog,
  scaleByDowg,
  type ScaleByDogOptions,
  type ScaleByDogState,
  type ScaleByDowgOptions,
  type ScaleByDowgState,
} from '../transforms/dog.js';

/** The weight decay of `dog` and `dowg`, optional as in optax (no decay step without it). */
interface OptionalDecay {
  /** L2 weight decay added to the gradient before the norms (a number >= 0 or a schedule). Default: none. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params; needs `weightDecay`. Default: all. */
  mask?: Mask;
}

/**
 * `chain(addDecayedWeights(weightDecay, { mask }), direction, scaleByLearningRate(lr))`, without
 * the decay step when `weightDecay` is not given (optax puts an `identity` there).
 */
function withOptionalDecay<S>(
  owner: string,
  learningRate: ScalarOrSchedule,
  { weightDecay, mask }: OptionalDecay,
  direction: () => GradientTransformation<S>,
): GradientTransformation<[S, ScaleByLearningRateState] | [AddDecayedWeightsState, S, ScaleByLearningRateState]> {
  if (weightDecay === undefined) {
    if (mask !== undefined) throw new TypeError(`${owner}: option 'mask' needs 'weightDecay' (e.g. { weightDecay: 1e-4, mask })`);
    return asOwner(owner, () => chain(direction(), scaleByLearningRate(learningRate)));
  }
  return asOwner(owner, () => chain(addDecayedWeights(weightDecay, { mask }), direction(), scaleByLearningRate(learningRate)));
}

/**
 * Options of {@link dog}.
 * @group Optimizer options and states
 */
export interface DogOptions extends ScaleByDogOptions, OptionalDecay {}

/**
 * State of {@link dog}: `[scaleByDog state, learning-rate state]`, or with `weightDecay`,
 * `[weight-decay state, scaleByDog state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type DogState = [ScaleByDogState, ScaleByLearningRateState] | [AddDecayedWeightsState, ScaleByDogState, ScaleByLearningRateState];

/**
 * DoG, Distance over Gradients (Ivgi, Hinder & Carmon 2023, "DoG is SGD's Best Friend: A
 * Parameter-Free Dynamic Step Size Schedule", arXiv:2302.12022), as optax contrib: SGD with the
 * step size `max ||x - x0|| / sqrt(sum ||g||^2 + eps)`, see {@link scaleByDog}.
 *
 *     dog(lr, o) = chain(scaleByDog(o), scaleByLearningRate(lr))
 *     dog(lr, { weightDecay, mask, ...o }) = chain(addDecayedWeights(weightDecay, { mask }), scaleByDog(o), scaleByLearningRate(lr))
 *
 * The learning rate multiplies DoG's step size (1 by default: a schedule can be put there). As in
 * optax, the weight decay is off unless `weightDecay` is given, and is L2 (added to the gradient
 * before the norms). Composite on every backend (the norms are over the whole tree). Needs
 * `params`, and the real parameters at `init`. Defaults: `learningRate = 1`,
 * `initStep = ['heuristic', 1e-6]`, `eps = 1e-8`.
 * @group Optimizers
 * @function
 */
export const dog = /* @__PURE__ */ optimizerAlias(function dog(learningRate: ScalarOrSchedule = 1, options: DogOptions = {}): GradientTransformation<DogState> {
  checkOptions('dog', options, ['initStep', 'eps', 'weightDecay', 'mask']);
  const { weightDecay, mask, initStep = ['heuristic', 1e-6], ...rest } = options;
  return withOptionalDecay('dog', learningRate, { weightDecay, mask }, () => scaleByDog({ initStep, ...rest }));
});

/**
 * Options of {@link dowg}.
 * @group Optimizer options and states
 */
export interface DowgOptions extends ScaleByDowgOptions, OptionalDecay {}

/**
 * State of {@link dowg}: `[scaleByDowg state, learning-rate state]`, or with `weightDecay`,
 * `[weight-decay state, scaleByDowg state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type DowgState = [ScaleByDowgState, ScaleByLearningRateState] | [AddDecayedWeightsState, ScaleByDowgState, ScaleByLearningRateState];

/**
 * DoWG, Distance over Weighted Gradients (Khaled, Mishchenko & Jin 2023, "DoWG Unleashed: An
 * Efficient Universal Parameter-Free Gradient Descent Method", arXiv:2305.16284), as optax
 * contrib: SGD with the step size `r^2 / (sqrt(sum r^2 ||g||^2) + eps)`, `r^2` the largest
 * squared distance from the initial parameters, see {@link scaleByDowg}.
 *
 *     dowg(lr, o) = chain(scaleByDowg(o), scaleByLearningRate(lr))
 *     dowg(lr, { weightDecay, mask, ...o }) = chain(addDecayedWeights(weightDecay, { mask }), scaleByDowg(o), scaleByLearningRate(lr))
 *
 * As `dog`: the learning rate multiplies the step size, weight decay is off unless given (L2),
 * composite on every backend, needs `params`. Defaults: `learningRate = 1`, `eps = 1e-4`,
 * `initEstimSqDist = eps`.
 * @group Optimizers
 * @function
 */
export const dowg = /* @__PURE__ */ optimizerAlias(function dowg(learningRate: ScalarOrSchedule = 1, options: DowgOptions = {}): GradientTransformation<DowgState> {
  checkOptions('dowg', options, ['initEstimSqDist', 'eps', 'weightDecay', 'mask']);
  const { weightDecay, mask, ...rest } = options;
  return withOptionalDecay('dowg', learningRate, { weightDecay, mask }, () => scaleByDowg(rest));
});
