// The learning-rate schedules a racer can use: each builds one of the library's schedules from
// the racer's learning rate (the peak) and the length of the race, so a schedule's shape is
// described in fractions of the run and a shared link means the same thing for any length.
import {
  constantSchedule,
  cosineDecaySchedule,
  cosineOnecycleSchedule,
  exponentialDecay,
  piecewiseConstantSchedule,
  polynomialSchedule,
  sgdrSchedule,
  warmupCosineDecaySchedule,
  warmupConstantSchedule,
  type Schedule,
} from 'tfjs-optax';

export type ScheduleId =
  | 'constant'
  | 'cosine'
  | 'warmup-cosine'
  | 'exponential'
  | 'step'
  | 'polynomial'
  | 'warmup-constant'
  | 'onecycle'
  | 'sgdr';

export interface ScheduleParam {
  name: string;
  default: number;
  help: string;
}

export interface ScheduleKind {
  id: ScheduleId;
  label: string;
  /** The library function it calls, as shown on the page. */
  calls: string;
  params: ScheduleParam[];
  /** The schedule for a peak learning rate `lr` over a race of `steps` steps. */
  make(lr: number, steps: number, values: Record<string, number>): Schedule;
}

const fraction = (name: string, value: number, help: string): ScheduleParam => ({ name, default: value, help });

/** A whole number of steps from a fraction of the run, at least `min`. */
const stepsOf = (share: number, steps: number, min = 0): number => Math.max(min, Math.round(share * steps));

export const SCHEDULES: readonly ScheduleKind[] = [
  {
    id: 'constant',
    label: 'constant',
    calls: 'constantSchedule',
    params: [],
    make: (lr) => constantSchedule(lr),
  },
  {
    id: 'cosine',
    label: 'cosine decay',
    calls: 'cosineDecaySchedule',
    params: [fraction('alpha', 0, 'final value, as a fraction of the peak')],
    make: (lr, steps, v) => cosineDecaySchedule({ initValue: lr, decaySteps: steps, alpha: v.alpha }),
  },
  {
    id: 'warmup-cosine',
    label: 'warmup + cosine',
    calls: 'warmupCosineDecaySchedule',
    params: [fraction('warmup', 0.1, 'warmup, as a fraction of the run'), fraction('end', 0, 'final value, as a fraction of the peak')],
    make: (lr, steps, v) => {
      const warmupSteps = Math.min(stepsOf(v.warmup, steps), steps - 1);
      return warmupCosineDecaySchedule({ initValue: 0, peakValue: lr, warmupSteps, decaySteps: steps, endValue: v.end * lr });
    },
  },
  {
    id: 'exponential',
    label: 'exponential decay',
    calls: 'exponentialDecay',
    params: [fraction('rate', 0.01, 'factor reached at the end of the run')],
    make: (lr, steps, v) => exponentialDecay({ initValue: lr, transitionSteps: steps, decayRate: v.rate }),
  },
  {
    id: 'step',
    label: 'step (piecewise constant)',
    calls: 'piecewiseConstantSchedule',
    params: [
      fraction('at1', 0.5, 'first drop, as a fraction of the run'),
      fraction('at2', 0.75, 'second drop, as a fraction of the run'),
      fraction('scale', 0.1, 'factor applied at each drop'),
    ],
    make: (lr, steps, v) => {
      const boundariesAndScales: Record<number, number> = {};
      for (const at of [v.at1, v.at2]) {
        const boundary = stepsOf(at, steps, 1);
        boundariesAndScales[boundary] = (boundariesAndScales[boundary] ?? 1) * v.scale;
      }
      return piecewiseConstantSchedule({ initValue: lr, boundariesAndScales });
    },
  },
  {
    id: 'polynomial',
    label: 'polynomial decay',
    calls: 'polynomialSchedule',
    params: [fraction('power', 2, 'power of the decay'), fraction('end', 0.01, 'final value, as a fraction of the peak')],
    make: (lr, steps, v) => polynomialSchedule({ initValue: lr, endValue: v.end * lr, power: v.power, transitionSteps: steps }),
  },
  {
    id: 'warmup-constant',
    label: 'warmup + constant',
    calls: 'warmupConstantSchedule',
    params: [fraction('warmup', 0.1, 'warmup, as a fraction of the run')],
    make: (lr, steps, v) => warmupConstantSchedule({ initValue: 0, peakValue: lr, warmupSteps: stepsOf(v.warmup, steps) }),
  },
  {
    id: 'onecycle',
    label: 'one-cycle (cosine)',
    calls: 'cosineOnecycleSchedule',
    params: [fraction('pctStart', 0.3, 'rise, as a fraction of the run'), fraction('divFactor', 25, 'peak / initial value')],
    make: (lr, steps, v) =>
      cosineOnecycleSchedule({ transitionSteps: Math.max(1, steps), peakValue: lr, pctStart: v.pctStart, divFactor: v.divFactor }),
  },
  {
    id: 'sgdr',
    label: 'SGDR (warm restarts)',
    calls: 'sgdrSchedule',
    params: [fraction('cycles', 3, 'number of cycles'), fraction('warmup', 0.05, 'warmup of each cycle, as a fraction of it')],
    make: (lr, steps, v) => {
      const cycles = Math.max(1, Math.round(v.cycles));
      const decaySteps = Math.max(2, Math.floor(steps / cycles));
      const warmupSteps = Math.min(stepsOf(v.warmup, decaySteps), decaySteps - 1);
      return sgdrSchedule(Array.from({ length: cycles }, () => ({ initValue: 0, peakValue: lr, warmupSteps, decaySteps })));
    },
  },
];

export function scheduleById(id: string): ScheduleKind | undefined {
  return SCHEDULES.find((s) => s.id === id);
}

export function defaultScheduleValues(kind: ScheduleKind): Record<string, number> {
  return Object.fromEntries(kind.params.map((p) => [p.name, p.default]));
}
