import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  chain,
  clip,
  clipByGlobalNorm,
  disposeReplaced,
  flatten,
  getKernelMode,
  kernelPath,
  sgd,
  trainStep,
  treeDispose,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, inMode, makeGrads, makeParams, stateValues, trainWithoutLeak } from '../helpers.js';
import { wrappedExamples } from '../properties/registry.js';

type AnyTx = GradientTransformation<any>;

function train(tx: AnyTx, steps: number, viaUpdate = false): { params: Params; state: any } {
  let params: Params = makeParams();
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) {
    if (!viaUpdate) {
      ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      continue;
    }
    const g = makeGrads(k);
    const [u, next]: [Params, unknown] = tx.update(g, state, params);
    const p: Params = tf.tidy(() => treeAdd(params, u) as tf.TensorContainer) as Params;
    disposeReplaced([params, g, u, state], [p, next]);
    params = p;
    state = next;
  }
  return { params, state };
}

function treeAdd(a: Params, b: Params): Params {
  const x = a as { layer: { kernel: tf.Tensor; bias: tf.Tensor }; scale: tf.Tensor };
  const y = b as typeof x;
  return { layer: { kernel: tf.add(x.layer.kernel, y.layer.kernel), bias: tf.add(x.layer.bias, y.layer.bias) }, scale: tf.add(x.scale, y.scale) };
}

/**
 * The transformations the wrappers are given (the property registry's, with each option set) that
 * are element-wise (they read no sum over a leaf, unlike lamb), and a chain of two.
 */
const ELEMENTWISE: Array<[string, () => AnyTx]> = [
  ...wrappedExamples(0.05)
    .filter(([, , entry]) => !entry.reduces)
    .map(([label, make]): [string, () => AnyTx] => [label, make]),
  ['clip + sgd', () => chain(clip(0.3), sgd(0.1))],
];

describe('flatten', () => {
  it.each(ELEMENTWISE)('flatten(%s) equals it on the tree (to float32 rounding; bit for bit on one path)', (_name, make) => {
    for (const mode of ['auto', 'composite'] as const) {
      inMode(mode, () => {
        for (const viaUpdate of [false, true]) {
          const a = train(flatten(make()), 6, viaUpdate);
          const b = train(make(), 6, viaUpdate);
          expectBitwiseEqual(a.params, b.params);
          expectAllClose(stateValues(a.state), stateValues(b.state), 0, 0);
          treeDispose([a, b]);
        }
      });
    }
  });

  it('keeps each state slot in one 1-D buffer', () => {
    const tx = flatten(adam(0.1));
    const { params, state } = train(tx, 2);
    expect(state[0].mu).toBeInstanceOf(tf.Tensor);
    expect(state[0].mu.shape).toEqual([10]);
    expect(state[0].nu.shape).toEqual([10]);
    treeDispose([params, state]);
  });

  it('flatten(adam) and chain(clipByGlobalNorm, flatten(adamw)) keep the fused kernel; fused = composite to float32 rounding', () => {
    const forms: Array<() => AnyTx> = [() => flatten(adam(0.05)), () => chain(clipByGlobalNorm(1), flatten(adamw(0.05)))];
    for (const make of forms) {
      const expected = getKernelMode() === 'composite' ? 'composite' : tf.getBackend() === 'wasm' ? 'wasm-simd' : 'cpu';
      expect(kernelPath(make())).toBe(expected);
      const fused = inMode('auto', () => train(make(), 10));
      const composite = inMode('composite', () => train(make(), 10));
      expectAllClose(flat(fused.params), flat(composite.params), 1e-5, 1e-7);
      expectAllClose(stateValues(fused.state), stateValues(composite.state), 1e-5, 1e-7);
      treeDispose([fused, composite]);
    }
  });

  it('an adamw with a weight-decay mask runs composite (the mask is a function of the tree)', () => {
    expect(kernelPath(flatten(adamw(0.1, { mask: () => true })))).toBe('composite');
  });

  it('leaks nothing over 100 steps, and an empty tree works', () => {
    trainWithoutLeak(flatten(adamw(0.05)), 100);
    const empty = flatten(adam(0.1));
    const s = empty.init({});
    const [u] = empty.update({}, s, {});
    expect(u).toEqual({});
    treeDispose(s);
  });

  it('bad input: a flat state of the wrong size names the slot; nothing created', () => {
    const tx = flatten(adam(0.1));
    const params = makeParams();
    const g = makeGrads(0);
    const state = tx.init(params);
    const wrong = [{ ...state[0], mu: tf.zeros([9]) }, state[1]] as typeof state;
    const before = tf.memory().numTensors;
    expect(() => tx.update(g, wrong, params)).toThrow(/adam: .*mu/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => flatten({} as never)).toThrow(TypeError);
    treeDispose([params, g, state, wrong]);
  });
});
