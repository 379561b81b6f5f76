import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../internal/tidy.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule, Schedule, Updates } from '../types.js';
import { mapFloatLeaves } from '../internal/leaves.js';
import { checkBoolean, checkNumber, checkOptions, checkScalarOrSchedule, evaluateSchedule } from '../internal/options.js';
import { declareState } from '../internal/state.js';

/** Multiplies every leaf by one JS number; the shared body of `scale` and the schedules. */
function multiplyLeaves<U extends Updates>(owner: string, updates: U, factor: number): U {
  return tidy(() => {
    const s = tf.scalar(factor);
    return mapFloatLeaves(owner, ['updates'], [updates], (g) => tf.mul(g, s));
  }) as U;
}

/**
 * Leaves updates unchanged: `u = g`. Useful as a placeholder in a chain.
 * State: `{}`.
 */
export function identity(): GradientTransformation<EmptyState> {
  return declareState('identity', {}, {
    init: () => ({}),
    update: (updates, state) => [updates, state],
  });
}

/**
 * Multiplies updates by a constant: `u = factor * g`.
 * State: `{}`.
 */
export function scale(factor: number): GradientTransformation<EmptyState> {
  return scaleWithOwner('scale', 'factor', factor);
}

function scaleWithOwner(owner: string, option: string, factor: number): GradientTransformation<EmptyState> {
  checkNumber(owner, option, factor);
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state) => [multiplyLeaves(owner, updates, factor), state],
  });
}

/** State of {@link scaleBySchedule}: the number of updates done so far. */
export interface ScaleByScheduleState {
  count: number;
}

/**
 * Multiplies updates by a schedule of the step count: `u = schedule(count) * g`, where `count`
 * is the number of updates done before this one (0 on the first update), then `count += 1`.
 * The schedule is evaluated in float64 once per step; a non-finite value throws a `RangeError`.
 * State: `{ count }`.
 */
export function scaleBySchedule(schedule: Schedule): GradientTransformation<ScaleByScheduleState> {
  return scheduleWithOwner('scaleBySchedule', 'schedule', schedule, 1);
}

function scheduleWithOwner(
  owner: string,
  option: string,
  schedule: Schedule,
  sign: 1 | -1,
): GradientTransformation<ScaleByScheduleState> {
  if (typeof schedule !== 'function') {
    throw new TypeError(`${owner}: option '${option}' must be a function (count) => number, got ${typeof schedule}`);
  }
  return declareState(owner, { count: 'count' }, {
    init: () => ({ count: 0 }),
    update: (updates, state) => {
      const factor = sign * evaluateSchedule(owner, option, schedule, state.count);
      return [multiplyLeaves(owner, updates, factor), { count: state.count + 1 }];
    },
  });
}

/** Options of {@link scaleByLearningRate}. */
export interface ScaleByLearningRateOptions {
  /** Multiply by `-learningRate` (descent) instead of `learningRate`. Default `true`. */
  flipSign?: boolean;
}

/**
 * Multiplies updates by the learning rate, negated by default so that the result is a step to
 * **add** to the parameters: `u = -lr(count) * g` (`flipSign: false` gives `u = lr(count) * g`),
 * then `count += 1`. A number is a constant schedule; a schedule sees the number of updates done
 * before this one (0 first), as in optax.
 *
 * State: `{ count }` whether the rate is a number or a schedule, so an optimizer's state has
 * the same shape for both.
 */
export function scaleByLearningRate(
  learningRate: ScalarOrSchedule,
  options: ScaleByLearningRateOptions = {},
): GradientTransformation<ScaleByScheduleState> {
  return learningRateWithOwner('scaleByLearningRate', learningRate, options);
}

/**
 * {@link scaleByLearningRate} with the caller's name in error messages, for the optimizers.
 * @internal
 */
export function learningRateWithOwner(
  owner: string,
  learningRate: ScalarOrSchedule,
  options: ScaleByLearningRateOptions = {},
): GradientTransformation<ScaleByScheduleState> {
  checkOptions(owner, options, ['flipSign']);
  const flipSign = checkBoolean(owner, 'flipSign', options.flipSign ?? true);
  const lr = checkScalarOrSchedule(owner, 'learningRate', learningRate, { min: 0 });
  const sign = flipSign ? -1 : 1;
  return declareState(owner, { count: 'count' }, {
    init: () => ({ count: 0 }),
    update: (updates, state) => {
      const factor = sign * rateAt(owner, 'learningRate', lr, state.count);
      return [multiplyLeaves(owner, updates, factor), { count: state.count + 1 }];
    },
  });
}

/**
 * The value of a rate option at a step: the number itself, or the schedule evaluated (and
 * checked) at `count`.
 * @internal
 */
export function rateAt(owner: string, option: string, rate: ScalarOrSchedule, count: number): number {
  return typeof rate === 'number' ? rate : evaluateSchedule(owner, option, rate, count);
}
