import type { Schedule } from '../types.js';
import { checkNumber, checkRequired } from '../internal/options.js';

/**
 * Options of {@link warmupConstantSchedule}.
 * @group Schedules
 */
export interface WarmupConstantOptions {
  /** Value at step 0, where the linear warmup starts. */
  initValue: number;
  /** Value at the end of the warmup, held from then on. */
  peakValue: number;
  /** Steps of linear warmup, >= 0. */
  warmupSteps: number;
}

/**
 * Linear warmup from `initValue` to `peakValue` over `warmupSteps`, then `peakValue` for good:
 *
 *     value = initValue + (peakValue - initValue) * min(count, warmupSteps) / warmupSteps
 *
 * With `warmupSteps: 0` the value is `peakValue` from step 0, as for the warmup of
 * `warmupCosineDecaySchedule`. optax builds this schedule as a linear schedule, whose
 * zero-length transition falls back to a constant `init_value`; holding the peak is what the
 * name promises, so it differs there.
 * @group Schedules
 */
export function warmupConstantSchedule(options: WarmupConstantOptions): Schedule {
  const owner = 'warmupConstantSchedule';
  const keys = ['initValue', 'peakValue', 'warmupSteps'];
  checkRequired(owner, options, keys, keys);
  return warmupPhase(owner, options.initValue, options.peakValue, options.warmupSteps);
}

/**
 * The linear warmup phase shared by the warmup schedules: from `initValue` at step 0 to
 * `peakValue` at `warmupSteps`, holding `peakValue` afterwards. With no warmup it is the
 * constant `peakValue`.
 * @internal
 */
export function warmupPhase(owner: string, initValue: number, peakValue: number, warmupSteps: number): Schedule {
  const init = checkNumber(owner, 'initValue', initValue);
  const peak = checkNumber(owner, 'peakValue', peakValue);
  const steps = checkNumber(owner, 'warmupSteps', warmupSteps, { min: 0 });
  if (steps === 0) return () => peak;
  return (count) => {
    const k = Math.min(Math.max(count, 0), steps);
    return (init - peak) * (1 - k / steps) + peak;
  };
}
