import type { Schedule } from '../types.js';
import { checkInteger, checkNumber, checkRequired } from '../internal/options.js';
import { interpolateKnots } from './piecewise.js';

/**
 * Options of {@link cosineOnecycleSchedule}.
 * @group Schedules
 */
export interface CosineOnecycleOptions {
  /** Length of the cycle in steps, a whole number > 0; the final value holds afterwards. */
  transitionSteps: number;
  /** The highest value, reached at the end of the rise. */
  peakValue: number;
  /** Fraction of the cycle spent rising, in [0, 1]. Default `0.3`. */
  pctStart?: number;
  /** The first value is `peakValue / divFactor`; > 0. Default `25`. */
  divFactor?: number;
  /** The final value is `peakValue / divFactor / finalDivFactor`; > 0. Default `1e4`. */
  finalDivFactor?: number;
}

/**
 * The 1cycle schedule (Smith & Topin 2017, Super-Convergence, arXiv:1708.07120) with cosine
 * phases, as optax's `cosine_onecycle_schedule`. With `T = transitionSteps`,
 * `init = peakValue / divFactor`, `final = init / finalDivFactor` and
 * `rise = floor(pctStart * T)` (floored as optax does, in float64: `0.29 * 100` gives 28):
 *
 *     count in [0, rise):  half cosine from init up to peakValue
 *     count in [rise, T):  half cosine from peakValue down to final
 *     count >= T:          final
 *
 * where a half cosine from `a` to `b` over `[s, e)` is `b + (a - b) * (1 + cos(pi * (count - s)
 * / (e - s))) / 2` (see {@link piecewiseInterpolateSchedule}). Defaults: `pctStart = 0.3`,
 * `divFactor = 25`, `finalDivFactor = 1e4`, optax's (PyTorch's `OneCycleLR` uses the same).
 *
 * Differs from optax only where the rise takes the whole cycle (`rise == T`, e.g. `pctStart: 1`):
 * optax keys its phases by step in one dict, so the second overwrites the first and its value
 * never reaches `peakValue`; here the value rises to `peakValue` and drops to `final` at `T`.
 * @group Schedules
 */
export function cosineOnecycleSchedule(options: CosineOnecycleOptions): Schedule {
  const owner = 'cosineOnecycleSchedule';
  const { transitionSteps: steps, init, peak, final, pctStart } = onecycleValues(owner, options, ONECYCLE_KEYS);
  const rise = Math.trunc(pctStart * steps);
  return interpolateKnots(
    [
      { step: 0, value: init },
      { step: rise, value: peak },
      { step: steps, value: final },
    ],
    'cosine',
  );
}

/**
 * Options of {@link linearOnecycleSchedule}.
 * @group Schedules
 */
export interface LinearOnecycleOptions extends CosineOnecycleOptions {
  /**
   * Fraction of the cycle after which the value is back at `peakValue / divFactor`, in
   * (`pctStart`, 1]. Default `0.85`.
   */
  pctFinal?: number;
}

/**
 * The 1cycle schedule (Smith & Topin 2017, Super-Convergence, arXiv:1708.07120) with three
 * linear phases, as optax's `linear_onecycle_schedule`. With `T = transitionSteps`,
 * `init = peakValue / divFactor`, `final = init / finalDivFactor`, `rise = floor(pctStart * T)`
 * and `fall = floor(pctFinal * T)` (floored as optax does):
 *
 *     count in [0, rise):     linear from init up to peakValue
 *     count in [rise, fall):  linear from peakValue back down to init
 *     count in [fall, T):     linear from init down to final
 *     count >= T:             final
 *
 * Defaults: `pctStart = 0.3`, `pctFinal = 0.85`, `divFactor = 25`, `finalDivFactor = 1e4`,
 * optax's.
 *
 * Differs from optax only where two phase boundaries fall on the same step, such as
 * `pctFinal: 1` (`fall == T`) or `transitionSteps: 1` (`rise == fall == 0`): optax keys its
 * phases by step in one dict, so a later phase overwrites an earlier one and the values drift
 * (with `pctFinal: 1` it ends at `peakValue / finalDivFactor` instead of `final`); here a phase of
 * no steps is skipped and every other phase keeps its values.
 * @group Schedules
 */
export function linearOnecycleSchedule(options: LinearOnecycleOptions): Schedule {
  const owner = 'linearOnecycleSchedule';
  const { transitionSteps: steps, init, peak, final, pctStart } = onecycleValues(owner, options, [...ONECYCLE_KEYS, 'pctFinal']);
  const pctFinal = checkNumber(owner, 'pctFinal', options.pctFinal ?? 0.85, { min: pctStart, minInclusive: false, max: 1 });
  return interpolateKnots(
    [
      { step: 0, value: init },
      { step: Math.trunc(pctStart * steps), value: peak },
      { step: Math.trunc(pctFinal * steps), value: init },
      { step: steps, value: final },
    ],
    'linear',
  );
}

const ONECYCLE_KEYS = ['transitionSteps', 'peakValue', 'pctStart', 'divFactor', 'finalDivFactor'];

/** The options both 1cycle schedules share, checked, and the values their phases pass through. */
function onecycleValues(owner: string, options: CosineOnecycleOptions, known: readonly string[]) {
  checkRequired(owner, options, ['transitionSteps', 'peakValue'], known);
  const transitionSteps = checkInteger(owner, 'transitionSteps', options.transitionSteps, 1);
  const peak = checkNumber(owner, 'peakValue', options.peakValue);
  const pctStart = checkNumber(owner, 'pctStart', options.pctStart ?? 0.3, { min: 0, max: 1 });
  const divFactor = checkNumber(owner, 'divFactor', options.divFactor ?? 25, { min: 0, minInclusive: false });
  const finalDivFactor = checkNumber(owner, 'finalDivFactor', options.finalDivFactor ?? 1e4, { min: 0, minInclusive: false });
  const init = peak / divFactor;
  return { transitionSteps, peak, pctStart, init, final: init / finalDivFactor };
}
