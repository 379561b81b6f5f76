// One racer: an optimizer with its hyperparameters, and the chain around it (gradient clipping,
// added weight decay, a learning-rate schedule), turned into a tfjs-optax transformation.
import * as optax from 'tfjs-optax';
import type { GradientTransformation, ScalarOrSchedule, Schedule, StateDtype } from 'tfjs-optax';
import type { LearningRateHint } from './functions.js';
import {
  optimizerByName,
  optionsFor,
  roundSignificant,
  suggestedLearningRate,
  type HyperValues,
  type OptimizerEntry,
  type OptimizerName,
} from './registry.js';
import { defaultScheduleValues, scheduleById, type ScheduleId } from './schedules.js';
import { effectiveStateDtype } from './state-dtype.js';

export type ClipKind = 'none' | 'norm' | 'value';

export interface RacerConfig {
  optimizer: OptimizerName;
  /** `null` for an optimizer that takes none (L-BFGS). */
  learningRate: number | null;
  /** Hyperparameters that differ from the library's defaults. */
  hyper: HyperValues;
  /** `clipByGlobalNorm(threshold)` or element-wise `clip(threshold)` before everything else. */
  clip: { kind: ClipKind; threshold: number };
  /** `addDecayedWeights(weightDecay)` before the optimizer (L2 regularisation); 0 for none. */
  weightDecay: number;
  schedule: { id: ScheduleId; values: Record<string, number> };
  /**
   * The optimizer's `stateDtype` (bfloat16 or int8 moments), set on the MLP page; absent for
   * float32. It applies only where the optimizer takes the option (see state-dtype.ts).
   */
  stateDtype?: StateDtype;
}

export function entryOf(config: RacerConfig): OptimizerEntry {
  const entry = optimizerByName(config.optimizer);
  if (!entry) throw new Error(`unknown optimizer ${config.optimizer}`);
  return entry;
}

/** A racer with the library's defaults and a learning rate that suits the problem. */
export function defaultRacer(optimizer: OptimizerName, hint: LearningRateHint, overrides: Partial<RacerConfig> = {}): RacerConfig {
  const entry = optimizerByName(optimizer);
  if (!entry) throw new Error(`unknown optimizer ${optimizer}`);
  return {
    optimizer,
    learningRate: suggestedLearningRate(entry, hint),
    hyper: {},
    clip: { kind: 'none', threshold: 1 },
    weightDecay: 0,
    schedule: { id: 'constant', values: {} },
    ...overrides,
  };
}

/** Whether the racer's schedule applies: the optimizer must take a schedule as learning rate. */
export function scheduleApplies(config: RacerConfig): boolean {
  const lr = entryOf(config).learningRate;
  return lr !== null && lr.schedulable && config.learningRate !== null;
}

/** The learning-rate schedule the racer's optimizer gets, or null when it gets a number or none. */
export function racerSchedule(config: RacerConfig, steps: number): Schedule | null {
  if (!scheduleApplies(config) || config.schedule.id === 'constant') return null;
  const kind = scheduleById(config.schedule.id);
  if (!kind) throw new Error(`unknown schedule ${config.schedule.id}`);
  const values = { ...defaultScheduleValues(kind), ...config.schedule.values };
  return kind.make(config.learningRate as number, steps, values);
}

type OptimizerFactory = (learningRate: ScalarOrSchedule | undefined, options: Record<string, unknown>) => GradientTransformation<unknown>;

/**
 * The racer as a tfjs-optax transformation:
 * `chain(clipByGlobalNorm | clip, addDecayedWeights, optimizer(learningRate or schedule, options))`,
 * with the parts that are off left out. Throws the library's error for a bad hyperparameter.
 */
export function buildTransformation(config: RacerConfig, steps: number): GradientTransformation<unknown> {
  const entry = entryOf(config);
  // Indexing the module by an OptimizerName type-checks that every registry name is an export.
  const factory = optax[config.optimizer] as OptimizerFactory;
  const learningRate = racerSchedule(config, steps) ?? config.learningRate ?? undefined;
  const dtype = effectiveStateDtype(config);
  const options = optionsFor(entry, config.hyper);
  const optimizer = factory(learningRate, dtype === 'float32' ? options : { ...options, stateDtype: dtype });
  const parts: GradientTransformation<any>[] = [];
  if (config.clip.kind === 'norm') parts.push(optax.clipByGlobalNorm(config.clip.threshold));
  if (config.clip.kind === 'value') parts.push(optax.clip(config.clip.threshold));
  if (config.weightDecay !== 0) parts.push(optax.addDecayedWeights(config.weightDecay));
  return parts.length === 0 ? optimizer : optax.chain(...parts, optimizer);
}

/** A short name for legends: `adam 0.05 · clip‖g‖ 1 · wd 1e-4 · cosine · int8 state`. */
export function racerLabel(config: RacerConfig): string {
  const parts = [config.learningRate === null ? config.optimizer : `${config.optimizer} ${formatNumber(config.learningRate)}`];
  const changed = Object.entries(config.hyper).map(([k, v]) => `${k}=${v === null ? 'off' : typeof v === 'number' ? formatNumber(v) : v}`);
  if (changed.length > 0) parts[0] += ` (${changed.join(', ')})`;
  if (config.clip.kind === 'norm') parts.push(`clip ‖g‖≤${formatNumber(config.clip.threshold)}`);
  if (config.clip.kind === 'value') parts.push(`clip |g|≤${formatNumber(config.clip.threshold)}`);
  if (config.weightDecay !== 0) parts.push(`wd ${formatNumber(config.weightDecay)}`);
  if (scheduleApplies(config) && config.schedule.id !== 'constant') parts.push(config.schedule.id);
  const dtype = effectiveStateDtype(config);
  if (dtype !== 'float32') parts.push(`${dtype} state`);
  return parts.join(' · ');
}

/** Numbers as people write them: 0.05, 1e-4, 300. */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e5) return String(roundSignificant(x, 4));
  return x.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
}
