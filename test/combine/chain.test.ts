import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adamw,
  chain,
  clip,
  clipByGlobalNorm,
  getHyperparam,
  kernelPath,
  namedChain,
  scale,
  scaleByAdam,
  scaleByLearningRate,
  setHyperparam,
  trace,
  trainStep,
  treeDispose,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, gradValues32, makeGrads, makeParams, run, stateValues, trainWithoutLeak } from '../helpers.js';

describe('chain', () => {
  it('applies transforms in order and keeps their states in an array', () => {
    const tx = chain(scale(2), trace({ decay: 0.5 }), scaleByLearningRate(0.1));
    const { updates, state } = run(tx, 2);
    const g0 = gradValues32(0);
    const g1 = gradValues32(1);
    expectAllClose(updates[0], g0.map((g) => -0.1 * 2 * g), 1e-6);
    expectAllClose(updates[1], g1.map((g, i) => -0.1 * (2 * g + 0.5 * 2 * g0[i])), 1e-6);
    expect(state).toHaveLength(3);
    expect(state[0]).toEqual({});
    expect(state[2]).toEqual({ count: 2, learningRate: 0.1 });
    expectAllClose(flat(state[1].trace), g1.map((g, i) => 2 * g + g0[i]), 1e-6);
  });

  it('an empty chain is the identity', () => {
    const g = makeGrads(0);
    const tx = chain();
    const [u, s] = tx.update(g, tx.init(makeParams()));
    expect(u).toBe(g);
    expect(s).toEqual([]);
  });
});

function train(tx: GradientTransformation<any>, steps: number): { params: Params; state: any } {
  let params: Params = makeParams();
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
  return { params, state };
}

describe('namedChain', () => {
  it.each([
    ['clip + adamw (fused)', () => namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(0.1)]), () => chain(clipByGlobalNorm(1), adamw(0.1))],
    ['three parts (composite)', () => namedChain(['clip', clip(0.5)], ['adam', scaleByAdam()], ['lr', scaleByLearningRate(0.1)]), () =>
      chain(clip(0.5), scaleByAdam(), scaleByLearningRate(0.1))],
  ])('%s equals chain bit for bit, and reports the same kernel path', (_name, named, plain) => {
    const a = train(named(), 6);
    const b = train(plain(), 6);
    expectBitwiseEqual(a.params, b.params);
    expect(stateValues(Object.values(a.state))).toEqual(stateValues(b.state));
    expect(kernelPath(named())).toBe(kernelPath(plain()));
    treeDispose([a, b]);
  });

  it('its state is keyed by name, in the order given, and hyperparameters are found by name', () => {
    const tx = namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(0.1, { weightDecay: 0.05 })]);
    const state = tx.init(makeParams());
    expect(Object.keys(state)).toEqual(['clip', 'opt']);
    expect(state.clip).toEqual({});
    expect(getHyperparam(state, 'opt.weightDecay')).toBe(0.05);
    expect(getHyperparam(setHyperparam(state, 'opt.learningRate', 0.3), 'learningRate')).toBe(0.3);
    treeDispose(state);
  });

  it('bad input: clear errors', () => {
    expect(() => namedChain(['a', clip(1)], ['a', clip(2)])).toThrow('namedChain: the name "a" is used twice');
    expect(() => namedChain(['a.b', clip(1)])).toThrow('namedChain: the name of argument 0 must be non-empty and have no dots, got "a.b"');
    expect(() => namedChain([clip(1)] as never)).toThrow(/namedChain: argument 0 must be a \[name, transformation\] pair/);
    expect(() => namedChain(['x', {} as never])).toThrow(TypeError);
    const tx = namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(0.1)]);
    const params = makeParams();
    const g = makeGrads(0);
    const before = tf.memory().numTensors;
    expect(() => tx.update(g, { clip: {} } as never, params)).toThrow(/namedChain: state must be \{clip, opt\}/);
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([params, g]);
  });

  it('leaks nothing over 100 steps', () => {
    trainWithoutLeak(namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(0.1)]), 100);
  });
});
