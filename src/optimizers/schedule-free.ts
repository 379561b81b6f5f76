import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import { chain } from '../combine/chain.js';
import { scheduleFreeSynced, type ScheduleFreeState } from '../combine/schedule-free.js';
import { checkInteger, checkNumber, checkOptions, checkRate, checkScalarOrSchedule } from '../internal/options.js';
import { linearSchedule } from '../schedules/polynomial.js';
import { scaleByRms, type ScaleByRmsState } from '../transforms/adaptive.js';
import { addDecayedWeights, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { identity, scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';

/**
 * Options of {@link scheduleFreeSgd}.
 * @group Optimizer options and states
 */
export interface ScheduleFreeSgdOptions {
  /** Steps of linear warmup from 0 to `learningRate` (a whole number >= 1); none if omitted. */
  warmupSteps?: number;
  /** Interpolation between the average and the SGD iterate, in (0, 1]. Default `0.9`. */
  b1?: number;
  /** L2 weight decay added to the gradient before SGD (a number >= 0 or a schedule); none if omitted. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay); needs `weightDecay`. Default: all. */
  mask?: Mask;
  /** Exponent of the averaging weights `maxLr^weightLrPower`, >= 0. Default `2`. */
  weightLrPower?: number;
}

/**
 * The base optimizer of {@link scheduleFreeSgd}: `sgd`'s state, behind the weight decay if any.
 * @inline
 */
type SgdBaseState = [EmptyState, ScaleByLearningRateState];

/**
 * State of {@link scheduleFreeSgd}.
 * @group Optimizer options and states
 */
export type ScheduleFreeSgdState = ScheduleFreeState<SgdBaseState | [AddDecayedWeightsState, SgdBaseState]>;

/**
 * Options of {@link scheduleFreeAdamw}.
 * @group Optimizer options and states
 */
export interface ScheduleFreeAdamwOptions {
  /** Steps of linear warmup from 0 to `learningRate` (a whole number >= 1); none if omitted. */
  warmupSteps?: number;
  /** Interpolation between the average and the Adam iterate, in (0, 1]. Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root, >= 0. Default `1e-8`. */
  eps?: number;
  /** Decoupled weight decay, multiplied by the learning rate (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay). Default: all. */
  mask?: Mask;
  /** Exponent of the averaging weights `maxLr^weightLrPower`, >= 0. Default `2`. */
  weightLrPower?: number;
}

/**
 * State of {@link scheduleFreeAdamw}: its base optimizer is `[scaleByRms, addDecayedWeights, scaleByLearningRate]`.
 * @group Optimizer options and states
 */
export type ScheduleFreeAdamwState = ScheduleFreeState<[ScaleByRmsState, AddDecayedWeightsState, ScaleByLearningRateState]>;

/**
 * Schedule-free SGD (Defazio et al. 2024, arXiv:2405.15682), as optax's
 * `contrib.schedule_free_sgd`:
 *
 *     scheduleFreeSgd(lr, o) = scheduleFree(sgd(lr), { learningRate: lr, b1, weightLrPower })
 *     with weightDecay:        scheduleFree(chain(addDecayedWeights(weightDecay, { mask }), sgd(lr)), ...)
 *
 * where, with `warmupSteps`, `lr` is the warmup `linearSchedule({ initValue: 0, endValue: lr,
 * transitionSteps: warmupSteps })` (optax's `warmup_constant_schedule`) for both. The weight
 * decay is added to the gradient, so it is multiplied by the learning rate. Evaluate at
 * `scheduleFreeEvalParams(state, params)`. See {@link scheduleFree} for the method and where it
 * differs from optax.
 *
 * Defaults: `b1 = 0.9, weightLrPower = 2`, no warmup, no weight decay (optax's). The learning
 * rate is required (optax defaults it to 1). The rate is kept once for the user: the state's
 * `learningRate` (what `getHyperparam` and `setHyperparam` reach) is given to the SGD step before
 * each update, so a value set there moves both.
 * @group Optimizers
 * @function
 */
export const scheduleFreeSgd = /* @__PURE__ */ optimizerAlias(function scheduleFreeSgd(learningRate: ScalarOrSchedule, options: ScheduleFreeSgdOptions = {}): GradientTransformation<ScheduleFreeSgdState> {
  const owner = 'scheduleFreeSgd';
  checkOptions(owner, options, ['warmupSteps', 'b1', 'weightDecay', 'mask', 'weightLrPower']);
  const lr = warmedUp(owner, learningRate, options.warmupSteps);
  if (options.mask !== undefined && options.weightDecay === undefined) {
    throw new TypeError(`${owner}: option 'mask' needs 'weightDecay' (e.g. { weightDecay: 1e-4, mask })`);
  }
  const rest = { learningRate: lr, b1: options.b1, weightLrPower: options.weightLrPower };
  return asOwner(owner, () => {
    const sgd = chain(identity(), scaleByLearningRate(lr)) as GradientTransformation<SgdBaseState>;
    if (options.weightDecay === undefined) return scheduleFreeSynced(sgd, rest, (s, rate) => withRate(s, 1, rate));
    const base = chain(addDecayedWeights(options.weightDecay, { mask: options.mask }), sgd);
    return scheduleFreeSynced(base, rest, (s, rate) => withRate(s, 1, rate, (inner) => withRate(inner, 1, rate)));
  }) as GradientTransformation<ScheduleFreeSgdState>;
});

/**
 * Schedule-free AdamW (Defazio et al. 2024, arXiv:2405.15682), as optax's
 * `contrib.schedule_free_adamw`: AdamW without its momentum, wrapped by {@link scheduleFree}:
 *
 *     scheduleFree(
 *       chain(scaleByRms({ decay: b2, eps, epsInSqrt: false, biasCorrection: true }),
 *             addDecayedWeights(weightDecay, { mask }),
 *             scaleByLearningRate(lr)),
 *       { learningRate: lr, b1, weightLrPower })
 *
 * i.e. `u = -lr (g / (sqrt(nuHat) + eps) + weightDecay y)` for the base step, with `nuHat` the
 * bias-corrected second moment (`scaleByRms` here is `scaleByAdam({ b1: 0 })` without the unused
 * first moment, as in optax). With `warmupSteps`, `lr` is the warmup `linearSchedule({ initValue:
 * 0, endValue: lr, transitionSteps: warmupSteps })` (optax's `warmup_constant_schedule`) for both.
 * Evaluate at `scheduleFreeEvalParams(state, params)`. See {@link scheduleFree} for the method
 * and where it differs from optax.
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 0, weightLrPower = 2`, no warmup
 * (optax's). The learning rate is required (optax defaults it to 0.0025). The state's
 * `learningRate` (what `getHyperparam` and `setHyperparam` reach) is given to the
 * `scaleByLearningRate` step before each update, so a value set there moves both.
 * @group Optimizers
 * @function
 */
export const scheduleFreeAdamw = /* @__PURE__ */ optimizerAlias(function scheduleFreeAdamw(
  learningRate: ScalarOrSchedule,
  options: ScheduleFreeAdamwOptions = {},
): GradientTransformation<ScheduleFreeAdamwState> {
  const owner = 'scheduleFreeAdamw';
  checkOptions(owner, options, ['warmupSteps', 'b1', 'b2', 'eps', 'weightDecay', 'mask', 'weightLrPower']);
  const lr = warmedUp(owner, learningRate, options.warmupSteps);
  // Checked under the names the user gave them, before scaleByRms sees them as decay and eps.
  const b2 = checkRate(owner, 'b2', options.b2 ?? 0.999);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  return asOwner(owner, () => {
    const base = chain(
      scaleByRms({ decay: b2, eps, epsInSqrt: false, biasCorrection: true }),
      addDecayedWeights(options.weightDecay ?? 0, { mask: options.mask }),
      scaleByLearningRate(lr),
    );
    return scheduleFreeSynced(base, { learningRate: lr, b1: options.b1, weightLrPower: options.weightLrPower }, (s, rate) => withRate(s, 2, rate));
  });
});

/** The learning rate, checked, behind a linear warmup from 0 when `warmupSteps` is given. */
function warmedUp(owner: string, learningRate: ScalarOrSchedule, warmupSteps: number | undefined): ScalarOrSchedule {
  const rate = checkScalarOrSchedule(owner, 'learningRate', learningRate, { min: 0 });
  if (warmupSteps === undefined) return rate;
  const steps = checkInteger(owner, 'warmupSteps', warmupSteps, 1);
  if (typeof rate !== 'number') {
    throw new TypeError(`${owner}: option 'warmupSteps' needs a number learningRate (the peak), got a schedule; put the warmup in the schedule instead`);
  }
  return linearSchedule({ initValue: 0, endValue: rate, transitionSteps: steps });
}

/**
 * The base state with the learning rate at position `i` set to `rate` (`at` reaches into a
 * nested chain); the same object when it already holds it.
 */
function withRate<S extends readonly unknown[]>(state: S, i: number, rate: number, at?: (inner: any) => unknown): S {
  const current = state[i];
  const next = at ? at(current) : setRate(current as ScaleByLearningRateState, rate);
  if (next === current) return state;
  const copy = state.slice() as unknown[];
  copy[i] = next;
  return copy as unknown as S;
}

function setRate(state: ScaleByLearningRateState, rate: number): ScaleByLearningRateState {
  return state.learningRate === rate ? state : { ...state, learningRate: rate };
}

