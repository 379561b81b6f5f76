import type { Schedule } from '../types.js';
import { checkNumber, checkRequired } from '../internal/options.js';
import { describeNode } from '../tree/walk.js';
import { joinSchedules } from './join.js';
import { warmupPhase } from './warmup.js';

/**
 * Options of {@link cosineDecaySchedule}.
 * @group Schedules
 */
export interface CosineDecayOptions {
  /** Value at step 0, where the decay starts (a finite number). */
  initValue: number;
  /** Steps over which to decay, > 0; the value holds afterwards. */
  decaySteps: number;
  /** The final value as a fraction of `initValue`. Default `0`. */
  alpha?: number;
  /** Power applied to the cosine factor. Default `1`. */
  exponent?: number;
}

/**
 * Cosine decay (Loshchilov & Hutter 2017, SGDR, arXiv:1608.03983), without restarts:
 *
 *     k = min(count, decaySteps)
 *     value = initValue * ((1 - alpha) * (0.5 * (1 + cos(pi * k / decaySteps)))^exponent + alpha)
 * @group Schedules
 */
export function cosineDecaySchedule(options: CosineDecayOptions): Schedule {
  return cosineFor('cosineDecaySchedule', options);
}

function cosineFor(owner: string, options: CosineDecayOptions): Schedule {
  checkRequired(owner, options, ['initValue', 'decaySteps'], ['initValue', 'decaySteps', 'alpha', 'exponent']);
  const initValue = checkNumber(owner, 'initValue', options.initValue);
  const steps = checkNumber(owner, 'decaySteps', options.decaySteps, { min: 0, minInclusive: false });
  const alpha = checkNumber(owner, 'alpha', options.alpha ?? 0);
  const exponent = checkNumber(owner, 'exponent', options.exponent ?? 1);
  return (count) => {
    const k = Math.min(count, steps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * k) / steps));
    return initValue * ((1 - alpha) * cosine ** exponent + alpha);
  };
}

/**
 * Options of {@link warmupCosineDecaySchedule}.
 * @group Schedules
 */
export interface WarmupCosineDecayOptions {
  /** Value at step 0, where the linear warmup starts. */
  initValue: number;
  /** Value at the end of the warmup, where the cosine decay starts. */
  peakValue: number;
  /** Steps of linear warmup, >= 0. */
  warmupSteps: number;
  /** Total steps, warmup **included**, > `warmupSteps`. */
  decaySteps: number;
  /** Value at the end of the decay. Default `0`. */
  endValue?: number;
  /** Power applied to the cosine factor. Default `1`. */
  exponent?: number;
}

/**
 * Linear warmup from `initValue` to `peakValue` over `warmupSteps`, then cosine decay from
 * `peakValue` to `endValue` over the remaining `decaySteps - warmupSteps` steps (so `decaySteps`
 * counts the whole schedule, as in optax), holding `endValue` afterwards.
 * @group Schedules
 */
export function warmupCosineDecaySchedule(options: WarmupCosineDecayOptions): Schedule {
  return warmupCosineFor('warmupCosineDecaySchedule', options);
}

function warmupCosineFor(owner: string, options: WarmupCosineDecayOptions): Schedule {
  checkRequired(owner, options, ['initValue', 'peakValue', 'warmupSteps', 'decaySteps'], [
    'initValue',
    'peakValue',
    'warmupSteps',
    'decaySteps',
    'endValue',
    'exponent',
  ]);
  const { initValue, peakValue, warmupSteps, decaySteps, endValue = 0, exponent = 1 } = options;
  const warmup = warmupPhase(owner, initValue, peakValue, warmupSteps);
  checkNumber(owner, 'decaySteps', decaySteps, { min: warmupSteps, minInclusive: false });
  checkNumber(owner, 'endValue', endValue);
  const alpha = peakValue === 0 ? 0 : endValue / peakValue;
  const decay = cosineFor(owner, { initValue: peakValue, decaySteps: decaySteps - warmupSteps, alpha, exponent });
  return joinSchedules({ schedules: [warmup, decay], boundaries: [warmupSteps] });
}

/**
 * SGDR, stochastic gradient descent with warm restarts (Loshchilov & Hutter 2017,
 * arXiv:1608.03983): the cycles run one after another, each a {@link warmupCosineDecaySchedule}
 * with its own options that counts from the step where it starts. Cycle `i` starts at the sum of
 * the `decaySteps` of the cycles before it, and the last cycle holds its `endValue` once done:
 *
 *     start_0 = 0, start_{i+1} = start_i + cycles[i].decaySteps
 *     value = warmupCosineDecaySchedule(cycles[i])(count - start_i)  for the last i with start_i <= count
 *
 * So `sgdrSchedule([c])` is `warmupCosineDecaySchedule(c)`. As optax's `sgdr_schedule`, which
 * takes the cycles as dicts of keyword arguments; an empty list is a `RangeError` here (optax
 * fails at the first call), and an error in a cycle names it (`sgdrSchedule: cycles[1]: ...`).
 * @group Schedules
 */
export function sgdrSchedule(cycles: WarmupCosineDecayOptions[]): Schedule {
  const owner = 'sgdrSchedule';
  if (!Array.isArray(cycles)) {
    throw new TypeError(`${owner}: option 'cycles' must be an array of warmupCosineDecaySchedule options, got ${describeNode(cycles)}`);
  }
  if (cycles.length === 0) {
    throw new RangeError(`${owner}: option 'cycles' must hold at least one cycle, got []`);
  }
  const schedules = cycles.map((cycle, i) => warmupCosineFor(`${owner}: cycles[${i}]`, cycle));
  const boundaries: number[] = [];
  let start = 0;
  for (const cycle of cycles.slice(0, -1)) {
    start += cycle.decaySteps;
    boundaries.push(start);
  }
  return joinSchedules({ schedules, boundaries });
}
