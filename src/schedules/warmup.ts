import type { Schedule } from '../types.js';
import { checkNumber } from '../internal/options.js';

/**
 * The linear warmup phase shared by the warmup schedules: from `initValue` at step 0 to
 * `peakValue` at `warmupSteps`. With no warmup the phase is never used, so it is a constant.
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
