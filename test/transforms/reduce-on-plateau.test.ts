import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  applyUpdates,
  chain,
  disposeReplaced,
  getHyperparam,
  reduceOnPlateau,
  setHyperparam,
  stateFromArtifacts,
  stateToArtifacts,
  treeDispose,
  type ExtraArgs,
  type Params,
  type ReduceOnPlateauOptions,
  type ReduceOnPlateauState,
  type StateOf,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, failsCleanly, flat, gradValues32, makeGrads, makeParams } from '../helpers.js';

type Row = Partial<ReduceOnPlateauState>;

/**
 * Feeds `values` as the losses, one per update of the test gradients, and checks after every
 * update the state fields listed in `expected[k]` and that the updates are `scale * g`.
 */
function script(options: ReduceOnPlateauOptions, values: number[], expected: Row[]): void {
  expect(expected.length).toBe(values.length);
  const tx = reduceOnPlateau(options);
  const params = makeParams();
  let state = tx.init(params);
  expect(state).toEqual({ scale: 1, bestValue: Infinity, plateauCount: 0, cooldownCount: 0, count: 0, avgValue: 0 });
  values.forEach((value, k) => {
    const grads = makeGrads(k);
    const [u, next] = tx.update(grads, state, params, { value });
    for (const [key, want] of Object.entries(expected[k]) as [keyof ReduceOnPlateauState, number][]) {
      const got = next[key];
      if (Number.isInteger(want) || !Number.isFinite(want)) expect(got, `step ${k + 1}: ${key}`).toBe(want);
      else expect(got, `step ${k + 1}: ${key}`).toBeCloseTo(want, 12);
    }
    expectAllClose(flat(u), gradValues32(k).map((g) => Math.fround(next.scale) * g), 1e-6, 1e-7);
    expect(getHyperparam(next, 'scale')).toBe(next.scale);
    treeDispose([grads, u]);
    state = next;
  });
  treeDispose(params);
}

describe('reduceOnPlateau: scripted losses, the state checked at every step', () => {
  it('patience 2, factor 0.5, rtol 1e-4: plateaus, improvements too small for rtol, repeated cuts', () => {
    // best starts at Infinity: step 1 improves. An improvement needs v < (1 - 1e-4) * best.
    const values = [10, 9, 9, 9, 8, 7.9995, 7.9991, 20, 20, 20, 20];
    script({ patience: 2, factor: 0.5 }, values, [
      { scale: 1, bestValue: 10, plateauCount: 0, cooldownCount: 0, count: 0, avgValue: 0 },
      { scale: 1, bestValue: 9, plateauCount: 0 }, // 9 < 9.999
      { scale: 1, bestValue: 9, plateauCount: 1 }, // 9 is not < 8.9991
      { scale: 0.5, bestValue: 9, plateauCount: 0, cooldownCount: 0 }, // 2 = patience: cut
      { scale: 0.5, bestValue: 8, plateauCount: 0 },
      { scale: 0.5, bestValue: 8, plateauCount: 1 }, // 7.9995 is not < 0.9999 * 8 = 7.9992
      { scale: 0.5, bestValue: 7.9991, plateauCount: 0 }, // 7.9991 < 7.9992
      { scale: 0.5, bestValue: 7.9991, plateauCount: 1 },
      { scale: 0.25, bestValue: 7.9991, plateauCount: 0 },
      { scale: 0.25, plateauCount: 1 },
      { scale: 0.125, plateauCount: 0, cooldownCount: 0, count: 0, avgValue: 0 },
    ]);
  });

  it('patience 1, cooldown 2, minScale 0.2: cooldown steps count down and ignore plateaus, best still tracked, floor holds', () => {
    const values = [5, 5, 4, 5, 5, 5, 5, 5, 5, 5, 5];
    script({ patience: 1, factor: 0.5, cooldown: 2, minScale: 0.2 }, values, [
      { scale: 1, bestValue: 5, plateauCount: 0, cooldownCount: 0 },
      { scale: 0.5, bestValue: 5, plateauCount: 0, cooldownCount: 2 }, // plateau: cut, cooldown starts
      { scale: 0.5, bestValue: 4, plateauCount: 0, cooldownCount: 1 }, // improvement seen in cooldown
      { scale: 0.5, bestValue: 4, plateauCount: 0, cooldownCount: 0 }, // plateau ignored in cooldown
      { scale: 0.25, bestValue: 4, plateauCount: 0, cooldownCount: 2 },
      { scale: 0.25, plateauCount: 0, cooldownCount: 1 },
      { scale: 0.25, plateauCount: 0, cooldownCount: 0 },
      { scale: 0.2, plateauCount: 0, cooldownCount: 2 }, // 0.125 floored at minScale
      { scale: 0.2, plateauCount: 0, cooldownCount: 1 },
      { scale: 0.2, plateauCount: 0, cooldownCount: 0 },
      { scale: 0.2, plateauCount: 0, cooldownCount: 2 }, // 0.1 floored again
    ]);
  });

  it('accumulationSize 3, atol 0.5, rtol 0: the mean of every 3 losses is evaluated, the scale changes only then', () => {
    const values = [3, 2, 1, 2, 2, 2.5, 1, 1, 1.2, 0.7, 0.7, 0.7];
    script({ patience: 1, factor: 0.1, rtol: 0, atol: 0.5, accumulationSize: 3 }, values, [
      { count: 1, avgValue: 3, scale: 1, bestValue: Infinity, plateauCount: 0 },
      { count: 2, avgValue: 2.5, scale: 1, bestValue: Infinity },
      { count: 0, avgValue: 0, scale: 1, bestValue: 2, plateauCount: 0 }, // mean 2: improves on Infinity
      { count: 1, avgValue: 2, scale: 1 },
      { count: 2, avgValue: 2, scale: 1 },
      { count: 0, avgValue: 0, scale: 0.1, bestValue: 2, plateauCount: 0 }, // mean 6.5/3 is not < 2 - 0.5: cut
      { count: 1, avgValue: 1, scale: 0.1 },
      { count: 2, avgValue: 1, scale: 0.1 },
      { count: 0, avgValue: 0, scale: 0.1, bestValue: 3.2 / 3, plateauCount: 0 }, // 1.0667 < 1.5
      { count: 1, avgValue: 0.7, scale: 0.1 },
      { count: 2, avgValue: 0.7, scale: 0.1 },
      { count: 0, avgValue: 0, scale: 0.1 * 0.1, bestValue: 3.2 / 3, plateauCount: 0 }, // 0.7 is not < 0.5667
    ]);
  });

  it('atol alone: improvements must beat the best by more than atol', () => {
    const values = [1, 0.95, 0.89, 0.88, 0.8];
    script({ patience: 3, rtol: 0, atol: 0.1 }, values, [
      { bestValue: 1, plateauCount: 0 },
      { bestValue: 1, plateauCount: 1 }, // 0.95 is not < 0.9
      { bestValue: 0.89, plateauCount: 0 }, // 0.89 < 0.9
      { bestValue: 0.89, plateauCount: 1 },
      { bestValue: 0.89, plateauCount: 2, scale: 1 }, // 0.8 is not < 0.79
    ]);
  });

  it('reads a scalar tensor loss once, without disposing it', () => {
    const tx = reduceOnPlateau({ patience: 1 });
    const params = makeParams();
    const grads = makeGrads(0);
    const loss = tf.scalar(2.5);
    const [u, s] = tx.update(grads, tx.init(params), params, { value: loss });
    expect(s.bestValue).toBe(2.5);
    expect(loss.isDisposed).toBe(false);
    // A one-element tensor of any rank is read as well.
    const loss1d = tf.tensor1d([3]);
    const [v, t] = tx.update(grads, s, params, { value: loss1d as never });
    expect(t.scale).toBeCloseTo(0.1, 15);
    treeDispose([params, grads, loss, loss1d, u, v]);
  });

  it('setHyperparam on the scale: the next update uses the value set', () => {
    const tx = reduceOnPlateau();
    const params = makeParams();
    const grads = makeGrads(0);
    const state = setHyperparam(tx.init(params), 'scale', 0.25);
    const [u, s] = tx.update(grads, state, params, { value: 1 });
    expect(s.scale).toBe(0.25);
    expectAllClose(flat(u), gradValues32(0).map((g) => 0.25 * g), 1e-7);
    treeDispose([params, grads, u]);
  });
});

describe('reduceOnPlateau: checkpoints', () => {
  it('a state with bestValue = Infinity, and one mid-accumulation, round-trip exactly', () => {
    const tx = chain(adam(0.01), reduceOnPlateau({ accumulationSize: 2 }));
    const params = makeParams();
    const s0 = tx.init(params);
    const r0 = stateFromArtifacts(tx, params, stateToArtifacts(s0));
    expect(r0[1]).toEqual(s0[1]);
    expect(r0[1].bestValue).toBe(Infinity);
    const grads = makeGrads(0);
    const [u, s1] = tx.update(grads, s0, params, { value: 0.75 });
    const r1 = stateFromArtifacts(tx, params, stateToArtifacts(s1));
    expect(r1[1]).toEqual({ scale: 1, bestValue: Infinity, plateauCount: 0, cooldownCount: 0, count: 1, avgValue: 0.75 });
    treeDispose([params, s0, r0, grads, u, s1, r1]);
  });
});

describe('reduceOnPlateau after adam in a chain', () => {
  it('the updates are adam updates times the scale, bit for bit; the scale and learning rate are readable; no leak over 100 steps', () => {
    const before = tf.memory().numTensors;
    const tx = chain(adam(0.01), reduceOnPlateau({ patience: 5, factor: 0.5, cooldown: 2 }));
    const ref = adam(0.01);
    let params: Params = makeParams();
    let state: StateOf<typeof tx> = tx.init(params);
    let refState: StateOf<typeof ref> = ref.init(params);
    let cuts = 0;
    for (let k = 0; k < 100; k++) {
      const grads = makeGrads(k);
      // A loss that stops improving after step 20.
      const loss = tf.scalar(k < 20 ? 30 - k : 20);
      const extra: ExtraArgs = { value: loss };
      const [u, next]: [Params, StateOf<typeof tx>] = tx.update(grads, state, params, extra);
      const [r, refNext]: [Params, StateOf<typeof ref>] = ref.update(grads, refState, params);
      const scale = getHyperparam(next, 'scale');
      if (scale < getHyperparam(state, 'scale')) cuts++;
      const factor = tf.scalar(scale);
      const expected = scaleTree(r, factor);
      factor.dispose();
      expectBitwiseEqual(u, expected);
      expect(getHyperparam(next, 'learningRate')).toBe(0.01);
      const nextParams: Params = applyUpdates<Params>(params, u);
      disposeReplaced([params, state, u, grads, loss, expected, refState, r], [nextParams, next, refNext]);
      [params, state, refState] = [nextParams, next, refNext];
    }
    // Cuts at steps 25, 32, 39, ... (5 plateaus, then 2 cooldown evaluations): 11 in 100 steps.
    expect(cuts).toBe(11);
    expect(getHyperparam(state, 'scale')).toBe(0.5 ** 11);
    treeDispose([params, state, refState]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** `s * tree` leaf by leaf, as the transformation computes it (a float32 scalar times the leaf). */
function scaleTree(tree: Params, s: tf.Scalar): Params {
  if (tree instanceof tf.Tensor) return tf.mul(s, tree);
  if (Array.isArray(tree)) return tree.map((t) => scaleTree(t, s));
  const out: Record<string, Params> = {};
  for (const [k, v] of Object.entries(tree as Record<string, Params>)) out[k] = scaleTree(v, s);
  return out;
}

describe('reduceOnPlateau: bad input', () => {
  it.each<[string, ReduceOnPlateauOptions, ErrorConstructor, RegExp]>([
    ['factor 1', { factor: 1 }, RangeError, /reduceOnPlateau: option 'factor' must be a finite number in \(0, 1\), got 1/],
    ['factor 0', { factor: 0 }, RangeError, /reduceOnPlateau: option 'factor' .*got 0/],
    ['patience 0', { patience: 0 }, RangeError, /reduceOnPlateau: option 'patience' must be a finite number >= 1, got 0/],
    ['patience 1.5', { patience: 1.5 }, RangeError, /reduceOnPlateau: option 'patience' must be a whole number, got 1\.5/],
    ['rtol 1', { rtol: 1 }, RangeError, /reduceOnPlateau: option 'rtol' must be a finite number in \[0, 1\), got 1/],
    ['rtol < 0', { rtol: -1e-3 }, RangeError, /reduceOnPlateau: option 'rtol' .*got -0\.001/],
    ['atol < 0', { atol: -1 }, RangeError, /reduceOnPlateau: option 'atol' must be a finite number >= 0, got -1/],
    ['rtol and atol 0', { rtol: 0, atol: 0 }, RangeError, /reduceOnPlateau: options 'rtol' and 'atol' are both 0/],
    ['cooldown -1', { cooldown: -1 }, RangeError, /reduceOnPlateau: option 'cooldown' .*got -1/],
    ['accumulationSize 0', { accumulationSize: 0 }, RangeError, /reduceOnPlateau: option 'accumulationSize' .*>= 1, got 0/],
    ['minScale 2', { minScale: 2 }, RangeError, /reduceOnPlateau: option 'minScale' must be a finite number in \[0, 1\], got 2/],
    ['minScale NaN', { minScale: NaN }, RangeError, /reduceOnPlateau: option 'minScale' .*got NaN/],
    ['factor a string', { factor: '0.5' as never }, TypeError, /reduceOnPlateau: option 'factor' must be a number, got "0\.5"/],
    ['unknown option', { mode: 'min' } as never, TypeError, /reduceOnPlateau: unknown option 'mode'/],
  ])('%s', (_name, options, type, message) => {
    const err = failsCleanly(() => reduceOnPlateau(options));
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
  });

  it('a missing or wrong extra.value, or a wrong state, fails before anything is computed', () => {
    const tx = reduceOnPlateau();
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    expect(failsCleanly(() => tx.update(grads, state, params)).message).toBe(
      'reduceOnPlateau: needs the loss in extra.value; call update(updates, state, params, { value: loss }) (no extra argument was given)',
    );
    expect(failsCleanly(() => tx.update(grads, state, params, {})).message).toMatch(/^reduceOnPlateau: needs the loss in extra\.value/);
    const two = tf.tensor1d([1, 2]);
    expect(failsCleanly(() => tx.update(grads, state, params, { value: two as never })).message).toMatch(
      /reduceOnPlateau: extra\.value must be a number or a tensor of one element \(the loss\), got a float32 tensor of shape \[2\]/,
    );
    expect(failsCleanly(() => tx.update(grads, state, params, { value: '1' as never })).name).toBe('TypeError');
    const gone = tf.scalar(1);
    gone.dispose();
    expect(failsCleanly(() => tx.update(grads, state, params, { value: gone })).message).toMatch(/reduceOnPlateau: extra\.value was disposed/);
    expect(failsCleanly(() => tx.update(grads, { ...state, scale: NaN }, params, { value: 1 })).message).toBe(
      'reduceOnPlateau: state.scale must be a finite number >= 0, got NaN',
    );
    expect(failsCleanly(() => tx.update(grads, { ...state, plateauCount: -1 }, params, { value: 1 })).message).toMatch(
      /^reduceOnPlateau: state\.plateauCount must be a whole number >= 0/,
    );
    const { avgValue: _, ...missing } = state;
    expect(failsCleanly(() => tx.update(grads, missing as never, params, { value: 1 })).message).toMatch(
      /^reduceOnPlateau: state must be \{avgValue, bestValue, cooldownCount, count, plateauCount, scale\}, got an object with keys/,
    );
    const int = tf.scalar(1, 'int32');
    expect(failsCleanly(() => tx.update({ ...grads, scale: int }, state, params, { value: 1 })).message).toMatch(
      /reduceOnPlateau: updates\.scale must be a float32 tensor, got int32/,
    );
    treeDispose([params, grads, two, int]);
  });
});
