import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  chain,
  getHyperparam,
  polyakSgd,
  scaleByLearningRate,
  scaleByPolyak,
  sgd,
  treeDispose,
  type GradientTransformation,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat } from '../helpers.js';

// polyakSgd's `scaling` as optax's code applies it: chain(sgd(scaling), scale_by_polyak(...)), so
// the Polyak step is taken of the scaled gradient -s g: u = -s min(gap / (s^2 |g|^2 + eps), max) g.
// optax's docstring writes s min(gap / (|g|^2 + eps), max) instead; the two agree for s = 1.

type AnyTx = GradientTransformation<any>;

/** The first update of `tx` on optax's docstring example: x = [1, 2, 3], f = sum(x^2) = 14, g = [2, 4, 6]. */
function firstUpdate(tx: AnyTx): number[] {
  const params = tf.tensor1d([1, 2, 3]);
  const grads = tf.tensor1d([2, 4, 6]);
  const state = tx.init(params);
  const [u, next] = tx.update(grads, state, params, { value: 14 });
  const out = flat(u);
  treeDispose([params, grads, state, u, next]);
  return out;
}

describe("polyakSgd's scaling", () => {
  it("enters as optax's code computes it: the step is taken of the scaled gradient", () => {
    // s = 0.5: s^2 |g|^2 = 0.25 * 56 = 14, step = min(14 / 14, 1) = 1, u = -0.5 * g = [-1, -2, -3]
    // (the docstring's formula would give 0.5 * min(14 / 56, 1) = 0.125: [-0.25, -0.5, -0.75]).
    expectAllClose(firstUpdate(polyakSgd(1, { scaling: 0.5 })), [-1, -2, -3], 1e-6);
    // At the cap it multiplies: maxLearningRate 0.5, step = min(1, 0.5), u = -0.5 * 0.5 * g.
    expectAllClose(firstUpdate(polyakSgd(0.5, { scaling: 0.5 })), [-0.5, -1, -1.5], 1e-6);
    // s = 2: 4 * 56 = 224, step = 14 / 224 = 0.0625, u = -2 * 0.0625 * g = -0.125 g.
    expectAllClose(firstUpdate(polyakSgd(1, { scaling: 2 })), [-0.25, -0.5, -0.75], 1e-6);
    // With eps: 14 / (14 + 14) = 0.5, u = -0.5 * 0.5 * g.
    expectAllClose(firstUpdate(polyakSgd(1, { scaling: 0.5, eps: 14 })), [-0.5, -1, -1.5], 1e-6);
    // scaling 1: both readings agree, u = -0.25 * g.
    expectAllClose(firstUpdate(polyakSgd()), [-0.5, -1, -1.5], 1e-6);
  });

  it("equals optax's chain, sgd(scaling) then scaleByPolyak, bit for bit; the docstring's form is the other order", () => {
    const o = { fMin: 1, eps: 1e-3, variant: 'sps+' as const };
    for (const scaling of [0.3, 1, 2.5, (c: number) => 1 / (c + 2)]) {
      expectBitwiseEqual(
        firstUpdate(polyakSgd(0.7, { ...o, scaling })),
        firstUpdate(chain(sgd(scaling), scaleByPolyak({ ...o, maxLearningRate: 0.7 }))),
      );
    }
    // chain(scaleByPolyak, scaleByLearningRate(s)) is s * min(gap / (|g|^2 + eps), max): the docstring's.
    expectAllClose(firstUpdate(chain(scaleByPolyak(), scaleByLearningRate(0.5))), [-0.25, -0.5, -0.75], 1e-6);
  });

  it('keeps the scaling first in its state, readable as learningRate', () => {
    const tx = polyakSgd(1, { scaling: (c) => 0.5 ** c });
    const params = tf.tensor1d([1]);
    const state = tx.init(params);
    expect(state).toEqual([{ count: 0, learningRate: 1 }, {}]);
    expect(getHyperparam(state, 'learningRate')).toBe(1);
    params.dispose();
  });
});
