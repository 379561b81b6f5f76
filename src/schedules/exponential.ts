import type { Schedule } from '../types.js';
import { checkBoolean, checkNumber, checkRequired } from '../internal/options.js';
import { joinSchedules } from './join.js';
import { warmupPhase } from './warmup.js';

/**
 * Options of {@link exponentialDecay}.
 * @group Schedules
 */
export interface ExponentialDecayOptions {
  /** Value from step 0 until `transitionBegin`, where the decay starts (a finite number). */
  initValue: number;
  /** Steps over which the value is multiplied by `decayRate` once, > 0. */
  transitionSteps: number;
  /** Factor per `transitionSteps`, > 0 (< 1 decays, > 1 grows). */
  decayRate: number;
  /** Steps to hold `initValue` before decaying, >= 0. Default `0`. */
  transitionBegin?: number;
  /** Decay in whole `transitionSteps` stairs instead of continuously. Default `false`. */
  staircase?: boolean;
  /** A floor (when decaying) or ceiling (when growing) for the value. Default: none. */
  endValue?: number;
}

/**
 * Exponential decay:
 *
 *     k = count - transitionBegin
 *     value = k <= 0 ? initValue : initValue * decayRate^(k / transitionSteps)
 *
 * with the exponent floored when `staircase` is set, and the value clipped at `endValue` from
 * below (`decayRate < 1`) or above (`decayRate > 1`) when it is given.
 * @group Schedules
 */
export function exponentialDecay(options: ExponentialDecayOptions): Schedule {
  return exponentialFor('exponentialDecay', options);
}

const EXPONENTIAL_KEYS = ['initValue', 'transitionSteps', 'decayRate', 'transitionBegin', 'staircase', 'endValue'];

function exponentialFor(owner: string, options: ExponentialDecayOptions): Schedule {
  checkRequired(owner, options, ['initValue', 'transitionSteps', 'decayRate'], EXPONENTIAL_KEYS);
  const initValue = checkNumber(owner, 'initValue', options.initValue);
  const steps = checkNumber(owner, 'transitionSteps', options.transitionSteps, { min: 0, minInclusive: false });
  const rate = checkNumber(owner, 'decayRate', options.decayRate, { min: 0, minInclusive: false });
  const begin = checkNumber(owner, 'transitionBegin', options.transitionBegin ?? 0, { min: 0 });
  const staircase = checkBoolean(owner, 'staircase', options.staircase ?? false);
  const end = options.endValue === undefined ? undefined : checkNumber(owner, 'endValue', options.endValue);
  return (count) => {
    const k = count - begin;
    let p = k / steps;
    if (staircase) p = Math.floor(p);
    const value = k <= 0 ? initValue : initValue * rate ** p;
    if (end === undefined) return value;
    return rate < 1 ? Math.max(value, end) : Math.min(value, end);
  };
}

/**
 * Options of {@link warmupExponentialDecaySchedule}.
 * @group Schedules
 */
export interface WarmupExponentialDecayOptions extends Omit<ExponentialDecayOptions, 'initValue'> {
  /** Value at step 0, where the linear warmup starts. */
  initValue: number;
  /** Value at the end of the warmup, where the decay starts. */
  peakValue: number;
  /** Steps of linear warmup, >= 0. */
  warmupSteps: number;
}

/**
 * Linear warmup from `initValue` to `peakValue` over `warmupSteps`, then
 * `exponentialDecay({ initValue: peakValue, transitionSteps, decayRate, transitionBegin,
 * staircase, endValue })`, which counts from the end of the warmup.
 * @group Schedules
 */
export function warmupExponentialDecaySchedule(options: WarmupExponentialDecayOptions): Schedule {
  const owner = 'warmupExponentialDecaySchedule';
  checkRequired(owner, options, ['initValue', 'peakValue', 'warmupSteps', 'transitionSteps', 'decayRate'], [
    ...EXPONENTIAL_KEYS,
    'peakValue',
    'warmupSteps',
  ]);
  const { initValue, peakValue, warmupSteps, ...decay } = options;
  const warmup = warmupPhase(owner, initValue, peakValue, warmupSteps);
  const main = exponentialFor(owner, { ...decay, initValue: peakValue });
  return joinSchedules({ schedules: [warmup, main], boundaries: [warmupSteps] });
}
