// What a race is (function, start, length, racers), the curated races the page offers, and the
// race as a query string (see url-state.ts for the racers' part).
import { FUNCTIONS, functionById, type FunctionId, type TestFunction } from './functions.js';
import { defaultRacer, type RacerConfig } from './racer.js';
import type { OptimizerName } from './registry.js';
import { decodeRacers, encodeRacer, formatQuery, parseNumber } from './url-state.js';

export interface RaceState {
  fn: FunctionId;
  start: [number, number];
  steps: number;
  racers: RacerConfig[];
}

export const MAX_STEPS = 2000;
export const MAX_RACERS = 8;

export interface Preset {
  id: string;
  label: string;
  state: RaceState;
}

function fnOf(id: FunctionId): TestFunction {
  return functionById(id) as TestFunction;
}

/** A racer for `fn` with the suggested learning rate, plus overrides. */
function racer(fn: FunctionId, name: OptimizerName, overrides: Partial<RacerConfig> = {}): RacerConfig {
  return defaultRacer(name, fnOf(fn).learningRates, overrides);
}

function race(fn: FunctionId, steps: number, racers: RacerConfig[], start = fnOf(fn).start): RaceState {
  return { fn, start: [...start], steps, racers };
}

export const PRESETS: readonly Preset[] = [
  {
    // The README's screenshot: momentum's zig-zag, Adam in a chain with clipping and a warmup +
    // cosine schedule, RMSprop, Lion's sign steps, and L-BFGS's line search.
    id: 'rosenbrock',
    label: "Rosenbrock's valley",
    state: race('rosenbrock', 500, [
      racer('rosenbrock', 'sgd', { hyper: { momentum: 0.9 }, learningRate: 1e-3 }),
      racer('rosenbrock', 'adam', { learningRate: 0.1, clip: { kind: 'norm', threshold: 10 }, schedule: { id: 'warmup-cosine', values: {} } }),
      racer('rosenbrock', 'rmsprop', { learningRate: 0.01 }),
      racer('rosenbrock', 'lion', { learningRate: 0.01 }),
      racer('rosenbrock', 'lbfgs'),
    ]),
  },
  {
    id: 'saddle',
    label: 'Escaping a saddle point',
    state: race('saddle', 200, [
      racer('saddle', 'sgd', { learningRate: 0.05 }),
      racer('saddle', 'sgd', { learningRate: 0.05, hyper: { momentum: 0.9 } }),
      racer('saddle', 'adam', { learningRate: 0.05 }),
      racer('saddle', 'rmsprop', { learningRate: 0.01 }),
      racer('saddle', 'signSgd', { learningRate: 0.02 }),
    ]),
  },
  {
    id: 'quartic',
    label: 'Momentum over a local minimum',
    // As examples/local-minimum.ts: plain descent stays in the basin it starts in, heavy-ball
    // momentum carries the iterate over the hump (Nesterov's look-ahead brakes it in time).
    state: race('quartic', 150, [
      racer('quartic', 'sgd', { learningRate: 0.1 }),
      racer('quartic', 'sgd', { learningRate: 0.1, hyper: { momentum: 0.9 } }),
      racer('quartic', 'sgd', { learningRate: 0.1, hyper: { momentum: 0.9, nesterov: true } }),
      racer('quartic', 'adam', { learningRate: 0.5 }),
      racer('quartic', 'lion', { learningRate: 0.1 }),
    ]),
  },
  {
    id: 'quadratic',
    label: 'Ill-conditioning',
    state: race('quadratic', 200, [
      racer('quadratic', 'sgd', { learningRate: 0.019 }),
      racer('quadratic', 'sgd', { learningRate: 0.01, hyper: { momentum: 0.9 } }),
      racer('quadratic', 'adam', { learningRate: 0.3 }),
      racer('quadratic', 'adagrad', { learningRate: 1 }),
      racer('quadratic', 'lbfgs'),
    ]),
  },
  {
    id: 'ackley',
    label: "Ackley's local minima",
    // Small steps settle in the nearest local minimum; large ones, or a step size from the loss
    // (Polyak) or the trust ratio (LAMB), reach the global one.
    state: race('ackley', 300, [
      racer('ackley', 'sgd', { learningRate: 0.02 }),
      racer('ackley', 'adam', { learningRate: 0.1 }),
      racer('ackley', 'adam', { learningRate: 0.5 }),
      racer('ackley', 'polyakSgd'),
      racer('ackley', 'lamb', { learningRate: 0.1 }),
    ]),
  },
  {
    id: 'schedules',
    label: 'One optimizer, five schedules',
    // On Ackley, decaying the rate lets Adam settle in the global minimum; a warmup makes the
    // first steps small, and they drop into the nearest local minimum.
    state: race('ackley', 300, [
      racer('ackley', 'adam', { learningRate: 0.5 }),
      racer('ackley', 'adam', { learningRate: 0.5, schedule: { id: 'cosine', values: {} } }),
      racer('ackley', 'adam', { learningRate: 0.5, schedule: { id: 'warmup-cosine', values: {} } }),
      racer('ackley', 'adam', { learningRate: 0.5, schedule: { id: 'step', values: {} } }),
      racer('ackley', 'adam', { learningRate: 0.5, schedule: { id: 'exponential', values: {} } }),
    ]),
  },
  {
    id: 'clipping',
    label: 'Clipping a too-large step',
    // SGD at 0.01 leaves Rosenbrock's valley in a few steps; clipping the gradient keeps it.
    state: race('rosenbrock', 300, [
      racer('rosenbrock', 'sgd', { learningRate: 0.01 }),
      racer('rosenbrock', 'sgd', { learningRate: 0.01, clip: { kind: 'norm', threshold: 5 } }),
      racer('rosenbrock', 'sgd', { learningRate: 0.01, clip: { kind: 'value', threshold: 2 } }),
      racer('rosenbrock', 'sgd', { learningRate: 0.002 }),
    ]),
  },
];

export function defaultState(): RaceState {
  return structuredClone(PRESETS[0].state);
}

/** The race as a query string; `extra` pairs (such as `backend`) are kept in front. */
export function encodeState(state: RaceState, extra: Array<[string, string]> = []): string {
  return formatQuery([
    ...extra,
    ['fn', state.fn],
    ['start', state.start.map(String).join(',')],
    ['steps', String(state.steps)],
    ...state.racers.map((r): [string, string] => ['o', encodeRacer(r)]),
  ]);
}

/**
 * The race a query string describes. What is missing comes from the default race; what cannot
 * be read is reported in `errors` (and replaced by the default) rather than thrown.
 */
export function decodeState(search: string): { state: RaceState; errors: string[] } {
  const query = new URLSearchParams(search);
  const state = defaultState();
  const errors: string[] = [];
  const fn = query.get('fn');
  if (fn !== null) {
    if (functionById(fn)) {
      state.fn = fn as FunctionId;
      state.start = [...fnOf(state.fn).start];
    } else errors.push(`fn=${fn}: not one of ${FUNCTIONS.map((f) => f.id).join(', ')}`);
  }
  const start = query.get('start');
  if (start !== null) {
    try {
      const xy = start.split(',').map((s) => parseNumber(s, 'start'));
      if (xy.length !== 2) throw new Error('start: give two numbers, x,y');
      state.start = [xy[0], xy[1]];
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  const steps = query.get('steps');
  if (steps !== null) {
    const n = Number(steps);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_STEPS) state.steps = n;
    else errors.push(`steps=${steps}: a whole number from 1 to ${MAX_STEPS}`);
  }
  if (query.has('o')) {
    const { racers, errors: racerErrors } = decodeRacers(query);
    state.racers = racers.slice(0, MAX_RACERS);
    errors.push(...racerErrors);
    if (racers.length > MAX_RACERS) errors.push(`at most ${MAX_RACERS} racers: the others were left out`);
  }
  return { state, errors };
}
