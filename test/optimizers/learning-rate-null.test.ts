import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adafactor,
  applyUpdates,
  chain,
  clipByBlockRms,
  disposeReplaced,
  identity,
  lbfgs,
  minimizeLbfgs,
  scale,
  scaleByFactoredRms,
  scaleByLbfgs,
  scaleByParamBlockRms,
  treeDispose,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectBitwiseEqual, flat, thrown } from '../helpers.js';

// `learningRate: null` is optax's `learning_rate=None` where optax takes it (lbfgs, adafactor):
// the learning-rate part of the chain is left out. lbfgs(null) used to be a TypeError (null
// reached scaleByLearningRate); adafactor had no way to say it.

type AnyTx = GradientTransformation<any>;
type P = { x: tf.Tensor };

/** Rosenbrock's function (1 - x0)^2 + 100 (x1 - x0^2)^2, minimum 0 at (1, 1). */
function rosenbrock(p: P): tf.Scalar {
  return tf.tidy(() => {
    const x0 = tf.slice(p.x, [0], [1]);
    const x1 = tf.slice(p.x, [1], [1]);
    return tf.reshape(tf.add(tf.square(tf.sub(1, x0)), tf.mul(100, tf.square(tf.sub(x1, tf.square(x0))))), []) as tf.Scalar;
  });
}

/** `grads.length` updates of `tx` from `x0` (one 2x2 leaf, params given): each update, and the final state. */
function stepsOf(tx: AnyTx, x0: number[], grads: number[][], extra?: (p: Params, g: Params) => object): { updates: number[][]; state: unknown[] } {
  let params: Params = tf.tensor2d(x0, [2, 2]);
  let state = tx.init(params);
  const updates: number[][] = [];
  for (const g of grads) {
    const gt = tf.tensor2d(g, [2, 2]);
    const [u, next]: [Params, unknown] = tx.update(gt, state, params, extra?.(params, gt));
    updates.push(flat(u));
    const p: Params = applyUpdates<Params>(params, u);
    disposeReplaced([gt, u, params, state], [p, next]);
    params = p;
    state = next;
  }
  const parts = (state as unknown[]).map((s) => Object.keys(s as object).sort());
  treeDispose([params, state]);
  return { updates, state: parts };
}

describe('lbfgs(null)', () => {
  it("is optax's lbfgs(learning_rate=None): scale(-1), the line search setting the step", () => {
    // Was: "lbfgs: option 'learningRate' must be a number or a schedule (count) => number, got null".
    const params = { x: tf.tensor1d([-1.2, 1]) };
    const state = lbfgs(null).init(params);
    expect(state[1]).toEqual({});
    treeDispose([params, state]);
    // The same 37 iterations to (1, 1) as without a learning rate, bit for bit.
    const x0 = { x: tf.tensor1d([-1.2, 1]) };
    const none = minimizeLbfgs(rosenbrock, x0, { learningRate: null, maxIterations: 60 });
    const absent = minimizeLbfgs(rosenbrock, x0, { maxIterations: 60 });
    expect(none.iterations).toBe(absent.iterations);
    expect(none.converged).toBe(true);
    expectBitwiseEqual(none.params, absent.params);
    treeDispose([x0, none.params, absent.params]);
  });

  it('without a line search is chain(scaleByLbfgs(), scale(-1), identity()), bit for bit', () => {
    const grads = [[1, -2, 0.5, 3], [0.5, -1, 0.25, 1], [0.2, 0.1, -0.3, 0.4]];
    const got = stepsOf(lbfgs(null, { linesearch: null }), [1, 2, 3, 4], grads);
    const want = stepsOf(chain(scaleByLbfgs(), scale(-1), identity()), [1, 2, 3, 4], grads);
    expectBitwiseEqual(got.updates, want.updates);
    expect(got.state).toEqual(want.state);
  });
});

describe('adafactor(null)', () => {
  const grads = [[1, -2, 0.5, 3], [0.5, -1, 0.25, 1], [2, 0.1, -0.3, 0.4]];

  it("leaves out the learning-rate part, as optax's adafactor(learning_rate=None)", () => {
    const none = stepsOf(adafactor(null, { minDimSizeToFactor: 2 }), [1, 2, 3, 4], grads);
    // optax's chain for learning_rate=None: no scale_by_learning_rate.
    const optaxChain = stepsOf(chain(scaleByFactoredRms({ minDimSizeToFactor: 2 }), clipByBlockRms(1), scaleByParamBlockRms(), scale(-1)), [1, 2, 3, 4], grads);
    expectBitwiseEqual(none.updates, optaxChain.updates);
    expect(none.state).toEqual(optaxChain.state);
    // Its values are those of a rate of 1; its state has one part fewer (no { count, learningRate }).
    const one = stepsOf(adafactor(1, { minDimSizeToFactor: 2 }), [1, 2, 3, 4], grads);
    expectBitwiseEqual(none.updates, one.updates);
    expect(one.state).toEqual([none.state[0], none.state[1], ['count', 'learningRate'], ...none.state.slice(2)]);
  });

  it('still needs a learning rate or null: undefined is a TypeError naming it', () => {
    const e = thrown(() => adafactor(undefined as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^adafactor: option 'learningRate' must be a number or a schedule/);
    expect(thrown(() => lbfgs('0.1' as never))).toBeInstanceOf(TypeError);
  });
});
