import type { Schedule } from '../types.js';
import { checkNumber, checkRequired } from '../internal/options.js';

/**
 * A schedule that always returns `value`.
 * @group Schedules
 */
export function constantSchedule(value: number): Schedule {
  checkNumber('constantSchedule', 'value', value);
  return () => value;
}

/**
 * Options of {@link polynomialSchedule}.
 * @group Schedules
 */
export interface PolynomialScheduleOptions {
  /** Value from step 0 until `transitionBegin`, where the transition starts (a finite number). */
  initValue: number;
  /** Value reached after `transitionBegin + transitionSteps` steps, and held from then on (a finite number). */
  endValue: number;
  /** Exponent of the decay curve (1 is linear). */
  power: number;
  /** Steps over which the value moves from `initValue` to `endValue`, > 0. */
  transitionSteps: number;
  /** Steps to hold `initValue` before the transition starts, >= 0. Default `0`. */
  transitionBegin?: number;
}

/**
 * Polynomial interpolation from `initValue` to `endValue` over `transitionSteps` steps, after
 * `transitionBegin` steps at `initValue` and holding `endValue` afterwards:
 *
 *     k = clamp(count - transitionBegin, 0, transitionSteps)
 *     value = (initValue - endValue) * (1 - k / transitionSteps)^power + endValue
 * @group Schedules
 */
export function polynomialSchedule(options: PolynomialScheduleOptions): Schedule {
  return polynomialFor('polynomialSchedule', options);
}

function polynomialFor(owner: string, options: PolynomialScheduleOptions): Schedule {
  checkRequired(owner, options, ['initValue', 'endValue', 'power', 'transitionSteps'], [
    'initValue',
    'endValue',
    'power',
    'transitionSteps',
    'transitionBegin',
  ]);
  const initValue = checkNumber(owner, 'initValue', options.initValue);
  const endValue = checkNumber(owner, 'endValue', options.endValue);
  const power = checkNumber(owner, 'power', options.power);
  const steps = checkNumber(owner, 'transitionSteps', options.transitionSteps, { min: 0, minInclusive: false });
  const begin = checkNumber(owner, 'transitionBegin', options.transitionBegin ?? 0, { min: 0 });
  return (count) => {
    const k = Math.min(Math.max(count - begin, 0), steps);
    return (initValue - endValue) * (1 - k / steps) ** power + endValue;
  };
}

/**
 * Options of {@link linearSchedule}.
 * @group Schedules
 */
export type LinearScheduleOptions = Omit<PolynomialScheduleOptions, 'power'>;

/**
 * Linear interpolation from `initValue` to `endValue` over `transitionSteps` steps, starting
 * after `transitionBegin` steps: `polynomialSchedule` with `power = 1`.
 * @group Schedules
 */
export function linearSchedule(options: LinearScheduleOptions): Schedule {
  checkRequired('linearSchedule', options, ['initValue', 'endValue', 'transitionSteps'], [
    'initValue',
    'endValue',
    'transitionSteps',
    'transitionBegin',
  ]);
  return polynomialFor('linearSchedule', { ...options, power: 1 });
}
