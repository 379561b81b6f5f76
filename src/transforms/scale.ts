import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule, Schedule, Updates } from '../types.js';
import { mapFloatLeaves } from '../internal/leaves.js';
import { checkBoolean, checkNumber, checkOptions, evaluateSchedule } from '../internal/options.js';
import { HyperRate } from '../internal/hyper.js';
import { optionName, ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { withElementStep } from '../internal/record.js';

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
 * @group Transforms
 */
export function identity(): GradientTransformation<EmptyState> {
  const tx = declareState<EmptyState>('identity', {}, {
    init: () => ({}),
    update: (updates, state) => [updates, state],
  });
  // As a part of a chain, it adds nothing to the generated kernel.
  return withElementStep(tx, {
    owner: 'identity',
    slotNames: [],
    slots: () => [],
    scalars: () => [],
    usesParams: () => false,
    emit: (_ops, { u }) => ({ u, slots: [] }),
    next: (s) => () => s,
  });
}

/**
 * Multiplies updates by a constant: `u = factor * g`.
 * State: `{}`.
 * @group Transforms
 */
export function scale(factor: number): GradientTransformation<EmptyState> {
  const owner = ownerOr('scale');
  checkNumber(owner, 'factor', factor);
  const tx = declareState<EmptyState>(owner, {}, {
    init: () => ({}),
    update: (updates, state) => [multiplyLeaves(owner, updates, factor), state],
  });
  // u * factor: the same single multiplication as multiplyLeaves.
  return withElementStep(tx, {
    owner,
    slotNames: [],
    slots: () => [],
    scalars: () => [factor],
    usesParams: () => false,
    emit: (ops, { u, scalars }) => ({ u: ops.mul(u, scalars[0]), slots: [] }),
    next: (s) => () => s,
  });
}

/**
 * State of {@link scaleBySchedule}: the number of updates done so far.
 * @group Transform options and states
 */
export interface ScaleByScheduleState {
  /** Updates done so far (a JS number, `0` after `init`): the next update multiplies by `schedule(count)`. */
  count: number;
}

/**
 * Multiplies updates by a schedule of the step count: `u = schedule(count) * g`, where `count`
 * is the number of updates done before this one (0 on the first update), then `count += 1`.
 * The schedule is evaluated in float64 once per step; a non-finite value throws a `RangeError`.
 * State: `{ count }`: the schedule is the whole option, so no value is kept to read or set; for
 * a learning rate that `getHyperparam` and `setHyperparam` reach, use `scaleByLearningRate`.
 * @group Transforms
 */
export function scaleBySchedule(schedule: Schedule): GradientTransformation<ScaleByScheduleState> {
  const owner = ownerOr('scaleBySchedule');
  if (typeof schedule !== 'function') {
    throw new TypeError(`${owner}: option 'schedule' must be a function (count) => number, got ${typeof schedule}`);
  }
  return declareState(owner, { count: 'count' }, {
    init: () => ({ count: 0 }),
    update: (updates, state) => {
      const factor = evaluateSchedule(owner, 'schedule', schedule, state.count);
      return [multiplyLeaves(owner, updates, factor), { count: state.count + 1 }];
    },
  });
}

/**
 * State of {@link scaleByLearningRate}: the number of updates done, and the learning rate the
 * next update will use (`schedule(count)` for a schedule; read it with `getHyperparam`, change it
 * with `setHyperparam`).
 * @group Transform options and states
 */
export interface ScaleByLearningRateState {
  /** Updates done so far (a JS number, `0` after `init`). */
  count: number;
  /**
   * The rate the next update multiplies by (before the sign flip), a JS number: the constant, or
   * `schedule(count)` for a schedule (`schedule(0)` after `init`). A value put here with
   * `setHyperparam` is used by the next update; a constant rate then keeps it, a schedule gives
   * the one after.
   */
  learningRate: number;
}

/**
 * Options of {@link scaleByLearningRate}.
 * @group Transform options and states
 */
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
 * State: `{ count, learningRate }` whether the rate is a number or a schedule, so an
 * optimizer's state has the same shape for both. `learningRate` is the rate the **next** update
 * uses: after `k` updates, `schedule(k)`. The update uses the value in the state, so a value set
 * with `setHyperparam(state, 'learningRate', v)` takes effect at once (and, for a constant rate,
 * stays; a schedule takes over again at the next step).
 * @group Transforms
 */
export function scaleByLearningRate(
  learningRate: ScalarOrSchedule,
  options: ScaleByLearningRateOptions = {},
): GradientTransformation<ScaleByLearningRateState> {
  const owner = ownerOr('scaleByLearningRate');
  checkOptions(owner, options, ['flipSign']);
  const flipSign = checkBoolean(owner, 'flipSign', options.flipSign ?? true);
  // `polyakSgd` calls its rate 'scaling'.
  const lr = new HyperRate(owner, optionName('learningRate'), learningRate);
  const sign = flipSign ? -1 : 1;
  const tx = declareState<ScaleByLearningRateState>(owner, { count: 'count', learningRate: lr }, {
    init: () => ({ count: 0, learningRate: lr.at(0) }),
    update: (updates, state) => {
      const next = nextLearningRateState(lr, state);
      return [multiplyLeaves(owner, updates, sign * state.learningRate), next];
    },
  });
  // u * (sign * lr): the same single multiplication as multiplyLeaves.
  return withElementStep(tx, {
    owner,
    slotNames: [],
    slots: () => [],
    scalars: (s) => [sign * s.learningRate],
    usesParams: () => false,
    emit: (ops, { u, scalars }) => ({ u: ops.mul(u, scalars[0]), slots: [] }),
    next: (s) => {
      const next = nextLearningRateState(lr, s);
      return () => next;
    },
  });
}

/**
 * The learning-rate state after an update from `state` (the fused kernels build it too).
 * @internal
 */
export function nextLearningRateState(lr: HyperRate, state: ScaleByLearningRateState): ScaleByLearningRateState {
  return { count: state.count + 1, learningRate: lr.next(state.learningRate, state.count) };
}
