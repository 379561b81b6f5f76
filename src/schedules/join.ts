import type { Schedule } from '../types.js';
import { checkNumber, checkRequired } from '../internal/options.js';

/**
 * Options of {@link joinSchedules}.
 * @group Schedules
 */
export interface JoinSchedulesOptions {
  /** The schedules, one more than `boundaries`. */
  schedules: Schedule[];
  /** Non-decreasing step counts at which the next schedule takes over. */
  boundaries: number[];
}

/**
 * Runs `schedules[0]` until `boundaries[0]`, then `schedules[1]` until `boundaries[1]`, and so
 * on. Each schedule counts from its own boundary: at `count >= boundaries[i-1]` the value is
 * `schedules[i](count - boundaries[i-1])`.
 * @group Schedules
 */
export function joinSchedules(options: JoinSchedulesOptions): Schedule {
  const owner = 'joinSchedules';
  checkRequired(owner, options, ['schedules', 'boundaries'], ['schedules', 'boundaries']);
  const { schedules, boundaries } = options;
  if (!Array.isArray(schedules) || schedules.some((s) => typeof s !== 'function')) {
    throw new TypeError(`${owner}: option 'schedules' must be an array of functions (count) => number`);
  }
  if (!Array.isArray(boundaries)) {
    throw new TypeError(`${owner}: option 'boundaries' must be an array of numbers`);
  }
  if (schedules.length !== boundaries.length + 1) {
    throw new RangeError(
      `${owner}: needs one more schedule than boundaries, got ${schedules.length} schedules and ${boundaries.length} boundaries`,
    );
  }
  boundaries.forEach((b, i) => {
    checkNumber(owner, `boundaries[${i}]`, b, { min: i === 0 ? 0 : boundaries[i - 1] });
  });
  const bounds = boundaries.slice();
  const parts = schedules.slice();
  return (count) => {
    let i = bounds.length;
    while (i > 0 && count < bounds[i - 1]) i--;
    return i === 0 ? parts[0](count) : parts[i](count - bounds[i - 1]);
  };
}
