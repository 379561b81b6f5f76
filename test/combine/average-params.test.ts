import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  applyIfFinite,
  applyUpdates,
  averagedParams,
  averageParams,
  disposeReplaced,
  getHyperparam,
  getKernelMode,
  injectHyperparams,
  kernelPath,
  multiSteps,
  setHyperparam,
  sgd,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  treeDispose,
  treeMap,
  type AverageParamsOptions,
  type AverageParamsState,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  flat,
  gradValues32,
  inMode,
  makeGrads,
  makeParams,
  noLeak,
  PARAM_VALUES,
  stateValues,
  thrown,
  trainWithoutLeak,
  updateSteps,
} from '../helpers.js';

// averageParams keeps a moving average or the mean of the parameters beside any optimizer; these
// tests check the average against its formula in float64, the fused path against the composite
// one, the memory, the errors and the checkpoints. withAveragedWeights: test/interop/.

const STEPS = 20;

/** Whether update number `k` (from 0) is averaged under `options`. */
function averages(options: AverageParamsOptions, k: number): boolean {
  const start = options.start ?? 0;
  const every = options.every ?? 1;
  return k >= start && (k - start) % every === 0;
}

/**
 * The average of `trajectory` (the params given to init, then after each update), in float64,
 * as API.md writes it: the EMA from the init params, the zero-started EMA divided by
 * `1 - decay^n`, or the mean.
 */
function expectedAverage(options: AverageParamsOptions, trajectory: number[][]): { average: number[]; n: number } {
  const decay = options.decay ?? 0.999;
  const size = trajectory[0].length;
  let a = options.kind === 'ema' && !options.debias ? [...trajectory[0]] : new Array<number>(size).fill(0);
  let n = 0;
  for (let k = 0; k + 1 < trajectory.length; k++) {
    if (!averages(options, k)) continue;
    const p = trajectory[k + 1];
    a = options.kind === 'swa' ? a.map((x, i) => x + p[i]) : a.map((x, i) => decay * x + (1 - decay) * p[i]);
    n++;
  }
  if (options.kind === 'swa') return { average: a.map((x) => x / n), n };
  return { average: options.debias ? a.map((x) => x / (1 - decay ** n)) : a, n };
}

/** `steps` of `tx` by update + applyUpdates from the test params: the params after each, the final params and state. */
function runUpdates<S>(tx: GradientTransformation<S>, steps: number, gradsAt: (k: number) => Params = makeGrads) {
  let params: Params = makeParams();
  let state = tx.init(params);
  const trajectory = [flat(params)];
  for (let k = 0; k < steps; k++) {
    const grads = gradsAt(k);
    const [u, next]: [Params, S] = tx.update(grads, state, params);
    const p2: Params = applyUpdates<Params>(params, u);
    disposeReplaced([params, state, u, grads], [p2, next]);
    params = p2;
    state = next;
    trajectory.push(flat(params));
  }
  return { params, state, trajectory };
}

/** `steps` trainSteps of `tx` from the test params. */
function runTrainSteps<S>(tx: GradientTransformation<S>, steps: number) {
  let params: Params = makeParams();
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
  return { params, state };
}

const INNERS: Array<[string, () => GradientTransformation<any>]> = [
  ['sgd', () => sgd(0.1)],
  ['adam', () => adam(0.05)],
];

const CASES: Array<[string, AverageParamsOptions]> = [
  ['ema', { kind: 'ema', decay: 0.8 }],
  ['ema, debias', { kind: 'ema', decay: 0.8, debias: true }],
  ['ema, start 4, every 2', { kind: 'ema', decay: 0.7, start: 4, every: 2 }],
  ['ema, debias, start 3, every 3', { kind: 'ema', decay: 0.9, debias: true, start: 3, every: 3 }],
  ['swa', { kind: 'swa' }],
  ['swa, start 5, every 3', { kind: 'swa', start: 5, every: 3 }],
];

describe('averageParams: the average is its formula', () => {
  it.each(INNERS.flatMap(([name, inner]) => CASES.map(([label, options]) => [`${label}, ${name}`, inner, options] as const)))(
    '%s: over 20 steps, equal to the float64 formula; the updates are the inner optimizer\'s, bit for bit',
    (_label, inner, options) => {
      const alone = runUpdates(inner(), STEPS);
      const { params, state, trajectory } = runUpdates(averageParams(inner(), options), STEPS);
      // The parameters move exactly as without the wrapper.
      expect(trajectory).toEqual(alone.trajectory);
      const { average, n } = expectedAverage(options, trajectory);
      expect(state.count).toBe(STEPS);
      expect(state.n).toBe(n);
      const got = averagedParams(state);
      expectAllClose(flat(got), average, 2e-6, 1e-7);
      treeDispose([params, state, got, alone.params, alone.state]);
    },
  );

  it('sgd: the average of the trajectory computed by hand in float64 (p_k+1 = p_k - lr g_k)', () => {
    const lr = 0.1;
    const trajectory = [PARAM_VALUES.slice()];
    for (let k = 0; k < STEPS; k++) trajectory.push(trajectory[k].map((p, i) => p - lr * gradValues32(k)[i]));
    for (const [, options] of CASES) {
      const { params, state } = runUpdates(averageParams(sgd(lr), options), STEPS);
      const got = averagedParams(state);
      expectAllClose(flat(got), expectedAverage(options, trajectory).average, 1e-5, 1e-6);
      treeDispose([params, state, got]);
    }
  });

  it('swa and debiased ema: the first average is the params after update `start`, exactly; steps before and between leave it as it was', () => {
    for (const options of [{ kind: 'swa', start: 2, every: 3 }, { kind: 'ema', debias: true, decay: 0.9, start: 2, every: 3 }] as const) {
      const tx = averageParams(adam(0.05), options);
      let params: Params = makeParams();
      let state: AverageParamsState = tx.init(params);
      // Starts at zero, and there is nothing to read yet.
      expect(flat(state.averaged).every((x) => x === 0)).toBe(true);
      expect(thrown(() => averagedParams(state)).message).toMatch(/^averagedParams: nothing has been averaged yet \(state\.n is 0\)/);
      for (let k = 0; k < 6; k++) {
        const before = state.averaged;
        ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
        if (k < 2) expect(state.n).toBe(0);
        if (k === 2) expectBitwiseEqual(state.averaged, params);
        if (k === 3 || k === 4) expect(state.averaged).toBe(before); // the same tensors, untouched
      }
      expect(state.n).toBe(2);
      treeDispose([params, state]);
    }
  });

  it('ema without debias starts as a copy of the params given to init', () => {
    const tx = averageParams(sgd(0.1), { kind: 'ema', start: 3 });
    const params = makeParams();
    const state = tx.init(params);
    expectBitwiseEqual(state.averaged, params);
    expect((state.averaged as { scale: tf.Tensor }).scale).not.toBe(params.scale);
    treeDispose([params, state]);
  });

  it('through multiSteps and applyIfFinite: averages once per real update', () => {
    const tx = multiSteps(averageParams(sgd(0.1), { kind: 'swa' }), { everyK: 2 });
    const { params, state } = runTrainSteps(tx, 6);
    expect(state.inner.n).toBe(3);
    expect(state.inner.count).toBe(3);
    const got = averagedParams(state);
    expect(flat(got)).toHaveLength(10);
    treeDispose([params, state, got]);
    const skip = applyIfFinite(averageParams(sgd(0.1), { kind: 'swa' }), { maxConsecutiveErrors: 3 });
    let p: Params = makeParams();
    let s = skip.init(p);
    ({ params: p, state: s } = trainStep(skip, p, s, makeGrads(0)));
    ({ params: p, state: s } = trainStep(skip, p, s, { layer: { bias: tf.tensor1d([NaN, 0, 0]), kernel: tf.zeros([2, 3]) }, scale: tf.scalar(0) }));
    expect(s.inner.n).toBe(1);
    treeDispose([p, s]);
  });
});

describe('averageParams: fused where the inner optimizer is', () => {
  const FUSED_CASES: AverageParamsOptions[] = [
    { kind: 'ema', decay: 0.9 },
    { kind: 'ema', decay: 0.95, debias: true, start: 2 },
    { kind: 'swa', start: 3, every: 2 },
  ];
  const make = (options: AverageParamsOptions) => averageParams(adamw(0.05, { weightDecay: 0.01 }), options);

  it('kernelPath is the inner optimizer\'s', () => {
    expect(kernelPath(make({ kind: 'ema' }))).toBe(kernelPath(adamw(0.05)));
    const own: GradientTransformation<Record<string, never>> = { init: () => ({}), update: (u, s) => [u, s] };
    expect(kernelPath(averageParams(own, { kind: 'swa' }))).toBe('composite');
    if (getKernelMode() === 'auto' && tf.getBackend() === 'wasm') expect(kernelPath(make({ kind: 'swa' }))).toBe('wasm-simd');
  });

  it.each(FUSED_CASES.map((o) => [JSON.stringify(o), o] as const))('%s: fused equals composite bit for bit, through trainStep and through update', (_label, options) => {
    const fusedTrain = inMode('auto', () => runTrainSteps(make(options), STEPS));
    const compositeTrain = inMode('composite', () => runTrainSteps(make(options), STEPS));
    expectBitwiseEqual(fusedTrain.params, compositeTrain.params);
    expectBitwiseEqual(fusedTrain.state, compositeTrain.state);
    const fusedUpdate = inMode('auto', () => runUpdates(make(options), STEPS));
    const compositeUpdate = inMode('composite', () => runUpdates(make(options), STEPS));
    expectBitwiseEqual(fusedUpdate.state, compositeUpdate.state);
    // trainStep (in place where it can) and update + applyUpdates agree too.
    expectBitwiseEqual(fusedTrain.params, fusedUpdate.params);
    expectBitwiseEqual(fusedTrain.state, fusedUpdate.state);
    treeDispose([fusedTrain, compositeTrain, fusedUpdate.params, fusedUpdate.state, compositeUpdate.params, compositeUpdate.state]);
  });

  it('in-place trainStep equals out-of-place (update + applyUpdates) bit for bit, and writes the average into its own buffers on wasm', () => {
    const tx = make({ kind: 'ema', decay: 0.9 });
    let params: Params = makeParams();
    let state = tx.init(params);
    let kept = 0;
    for (let k = 0; k < STEPS; k++) {
      const before = (state.averaged as { scale: tf.Tensor }).scale;
      ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      if ((state.averaged as { scale: tf.Tensor }).scale === before) kept++;
    }
    const reference = runUpdates(tx, STEPS);
    expectBitwiseEqual(params, reference.params);
    expectBitwiseEqual(state, reference.state);
    if (kernelPath(tx) === 'wasm-simd') expect(kept).toBeGreaterThanOrEqual(STEPS - 1);
    treeDispose([params, state, reference.params, reference.state]);
  });

  it.each(['ema', 'swa'] as const)('%s: no tensor leaks over 100 steps, through trainStep and through update', (kind) => {
    const tx = averageParams(adam(0.05), { kind, every: 2 });
    trainWithoutLeak(tx, 100);
    noLeak(() => {
      const { params, state } = updateSteps(tx, 100);
      expect(state.n).toBe(50);
      treeDispose([params, state, averagedParams(state)]);
    });
  });
});

describe('averageParams: errors', () => {
  it('refuses bad options, naming the option and the value', () => {
    const inner = sgd(0.1);
    const cases: Array<[unknown, RegExp, typeof Error]> = [
      [undefined, /^averageParams: expected an options object with 'kind'/, TypeError],
      [{}, /^averageParams: option 'kind' is required/, TypeError],
      [{ kind: 'mean' }, /^averageParams: option 'kind' must be 'ema' or 'swa', got "mean"/, RangeError],
      [{ kind: 1 }, /^averageParams: option 'kind' must be 'ema' or 'swa', got a number \(1\)/, TypeError],
      [{ kind: 'ema', decay: 1 }, /^averageParams: option 'decay' must be a finite number in \[0, 1\), got 1/, RangeError],
      [{ kind: 'ema', decay: NaN }, /option 'decay' must be a finite number in \[0, 1\), got NaN/, RangeError],
      [{ kind: 'ema', decay: '0.9' }, /option 'decay' must be a number/, TypeError],
      [{ kind: 'ema', start: -1 }, /option 'start' must be a finite number >= 0, got -1/, RangeError],
      [{ kind: 'swa', start: 1.5 }, /option 'start' must be a whole number, got 1.5/, RangeError],
      [{ kind: 'swa', every: 0 }, /option 'every' must be a finite number >= 1, got 0/, RangeError],
      [{ kind: 'ema', every: Infinity }, /option 'every' must be a finite number >= 1, got Infinity/, RangeError],
      [{ kind: 'ema', debias: 1 }, /option 'debias' must be true or false, got 1/, TypeError],
      [{ kind: 'swa', decay: 0.9 }, /^averageParams: option 'decay' applies to kind 'ema' only/, TypeError],
      [{ kind: 'swa', debias: false }, /^averageParams: option 'debias' applies to kind 'ema' only/, TypeError],
      [{ kind: 'ema', every: 2, evry: 3 }, /^averageParams: unknown option 'evry' \(known options: kind, decay, start, every, debias\)/, TypeError],
    ];
    for (const [options, message, type] of cases) {
      const error = thrown(() => averageParams(inner, options as never));
      expect(error.message, JSON.stringify(options)).toMatch(message);
      expect(error, JSON.stringify(options)).toBeInstanceOf(type);
    }
    expect(thrown(() => averageParams({} as never, { kind: 'ema' })).message).toMatch(/^averageParams: expected a gradient transformation/);
  });

  it('update needs the params; a foreign state or a mismatched average fails with its path, creating nothing', () => {
    const tx = averageParams(adam(0.1), { kind: 'swa' });
    const params = makeParams();
    const state = tx.init(params);
    const g = makeGrads(0);
    const foreign = adam(0.1).init(params);
    const before = tf.memory().numTensors;
    expect(thrown(() => tx.update(g, state)).message).toBe('averageParams: this transformation needs the current parameters; call update(updates, state, params)');
    expect(thrown(() => tx.update(g, foreign as never, params)).message).toMatch(/^averageParams: state must be \{averaged, count, inner, n\}/);
    expect(thrown(() => tx.update(g, { ...state, averaged: { layer: state.averaged } }, params)).message).toMatch(/^averageParams: .*state\.averaged/);
    expect(thrown(() => trainStep(tx, params, { ...state, n: -1 }, g, { keepGrads: true })).message).toMatch(/^averageParams: state\.n must be a whole number >= 0/);
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([params, state, g, foreign]);
  });

  it('averagedParams: a state without an averageParams state, or with two, is a TypeError naming them', () => {
    expect(thrown(() => averagedParams({ count: 1 }))).toBeInstanceOf(TypeError);
    expect(thrown(() => averagedParams({ count: 1 })).message).toMatch(/^averagedParams: expected the state of averageParams \(\{averaged, count, inner, n\}\) or a state holding one, got an object with keys \{count\}/);
    const tx = averageParams(sgd(0.1), { kind: 'ema' });
    const params = makeParams();
    const s = tx.init(params);
    expect(thrown(() => averagedParams([s, s])).message).toMatch(/the state holds 2 averageParams states, at state\[0\], state\[1\]/);
    treeDispose([params, s]);
  });

  it.each(['auto', 'composite'] as const)('a schedule that throws at step k changes nothing: params, state and tensors as they were (%s kernels)', (mode) =>
    inMode(mode, () => {
      // The learning rate of update k + 1 is computed by update k: step failAt fails.
      const failAt = 4;
      let failing = true;
      const rate = (count: number) => {
        if (failing && count === failAt + 1) throw new Error('the schedule failed');
        return 0.05;
      };
      const make = () => averageParams(adam(rate), { kind: 'ema', decay: 0.9, debias: true });
      const tx = make();
      let params: Params = makeParams();
      let state = tx.init(params);
      for (let k = 0; k < failAt; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      const paramsBefore = flat(params);
      const stateBefore = stateValues(state);
      const grads = makeGrads(failAt);
      const tensors = tf.memory().numTensors;
      expect(() => trainStep(tx, params, state, grads, { keepGrads: true })).toThrow('the schedule failed');
      expect(() => tx.update(grads, state, params)).toThrow('the schedule failed');
      expect(tf.memory().numTensors).toBe(tensors);
      expect(flat(params)).toEqual(paramsBefore);
      expect(stateValues(state)).toEqual(stateBefore);
      // The step succeeds once the schedule does, as if nothing had happened.
      failing = false;
      ({ params, state } = trainStep(tx, params, state, grads));
      for (let k = failAt + 1; k < 8; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      const straight = runTrainSteps(make(), 8);
      expectBitwiseEqual(params, straight.params);
      expectBitwiseEqual(state, straight.state);
      treeDispose([params, state, straight]);
    }),
  );
});

describe('averageParams: state, checkpoints and hyperparameters', () => {
  it.each(['ema', 'swa'] as const)('%s: a checkpoint round trip (stateToArtifacts/stateFromArtifacts) resumes bit for bit', (kind) => {
    const make = () => averageParams(adamw(0.05), { kind, start: 2 });
    const tx = make();
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 7; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    const artifacts = stateToArtifacts(state, { params });
    let loaded = stateFromArtifacts(make(), params, artifacts);
    expectBitwiseEqual(loaded, state);
    expect(loaded.n).toBe(5);
    // A second copy of the params, to go on from the loaded state beside the original run.
    let p2: Params = treeMap((x) => tf.clone(x), params);
    for (let k = 7; k < 12; k++) {
      ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      ({ params: p2, state: loaded } = trainStep(tx, p2, loaded, makeGrads(k)));
    }
    expectBitwiseEqual(p2, params);
    expectBitwiseEqual(loaded, state);
    treeDispose([params, state, p2, loaded]);
  });

  it('getHyperparam and setHyperparam reach the inner optimizer\'s learning rate through the wrapper', () => {
    const tx = averageParams(adam(0.05), { kind: 'ema' });
    const params = makeParams();
    let state = tx.init(params);
    expect(getHyperparam(state, 'learningRate')).toBe(0.05);
    state = setHyperparam(state, 'learningRate', 0.01);
    expect(getHyperparam(state, 'inner.1.learningRate')).toBe(0.01);
    treeDispose([params, state]);
  });

  it('inside and around injectHyperparams: the inner optimizer\'s injected values, and an injected decay, are read and set through it', () => {
    const inside = averageParams(injectHyperparams(adamw)({ learningRate: 0.05, weightDecay: 0.01 }), { kind: 'swa' });
    expect(kernelPath(inside)).toBe(kernelPath(adamw(0.05)));
    const run = () => {
      let params: Params = makeParams();
      let state = inside.init(params);
      for (let k = 0; k < 6; k++) {
        if (k === 3) state = setHyperparam(state, 'weightDecay', 0.1);
        ({ params, state } = trainStep(inside, params, state, makeGrads(k)));
      }
      expect(getHyperparam(state, 'weightDecay')).toBe(0.1);
      return { params, state };
    };
    const fused = inMode('auto', run);
    const composite = inMode('composite', run);
    expectBitwiseEqual(fused, composite);
    treeDispose([fused, composite]);

    const around = injectHyperparams((h: { learningRate: number; decay: number }) => averageParams(sgd(h.learningRate), { kind: 'ema', decay: h.decay }))({ learningRate: 0.1, decay: 0.9 });
    let params: Params = makeParams();
    let state = around.init(params);
    ({ params, state } = trainStep(around, params, state, makeGrads(0)));
    expect(getHyperparam(state, 'decay')).toBe(0.9);
    // With decay 0, the average is the new params, exactly.
    state = setHyperparam(state, 'decay', 0);
    ({ params, state } = trainStep(around, params, state, makeGrads(1)));
    expectBitwiseEqual(state.inner.averaged, params);
    treeDispose([params, state]);
  });
});
