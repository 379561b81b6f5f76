import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  addDecayedWeights,
  centralize,
  chain,
  clip,
  clipByGlobalNorm,
  getHyperparam,
  getKernelMode,
  injectHyperparams,
  kernelPath,
  scaleByLearningRate,
  setHyperparam,
  sgd,
  trainStep,
  treeDispose,
  warmupCosineDecaySchedule,
  type GradientTransformation,
  type Params,
  type Schedule,
} from '../../src/index.js';
import { layoutOf, type FieldKind, type StateLayout } from '../../src/internal/state.js';
import { expectAllClose, expectBitwiseEqual, extraSpy, flat, gradValues32, inMode, makeGrads, makeParams, stateValues, tensorsOf, trainWithoutLeak } from '../helpers.js';
import { examplesOf, factoryOf, OPTIMIZERS } from '../properties/registry.js';

type AnyTx = GradientTransformation<any>;

const schedule: Schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.1, warmupSteps: 3, decaySteps: 12, endValue: 0.01 });

/** `steps` trainSteps from the test params; returns the final params and state (the caller frees them). */
function train(tx: AnyTx, steps: number, after?: (k: number, state: any) => any): { params: Params; state: any } {
  let params: Params = makeParams();
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) {
    ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    if (after) state = after(k, state);
  }
  return { params, state };
}

const fusedPath = () => (getKernelMode() === 'composite' ? 'composite' : tf.getBackend() === 'wasm' ? 'wasm-simd' : tf.getBackend() === 'cpu' ? 'cpu' : 'composite');

type WithRate = [label: string, make: (lr: number | Schedule) => AnyTx, kept: (lr: number) => number, path: string];

/**
 * Every optimizer whose learning rate is a number or a schedule (the registry's, with each of its
 * option sets), and a chain around one; with the rate each keeps in its state for a rate `lr`, and
 * where getHyperparam finds it.
 */
const WITH_RATES: WithRate[] = [
  ...OPTIMIZERS.filter((entry) => entry.rateArg === 0 && entry.needs === undefined).flatMap((entry) =>
    examplesOf(entry).map(([label, options]): WithRate => [
      label,
      (lr) => factoryOf(entry)(lr, options),
      entry.keptRate ?? ((lr) => lr),
      entry.ratePath ?? 'learningRate',
    ]),
  ),
  ['clip + adamw', (lr) => chain(clipByGlobalNorm(1), adamw(lr)), (lr) => lr, 'learningRate'],
];

describe('the state holds the learning rate the next update uses', () => {
  it.each(WITH_RATES)('%s: after k updates, getHyperparam = schedule(k), on the fused and the composite path', (_name, make, kept, path) => {
    for (const mode of ['auto', 'composite'] as const) {
      inMode(mode, () => {
        const tx = make(schedule);
        let params: Params = makeParams();
        let state = tx.init(params);
        expect(getHyperparam(state, path)).toBe(kept(schedule(0)));
        for (let k = 0; k < 6; k++) {
          ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
          expect(getHyperparam(state, path)).toBe(kept(schedule(k + 1)));
        }
        treeDispose([params, state]);
      });
    }
  });

  it('adamw keeps the weight decay beside it', () => {
    const wd: Schedule = (c) => 0.1 / (c + 1);
    const { params, state } = train(adamw(0.1, { weightDecay: wd }), 3);
    expect(getHyperparam(state, 'weightDecay')).toBe(wd(3));
    expect(getHyperparam(state, 'learningRate')).toBe(0.1);
    treeDispose([params, state]);
  });

  it('setHyperparam on a plain optimizer state: the next update uses the value, nothing is mutated', () => {
    const tx = sgd(0.1);
    const params = makeParams();
    const s0 = tx.init(params);
    const s1 = setHyperparam(s0, 'learningRate', 0.5);
    expect(s0).toEqual([{}, { count: 0, learningRate: 0.1 }]);
    expect(s1).toEqual([{}, { count: 0, learningRate: 0.5 }]);
    const [u, s2] = tx.update(makeGrads(0), s1, params);
    expectAllClose(flat(u), gradValues32(0).map((g) => -0.5 * g), 1e-7);
    // A constant keeps the value set; a schedule takes over again after one step.
    expect(getHyperparam(s2, 'learningRate')).toBe(0.5);
    const sched = sgd((c) => 0.1 * (c + 1));
    const [, t1] = sched.update(makeGrads(0), setHyperparam(sched.init(params), 'learningRate', 7), params);
    expect(getHyperparam(t1, 'learningRate')).toBeCloseTo(0.2, 15);
    treeDispose([params, u]);
  });

  it('a weight decay of 0 leaves the updates as they are: no NaN from an infinite parameter, -0 stays -0', () => {
    for (const mode of ['auto', 'composite'] as const) {
      inMode(mode, () => {
        const params = { p: tf.tensor1d([Infinity, 1, -2]) };
        const grads = { p: tf.tensor1d([1, -0, 0.5]) };
        const decay = addDecayedWeights(0);
        const [u] = decay.update(grads, decay.init(params), params);
        expect(u.p).toBe(grads.p);
        // The same through adamw, fused or not: the decay term is skipped, not multiplied by 0.
        const tx = adamw(0.1, { weightDecay: 0 });
        const [v, s] = tx.update(grads, tx.init(params), params);
        const values = Array.from(v.p.dataSync());
        expect(values.every(Number.isFinite)).toBe(true);
        expect(Object.is(values[1], -0) || Object.is(values[1], 0)).toBe(true);
        // Without decay adamw needs no params.
        const [w, t] = tx.update(grads, tx.init(params));
        expectBitwiseEqual(w, v);
        treeDispose([params, grads, v, s, w, t]);
      });
    }
  });
});

describe('getHyperparam and setHyperparam: names and dotted paths', () => {
  const params = makeParams();
  const tx = chain(addDecayedWeights(0.001), adamw(0.1, { weightDecay: 0.02 }));
  const state = tx.init(params);

  it('finds a name that is at one place', () => {
    expect(getHyperparam(state, 'learningRate')).toBe(0.1);
  });

  it('a name at several places is an Error listing their paths; a dotted path picks one', () => {
    expect(() => getHyperparam(state, 'weightDecay')).toThrow(
      "getHyperparam: 'weightDecay' is at more than one place: 0.weightDecay, 1.1.weightDecay; pass one of these paths (or enough of it to pick one)",
    );
    expect(getHyperparam(state, '0.weightDecay')).toBe(0.001);
    expect(getHyperparam(state, '1.weightDecay')).toBe(0.02);
    expect(getHyperparam(state, '[1][1].weightDecay')).toBe(0.02);
  });

  it('a missing name is an Error listing the names there are (step counts are not hyperparameters)', () => {
    expect(() => getHyperparam(state, 'lr')).toThrow("getHyperparam: no hyperparameter 'lr' here; the names there are: learningRate, weightDecay");
    expect(() => getHyperparam(state, 'count')).toThrow(/no hyperparameter 'count'/);
    expect(() => getHyperparam(state, '')).toThrow(TypeError);
  });

  it('setHyperparam: a new state, the old one untouched, tensors shared', () => {
    const before = stateValues(state);
    const next = setHyperparam(state, '1.weightDecay', 0.5);
    expect(getHyperparam(next, '1.weightDecay')).toBe(0.5);
    expect(getHyperparam(next, '0.weightDecay')).toBe(0.001);
    expect(stateValues(state)).toEqual(before);
    expect(next[1][0].mu).toBe(state[1][0].mu);
    expect(next[0]).toBe(state[0]);
    expect(() => setHyperparam(state, 'learningRate', NaN)).toThrow(RangeError);
    expect(() => setHyperparam(state, 'learningRate', '0.1' as never)).toThrow(TypeError);
  });

  it('setHyperparam checks the value when it is set: a learning rate is a finite number >= 0; nothing changes on an error', () => {
    const before = stateValues(state);
    const cases: Array<[unknown, ErrorConstructor, string]> = [
      [-1, RangeError, 'got -1'],
      [-1e-9, RangeError, 'got -1e-9'],
      [NaN, RangeError, 'got NaN'],
      [Infinity, RangeError, 'got Infinity'],
      ['0.1', TypeError, 'got a string ("0.1")'],
      [null, TypeError, 'got null'],
    ];
    for (const [value, type, got] of cases) {
      const set = () => setHyperparam(state, 'learningRate', value as number);
      expect(set).toThrow(type);
      expect(set).toThrow(`setHyperparam: the value for 'learningRate' (state[1][2].learningRate) must be a finite number >= 0, ${got}; nothing was changed`);
    }
    expect(stateValues(state)).toEqual(before);
    expect(getHyperparam(setHyperparam(state, 'learningRate', 0), 'learningRate')).toBe(0);
    // Injected, and under a dotted path, it is still a learning rate.
    const injected = injectHyperparams(adam)({ learningRate: 0.1, b1: 0.9 });
    const s = injected.init(params);
    expect(() => setHyperparam(s, 'learningRate', -0.5)).toThrow(
      "setHyperparam: the value for 'learningRate' (state.hyperparams.learningRate) must be a finite number >= 0, got -0.5; nothing was changed",
    );
    expect(() => setHyperparam(state, '1.learningRate', -1)).toThrow(/the value for '1\.learningRate' \(state\[1\]\[2\]\.learningRate\) must be a finite number >= 0/);
    // Other hyperparameters: finite numbers here; their own bounds at the next update, before it changes anything.
    expect(() => setHyperparam(state, '1.weightDecay', Infinity)).toThrow(RangeError);
    expect(() => setHyperparam(s, 'b1', NaN)).toThrow("setHyperparam: the value for 'b1' (state.hyperparams.b1) must be a finite number, got NaN; nothing was changed");
  });

  it("every learning rate that any of the library's optimizers keeps in its state is >= 0, the bound setHyperparam applies", () => {
    const rates: Array<[string, number]> = [];
    const visit = (layout: StateLayout | null, owner: string): void => {
      if (layout === null) return;
      if (Array.isArray(layout)) return layout.forEach((l) => visit(l, owner));
      for (const [key, kind] of Object.entries(layout as Record<string, FieldKind>)) {
        if (typeof kind === 'string') continue;
        if (kind.kind === 'hyper' && key === 'learningRate') rates.push([owner, kind.min]);
        else if (kind.kind === 'sub') visit(kind.layout, owner);
      }
    };
    expect(OPTIMIZERS.length).toBeGreaterThanOrEqual(38);
    for (const entry of OPTIMIZERS) visit(layoutOf(factoryOf(entry)(0.1)), entry.name);
    visit(layoutOf(scaleByLearningRate(0.1, { flipSign: false })), 'scaleByLearningRate');
    expect(rates.length).toBeGreaterThanOrEqual(38);
    expect(rates.filter(([, min]) => !(min >= 0))).toEqual([]);
  });
});

describe('injectHyperparams', () => {
  it.each(WITH_RATES)('%s: equals the plain optimizer bit for bit, on the fused and the composite path', (_name, make) => {
    for (const mode of ['auto', 'composite'] as const) {
      inMode(mode, () => {
        const plain = train(make(schedule), 8);
        const injected = injectHyperparams((h: { learningRate: number }) => make(h.learningRate))({ learningRate: schedule });
        const viaInject = train(injected, 8);
        expectBitwiseEqual(viaInject.params, plain.params);
        // The tensors of the states; the inner copy of the rate is the one its last update used.
        expectBitwiseEqual(tensorsOf(viaInject.state.inner), tensorsOf(plain.state));
        expect(viaInject.state.hyperparams).toEqual({ learningRate: schedule(8) });
        expect(getHyperparam(viaInject.state, 'learningRate')).toBe(schedule(8));
        treeDispose([plain, viaInject]);
      });
    }
  });

  it('takes one of the library optimizers as it is: injectHyperparams(adamw)', () => {
    const tx = injectHyperparams(adamw)({ learningRate: schedule, weightDecay: 0.01, b1: 0.8, nesterov: true });
    const plain = train(adamw(schedule, { weightDecay: 0.01, b1: 0.8, nesterov: true }), 5);
    const injected = train(tx, 5);
    expectBitwiseEqual(injected.params, plain.params);
    expect(injected.state.hyperparams).toEqual({ b1: 0.8, learningRate: schedule(5), weightDecay: 0.01 });
    treeDispose([plain, injected]);
  });

  it('a value set with setHyperparam is used by the next update and stays (for a constant)', () => {
    const tx = injectHyperparams(adam)({ learningRate: 0.05, b1: 0.9 });
    const ref = adam(0.05, { b1: 0.9 });
    const later = adam(0.05, { b1: 0.5 });
    const params = makeParams();
    let s = tx.init(params);
    let r = ref.init(params);
    for (let k = 0; k < 2; k++) {
      [, s] = tx.update(makeGrads(k), s, params);
      [, r] = ref.update(makeGrads(k), r, params);
    }
    const snapshot = stateValues(s);
    const set = setHyperparam(s, 'b1', 0.5);
    expect(stateValues(s)).toEqual(snapshot);
    expect(getHyperparam(set, 'b1')).toBe(0.5);
    // Steps 3 and 4 with b1 = 0.5 equal adam(b1: 0.5) continued from the same moments.
    let u: Params = null;
    for (let k = 2; k < 4; k++) {
      [u, s] = tx.update(makeGrads(k), k === 2 ? set : s, params);
      let v: Params;
      [v, r] = later.update(makeGrads(k), r, params);
      expectBitwiseEqual(u, v);
    }
    expect(getHyperparam(s, 'b1')).toBe(0.5);
  });

  it('a function factory sees numbers; the injected value shadows the inner copy; static names stay out of the state', () => {
    const tx = injectHyperparams(
      (h: { lr: number; maxDelta: number; nesterov: boolean }) => chain(clip(h.maxDelta), sgd(h.lr, { momentum: 0.5, nesterov: h.nesterov })),
      { static: ['maxDelta'] },
    )({ lr: (c: number) => 0.1 / (c + 1), maxDelta: 0.5, nesterov: true });
    const params = makeParams();
    const s0 = tx.init(params);
    expect(s0.hyperparams).toEqual({ lr: 0.1 });
    // The inner sgd keeps its own copy under its own option name.
    expect(getHyperparam(s0, 'learningRate')).toBe(0.1);
    const [u, s1] = tx.update(makeGrads(0), s0, params);
    expectAllClose(flat(u), gradValues32(0).map((g) => -0.1 * 1.5 * Math.min(Math.max(g, -0.5), 0.5)), 1e-6);
    expect(getHyperparam(s1, 'lr')).toBe(0.05);
    treeDispose([params, u, s1]);
  });

  it('shadows the inner copy of an injected name: one learningRate, at hyperparams', () => {
    const tx = injectHyperparams(sgd)({ learningRate: 0.1 });
    const s = tx.init(makeParams());
    expect(getHyperparam(s, 'learningRate')).toBe(0.1);
    const set = setHyperparam(s, 'learningRate', 0.3);
    expect(set.hyperparams.learningRate).toBe(0.3);
    expect(getHyperparam(set, 'inner.1.learningRate')).toBe(0.1);
  });

  it('keeps the fused kernel: kernelPath, and fused = composite to float32 rounding', () => {
    const make = () => injectHyperparams(adamw)({ learningRate: schedule, weightDecay: 0.01 });
    expect(kernelPath(make())).toBe(fusedPath());
    // A factory's chain keeps the kernel it has, and has none when a part is not element-wise.
    expect(kernelPath(injectHyperparams((h: { lr: number }) => chain(clip(1), sgd(h.lr)))({ lr: 0.1 }))).toBe(fusedPath());
    expect(kernelPath(injectHyperparams((h: { lr: number }) => chain(centralize(), sgd(h.lr)))({ lr: 0.1 }))).toBe('composite');
    const fused = inMode('auto', () => train(make(), 10));
    const composite = inMode('composite', () => train(make(), 10));
    expectAllClose(flat(fused.params), flat(composite.params), 1e-5, 1e-7);
    treeDispose([fused, composite]);
  });

  it('leaks nothing over 100 steps', () => {
    trainWithoutLeak(injectHyperparams(adamw)({ learningRate: schedule, weightDecay: 0.01 }), 100);
  });

  it('bad input: clear errors, thrown before anything is created', () => {
    expect(() => injectHyperparams(adam)({} as never)).toThrow("injectHyperparams(adam): 'learningRate' is required");
    expect(() => injectHyperparams(adam)({ learningRate: 0.1, b1: 2 })).toThrow(RangeError);
    expect(() => injectHyperparams(adam, { static: ['b2'] })({ learningRate: 0.1 })).toThrow(
      "injectHyperparams(adam): option 'static' names 'b2', which the hyperparameters do not have",
    );
    expect(() => injectHyperparams((() => 3) as never)({ lr: 1 } as never)).toThrow(/the factory returned a number \(3\), not a gradient transformation/);
    const tx = injectHyperparams(adam)({ learningRate: 0.1, b1: 0.9 });
    const params = makeParams();
    const grads = makeGrads(0);
    const state = setHyperparam(tx.init(params), 'b1', 1.5);
    const before = tf.memory().numTensors;
    expect(() => tx.update(grads, state, params)).toThrow("adam: option 'b1' must be a finite number in [0, 1), got 1.5");
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('extra arguments reach every transformation', () => {
  it('chain and injectHyperparams pass extra unchanged', () => {
    const { spy, seen } = extraSpy();
    const extra = { value: 1.25 };
    const params = makeParams();
    const grads = makeGrads(0);
    chain(spy, scaleByLearningRate(0.1), spy).update(grads, [{}, { count: 0, learningRate: 0.1 }, {}], params, extra);
    const inj = injectHyperparams((h: { lr: number }) => chain(spy, sgd(h.lr)))({ lr: 0.1 });
    inj.update(grads, inj.init(params), params, extra);
    expect(seen).toEqual([extra, extra, extra]);
    expect(seen.every((e) => e === extra)).toBe(true);
    // trainStep passes them on too.
    const tx = chain(spy, sgd(0.1));
    const g = makeGrads(1);
    const p = makeParams();
    const out = trainStep(tx, p, tx.init(p), g, { extra });
    expect(seen[3]).toBe(extra);
    treeDispose(out);
  });
});
