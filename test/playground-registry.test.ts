// The playground's optimizer registry (examples/playground/src/registry.ts) against the library:
// every exported optimizer is listed, the defaults it shows are the library's, the schedules it
// offers are accepted, and the learning rates it suggests make progress on every test function.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it, vi } from 'vitest';
import * as lib from '../src/index.js';
import { FUNCTIONS, functionById, lossOf, type PointParams, type TestFunction } from '../examples/playground/src/functions.js';
import { Race } from '../examples/playground/src/race.js';
import { buildTransformation, defaultRacer } from '../examples/playground/src/racer.js';
import { OPTIMIZERS, defaultValues, optionsFor, suggestedLearningRate, type OptimizerEntry } from '../examples/playground/src/registry.js';
import { OPTIMIZERS as EXPORTED_OPTIMIZERS } from './properties/registry.js';

// The playground imports the library as 'tfjs-optax' (Vite aliases it to src/index.ts): the same here.
vi.mock('tfjs-optax', () => import('../src/index.js'));

type Factory = (lr: lib.ScalarOrSchedule | undefined, options?: Record<string, unknown>) => lib.GradientTransformation<unknown>;

const exportedOptimizers = EXPORTED_OPTIMIZERS.map((entry) => entry.name).sort();
const rosenbrock = functionById('rosenbrock') as TestFunction;

function factoryOf(entry: OptimizerEntry): Factory {
  return (lib as unknown as Record<string, Factory>)[entry.name];
}

/** Losses and points of `steps` trainSteps of `tx` on `fn` from its start, as plain numbers. */
function descend(fn: TestFunction, tx: lib.GradientTransformation<unknown>, matrix: boolean, steps: number): number[] {
  const loss = lossOf(fn);
  const lossAndGrad = lib.valueAndGrad(loss);
  let params: PointParams = { xy: tf.tensor(fn.start, matrix ? [1, 2] : [2]) };
  let state = tx.init(params);
  const out: number[] = [];
  for (let k = 0; k < steps; k++) {
    const { value, grads } = lossAndGrad(params);
    out.push(value.dataSync()[0]);
    ({ params, state } = lib.trainStep(tx, params, state, grads, { extra: { value, grad: grads, valueFn: loss as (p: lib.Params) => tf.Scalar } }));
    value.dispose();
    out.push(...params.xy.dataSync());
  }
  lib.treeDispose([params, state]);
  return out;
}

describe('playground registry', () => {
  it('lists every optimizer that src/index.ts exports, once, and nothing else', () => {
    // A floor, so that the comparison below can never pass on two empty lists.
    expect(exportedOptimizers.length).toBeGreaterThanOrEqual(38);
    const listed = OPTIMIZERS.map((o) => o.name);
    const missing = exportedOptimizers.filter((name) => !listed.includes(name as OptimizerEntry['name']));
    expect(missing, 'exported optimizers missing from examples/playground/src/registry.ts').toEqual([]);
    expect([...listed].sort()).toEqual(exportedOptimizers);
  });

  it.each(OPTIMIZERS.map((o) => [o.name, o] as const))("%s: the defaults it shows are the library's (3 steps, bit for bit)", (_, entry) => {
    const make = factoryOf(entry);
    const lr = suggestedLearningRate(entry, rosenbrock.learningRates) ?? undefined;
    const implicit = descend(rosenbrock, make(lr), entry.matrix === true, 3);
    const explicit = descend(rosenbrock, make(lr, optionsFor(entry, defaultValues(entry))), entry.matrix === true, 3);
    expect(explicit).toEqual(implicit);
    // The point moved: a changed default would show in these numbers.
    expect(implicit.slice(-2)).not.toEqual(rosenbrock.start);
  });

  it.each(OPTIMIZERS.map((o) => [o.name, o] as const))('%s: every optional hyperparameter is accepted when switched on', (_, entry) => {
    const make = factoryOf(entry);
    const lr = suggestedLearningRate(entry, rosenbrock.learningRates) ?? undefined;
    for (const h of entry.hyperparameters) {
      if (h.kind !== 'optional') continue;
      expect(() => make(lr, optionsFor(entry, { [h.name]: h.whenOn })), h.name).not.toThrow();
      expect(() => make(lr, optionsFor(entry, { [h.name]: null })), h.name).not.toThrow();
    }
  });

  it('offers a learning-rate schedule exactly to the optimizers that accept one', () => {
    const schedule = lib.cosineDecaySchedule({ initValue: 0.01, decaySteps: 10 });
    const refused: string[] = [];
    for (const entry of OPTIMIZERS) {
      let accepted = true;
      try {
        descend(rosenbrock, factoryOf(entry)(schedule, {}), entry.matrix === true, 2);
      } catch {
        accepted = false;
      }
      const offered = entry.learningRate !== null && entry.learningRate.schedulable;
      if (entry.learningRate !== null) expect(accepted, entry.name).toBe(offered);
      if (!accepted) refused.push(entry.name);
    }
    // lbfgs takes a schedule too, but the playground leaves its step to the line search.
    expect(refused.sort()).toEqual(['polyakSgd', 'rprop']);
  });
});

describe('playground suggested learning rates', () => {
  // 40 steps of every optimizer on every function: each ends below where it started, finite.
  it.each(FUNCTIONS.map((f) => [f.id, f] as const))('every optimizer lowers the loss on %s', async (_, fn) => {
    const before = tf.memory().numTensors;
    const racers = OPTIMIZERS.map((o) => defaultRacer(o.name, fn.learningRates));
    const race = new Race(fn, fn.start, 40, racers);
    while (!race.finished) await race.advance(40);
    const bad = race.runs
      .filter((run) => !(run.status === 'finished' && run.losses[run.losses.length - 1] < run.losses[0]))
      .map((run) => `${run.label}: ${run.status} ${run.message ?? ''} ${run.losses[0]} -> ${run.losses[run.losses.length - 1]}`);
    expect(bad).toEqual([]);
    expect(race.runs).toHaveLength(OPTIMIZERS.length);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('builds each racer as the chain clip, weight decay, optimizer', () => {
    const config = defaultRacer('sgd', rosenbrock.learningRates, { clip: { kind: 'norm', threshold: 1 }, weightDecay: 0.5 });
    const built = descend(rosenbrock, buildTransformation(config, 10), false, 2);
    const lr = config.learningRate as number;
    const manual = descend(rosenbrock, lib.chain(lib.clipByGlobalNorm(1), lib.addDecayedWeights(0.5), lib.sgd(lr)), false, 2);
    expect(built).toEqual(manual);
    // The clipping mattered: plain sgd takes another path.
    expect(descend(rosenbrock, lib.sgd(lr), false, 2)).not.toEqual(manual);
  });
});
