// The playground's links: a race or an MLP comparison written into a query string reads back
// to the same state, for every optimizer, hyperparameter kind, chain part and schedule; a
// broken link gives messages and defaults, not an exception.
import { describe, expect, it, vi } from 'vitest';
import { defaultMlpState, decodeMlpState, encodeMlpState } from '../examples/playground/src/mlp-state.js';
import { PRESETS, decodeState, defaultState, encodeState, type RaceState } from '../examples/playground/src/race-state.js';
import type { RacerConfig } from '../examples/playground/src/racer.js';
import { OPTIMIZERS, type Hyperparameter, type HyperValue } from '../examples/playground/src/registry.js';
import { SCHEDULES } from '../examples/playground/src/schedules.js';
import { STATE_DTYPE_TAKERS } from '../examples/playground/src/state-dtype.js';
import { decodeRacer, encodeRacer } from '../examples/playground/src/url-state.js';
import { RACE_QUERY } from './browser/playground-pages.js';

vi.mock('tfjs-optax', () => import('../src/index.js'));

/** A value other than the default, of the hyperparameter's kind. */
function changed(h: Hyperparameter): HyperValue {
  switch (h.kind) {
    case 'number':
      return h.integer ? h.default + 3 : h.default === 0 ? 0.125 : h.default * 0.7;
    case 'boolean':
      return !h.default;
    case 'choice':
      return h.choices.find((c) => c !== h.default) as string;
    case 'optional':
      return h.default === null ? h.whenOn : null;
  }
}

/** One racer per optimizer with every hyperparameter changed, cycling through clips and schedules. */
function everythingChanged(): RacerConfig[] {
  return OPTIMIZERS.map((entry, i) => {
    const schedule = SCHEDULES[i % SCHEDULES.length];
    return {
      optimizer: entry.name,
      learningRate: entry.learningRate === null ? null : 0.0123 * (i + 1),
      hyper: Object.fromEntries(entry.hyperparameters.map((h) => [h.name, changed(h)])),
      // Without clipping the threshold is not in the link: it reads back as the default, 1.
      clip: i % 3 === 0 ? { kind: 'none' as const, threshold: 1 } : { kind: i % 3 === 1 ? ('norm' as const) : ('value' as const), threshold: 0.25 * (i + 1) },
      weightDecay: i % 2 === 0 ? 0 : 1e-4 * i,
      schedule: { id: schedule.id, values: Object.fromEntries(schedule.params.map((p) => [p.name, p.default + 0.5])) },
    };
  });
}

describe('playground links', () => {
  it.each(PRESETS.map((p) => [p.id, p.state] as const))('the %s preset reads back from its link', (_, state) => {
    const query = encodeState(state);
    const { state: back, errors } = decodeState(query);
    expect(errors).toEqual([]);
    expect(back).toEqual(state);
    expect(encodeState(back)).toBe(query);
  });

  it("the browser test and the screenshots race the default preset", () => {
    expect(RACE_QUERY).toBe(encodeState(PRESETS[0].state));
    expect(decodeState('').state).toEqual(PRESETS[0].state);
  });

  it('every optimizer, hyperparameter, clip and schedule reads back exactly', () => {
    const racers = everythingChanged();
    for (const racer of racers) {
      const text = encodeRacer(racer);
      expect(decodeRacer(text), text).toEqual(racer);
    }
    const state: RaceState = { fn: 'quartic', start: [-4.75, 1 / 3], steps: 123, racers: racers.slice(0, 8) };
    expect(decodeState(encodeState(state)).state).toEqual(state);
  });

  it('writes a readable query and keeps pairs such as ?backend= in front', () => {
    const state: RaceState = {
      fn: 'rosenbrock',
      start: [-1.2, 1],
      steps: 300,
      racers: [
        { ...defaultState().racers[0], optimizer: 'adam', learningRate: 0.05, hyper: { b1: 0.8 } },
        { ...defaultState().racers[0], optimizer: 'sgd', learningRate: 1e-3, hyper: {}, clip: { kind: 'norm', threshold: 1 }, weightDecay: 1e-4, schedule: { id: 'cosine', values: { alpha: 0.1 } } },
      ],
    };
    expect(encodeState(state, [['backend', 'wasm']])).toBe(
      '?backend=wasm&fn=rosenbrock&start=-1.2,1&steps=300&o=adam(lr=0.05,b1=0.8)&o=sgd(lr=0.001)~clipnorm(1)~wd(0.0001)~cosine(alpha=0.1)',
    );
  });

  it('reads a broken link as the default race plus one message per broken part', () => {
    const { state, errors } = decodeState('?fn=himmelblau&start=1,x&steps=0&o=adam(lr=oops)&o=nosuch(lr=1)&o=sgd(lr=0.1,momentum=0.9)~clipnorm(2)');
    expect(errors).toHaveLength(5);
    expect(errors.join('\n')).toMatch(/fn=himmelblau/);
    expect(errors.join('\n')).toMatch(/unknown optimizer "nosuch"/);
    expect(state.fn).toBe(defaultState().fn);
    expect(state.steps).toBe(defaultState().steps);
    expect(state.racers).toHaveLength(1);
    expect(state.racers[0]).toMatchObject({ optimizer: 'sgd', learningRate: 0.1, hyper: { momentum: 0.9 }, clip: { kind: 'norm', threshold: 2 } });
  });

  it('the MLP page state reads back from its link', () => {
    const state = { ...defaultMlpState(), epochs: 12, racers: everythingChanged().slice(3, 9) };
    const { state: back, errors } = decodeMlpState(encodeMlpState(state));
    expect(errors).toEqual([]);
    expect(back).toEqual(state);
    expect(decodeMlpState(encodeMlpState(defaultMlpState())).state).toEqual(defaultMlpState());
  });

  it('keeps the state dtype of the MLP page: ~state(bfloat16|int8) on the optimizers that take stateDtype', () => {
    const takers = everythingChanged().filter((r) => STATE_DTYPE_TAKERS.has(r.optimizer));
    expect(takers.map((r) => r.optimizer).sort()).toEqual([...STATE_DTYPE_TAKERS].sort());
    const racers = takers.map((r, i): RacerConfig => ({ ...r, stateDtype: i % 2 === 0 ? 'int8' : 'bfloat16' }));
    const state = { ...defaultMlpState(), racers: racers.slice(0, 8) };
    const { state: back, errors } = decodeMlpState(encodeMlpState(state));
    expect(errors).toEqual([]);
    expect(back).toEqual(state);
    const adam: RacerConfig = { ...defaultMlpState().racers[3], stateDtype: 'int8' };
    expect(encodeRacer(adam)).toBe('adam(lr=0.003)~state(int8)');
    // float32 is the default: no segment, and an explicit state(float32) reads back as none.
    expect(encodeRacer({ ...adam, stateDtype: 'float32' })).toBe('adam(lr=0.003)');
    expect(decodeRacer('adam(lr=0.003)~state(float32)')).toEqual(defaultMlpState().racers[3]);
    // sgd keeps a packed state with momentum only; without it the choice is kept but not applied (nor written).
    const sgd = defaultMlpState().racers[1];
    expect(encodeRacer({ ...sgd, stateDtype: 'bfloat16' })).toBe('sgd(lr=0.05,momentum=0.9)~state(bfloat16)');
    expect(encodeRacer({ ...sgd, hyper: {}, stateDtype: 'bfloat16' })).toBe('sgd(lr=0.05)');
  });

  it('reads a state dtype an optimizer cannot take as a message', () => {
    const { state, errors } = decodeMlpState('?o=adagrad(lr=0.1)~state(int8)&o=sgd(lr=0.1)~state(int8)&o=adam(lr=0.1)~state(int4)&o=lion(lr=0.001)~state(bfloat16)');
    expect(errors).toEqual([
      'o=adagrad(lr=0.1)~state(int8): adagrad takes no stateDtype',
      'o=sgd(lr=0.1)~state(int8): sgd takes stateDtype with momentum only',
      'o=adam(lr=0.1)~state(int4): state takes float32, bfloat16 or int8, got "int4"',
    ]);
    expect(state.racers).toEqual([{ ...decodeRacer('lion(lr=0.001)'), stateDtype: 'bfloat16' }]);
  });
});
