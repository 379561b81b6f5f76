import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  adan,
  chain,
  disposeReplaced,
  getHyperparam,
  optimisticAdam,
  optimisticGradientDescent,
  scaleByAdam,
  scaleByFactoredRms,
  scaleBySm3,
  sm3,
  adafactor,
  ema,
  polyakSgd,
  scaleByPolyak,
  scaleByOptimisticGradient,
  scaleByAdan,
  scaleByLearningRate,
  rprop,
  scale,
  scaleByRprop,
  trainStep,
  type ExtraArgs,
  type GradientTransformation,
  type Params,
  clipByBlockRms,
  scaleByParamBlockRms,
} from '../src/index.js';
import { expectAllClose, expectBitwiseEqual, failsCleanly, flat, run, thrown, trainWithoutLeak } from './helpers.js';

// Optimizer zoo, batch c: rprop, adan, optimistic gradient, adafactor, sm3, polyak.

type AnyTx = GradientTransformation<any>;

/**
 * Runs `tx` on one vector parameter with the given gradients (one array per step), returning
 * each step's update as a flat array.
 */
function updatesFor(tx: AnyTx, x0: number[], grads: number[][], extra?: (k: number) => ExtraArgs): number[][] {
  let params: Params = tf.tensor1d(x0);
  let state = tx.init(params);
  const out: number[][] = [];
  grads.forEach((g, k) => {
    const gt = tf.tensor1d(g);
    const [u, s] = tx.update(gt, state, params, extra?.(k));
    out.push(flat(u));
    const next = tf.add(params as tf.Tensor, u as tf.Tensor);
    disposeReplaced([params, state, u, gt], [next, s]);
    params = next;
    state = s;
  });
  disposeReplaced([params, state], []);
  return out;
}

/**
 * `steps` trainSteps of `tx` from `x0`, gradients (and, with `withValue`, the loss as
 * `extra.value`) computed in float64 from the current params.
 */
function minimize(
  tx: AnyTx,
  x0: number[],
  f: (x: number[]) => number,
  grad: (x: number[]) => number[],
  steps = 10_000,
  withValue = false,
): number[] {
  let params: Params = { x: tf.tensor1d(x0) };
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) {
    const x: number[] = Array.from((params as { x: tf.Tensor }).x.dataSync());
    const extra = withValue ? { value: f(x) } : undefined;
    ({ params, state } = trainStep(tx, params, state, { x: tf.tensor1d(grad(x)) }, { extra }));
  }
  const result = flat(params);
  disposeReplaced([params, state], []);
  return result;
}

// optax's alias_test.py problems: a parabola from [-1, 10, 1] to [1, -1, 1], and Rosenbrock
// (a = 1, b = 100) from [0, 0] to [1, 1]; 10,000 steps, rtol = atol = 3e-2.
const TARGET = [1, -1, 1];
const parabola = (x: number[]) => x.reduce((acc, xi, i) => acc + (xi - TARGET[i]) ** 2, 0);
const parabolaGrad = (x: number[]) => x.map((xi, i) => 2 * (xi - TARGET[i]));
const rosenbrock = ([x, y]: number[]) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
const rosenbrockGrad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];

function expectConverges(make: () => AnyTx, withValue = false): void {
  expectAllClose(minimize(make(), [-1, 10, 1], parabola, parabolaGrad, 10_000, withValue), TARGET, 3e-2, 3e-2);
  expectAllClose(minimize(make(), [0, 0], rosenbrock, rosenbrockGrad, 10_000, withValue), [1, 1], 3e-2, 3e-2);
}

/** The alias and its documented chain give bit-identical updates and states over 5 steps. */
function expectEqualsChain(alias: AnyTx, chained: AnyTx): void {
  const a = run(alias, 5);
  const b = run(chained, 5);
  for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
  expectBitwiseEqual(a.state, b.state);
  disposeReplaced([a.params, a.state, b.params, b.state], []);
}

function expectRangeError(fn: () => unknown, owner: string, option: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(RangeError);
  expect(e.message).toContain(`${owner}:`);
  expect(e.message).toContain(`'${option}'`);
}

describe('rprop', () => {
  it('follows PyTorch (Rprop-) step by step', () => {
    // torch.optim.Rprop(lr=0.1), defaults etaminus 0.5, etaplus 1.2, step sizes in [1e-6, 50],
    // derived by hand. Per element: s = g * prev; stepSize *= (s > 0 ? 1.2 : s < 0 ? 0.5 : 1),
    // clamped; g' = s < 0 ? 0 : g; update = -stepSize * sign(g'); prev = g'.
    const grads = [
      [1, -2, 0.5, 3],
      [2, 1, 0.5, 0],
      [-1, 3, -0.5, 1],
    ];
    // Step 1: prev = 0, so s = 0 everywhere: stepSize 0.1, update -0.1 * sign(g).
    // Step 2: s = [2, -2, 0.25, 0] -> stepSize [0.12, 0.05, 0.12, 0.1]; g' = [2, 0, 0.5, 0]
    //         (the flip in element 1 moves nothing; g = 0 in element 3 moves nothing).
    // Step 3: prev = g' = [2, 0, 0.5, 0]; s = [-2, 0, -0.25, 0] -> stepSize [0.06, 0.05, 0.06, 0.1];
    //         g' = [0, 3, 0, 1]: element 1 moves by the halved step 0.05, unchanged since the flip.
    const expected = [
      [-0.1, 0.1, -0.1, -0.1],
      [-0.12, 0, -0.12, 0],
      [0, -0.05, 0, -0.1],
    ];
    const got = updatesFor(rprop(0.1), [0, 0, 0, 0], grads);
    for (let k = 0; k < 3; k++) expectAllClose(got[k], expected[k], 1e-6, 1e-9);
  });

  it('clamps the step sizes to [minStepSize, maxStepSize]', () => {
    // lr 0.1, maxStepSize 0.11: step 2 grows 0.1 * 1.2 = 0.12 -> 0.11, step 3 stays 0.11.
    // minStepSize 0.08: a flip halves 0.1 to 0.05 -> 0.08.
    const tx = rprop(0.1, { minStepSize: 0.08, maxStepSize: 0.11 });
    const got = updatesFor(tx, [0, 0], [[1, 1], [1, -1], [1, 1]]);
    // Element 1: step 2 flips (stepSize 0.08, no move), step 3 has prev = 0: moves by 0.08.
    expectAllClose(got.flat(), [-0.1, -0.1, -0.11, 0, -0.11, -0.08], 1e-6, 1e-9);
  });

  it('equals its documented chain, bit for bit', () => {
    expectEqualsChain(rprop(0.01), chain(scaleByRprop(0.01), scale(-1)));
    expectEqualsChain(rprop(0.01, { etaMinus: 0.3, etaPlus: 1.5 }), chain(scaleByRprop(0.01, { etaMinus: 0.3, etaPlus: 1.5 }), scale(-1)));
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(rprop(0.01), 100));

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => rprop(0), 'rprop', 'learningRate');
    expectRangeError(() => rprop(0.1, { etaMinus: 1 }), 'rprop', 'etaMinus');
    expectRangeError(() => rprop(0.1, { etaPlus: 1 }), 'rprop', 'etaPlus');
    expectRangeError(() => rprop(0.1, { minStepSize: 0 }), 'rprop', 'minStepSize');
    expectRangeError(() => rprop(0.1, { minStepSize: 1, maxStepSize: 0.5 }), 'rprop', 'maxStepSize');
    expectRangeError(() => scaleByRprop(0.1, { etaMinus: -0.5 }), 'scaleByRprop', 'etaMinus');
    const e = thrown(() => rprop((() => 0.1) as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain("'learningRate'");
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 0.1)', () => {
    expectConverges(() => rprop(0.1));
  });
});

describe('adan', () => {
  it('follows the paper (Algorithm 1, decays as b = 1 - beta) for three steps', () => {
    // scaleByAdan() defaults b1 0.98, b2 0.92, b3 0.99, eps 1e-8, epsRoot 0; gradients 1, -2, 0.5.
    // Step 1: d = 0. m = 0.02, v = 0, n = 0.01 * 1^2 = 0.01; corrections 0.02, 0.08, 0.01:
    //         u = (1 + 0) / (sqrt(1) + 1e-8) = 0.99999999.
    // Step 2: d = -3. m = 0.02 * -2 + 0.98 * 0.02 = -0.0204, mHat = -0.0204 / 0.0396 = -0.5151515;
    //         v = 0.08 * -3 = -0.24, vHat = -0.24 / 0.1536 = -1.5625, b2 * vHat = -1.4375;
    //         n = 0.01 * (-2 + 0.92 * -3)^2 + 0.99 * 0.01 = 0.01 * 22.6576 + 0.0099 = 0.236476,
    //         nHat = 0.236476 / 0.0199 = 11.883216, sqrt = 3.4472041;
    //         u = (-0.5151515 - 1.4375) / 3.4472041 = -0.5664450.
    // Step 3: d = 2.5. m = 0.01 + 0.98 * -0.0204 = -0.009992, v = 0.2 + 0.92 * -0.24 = -0.0208,
    //         n = 0.01 * (0.5 + 2.3)^2 + 0.99 * 0.236476 = 0.31251124; corrections 0.058808,
    //         0.221312, 0.029701: u = (-0.1699089 + 0.92 * -0.0939850) / sqrt(10.521909) = -0.0790366.
    const got = updatesFor(scaleByAdan(), [0], [[1], [-2], [0.5]]).flat();
    expectAllClose(got, [0.9999999900000002, -0.5664449957219024, -0.07903663158657856], 2e-6, 1e-9);
    // optax (PR #1715's bug) weighs d by 1 - b2 = 0.08: its step 2 would be
    // (-0.5151515 + 0.08 * -1.5625) / sqrt((0.01 * 2.24^2 + 0.0099) / 0.0199) = -0.3684.
    expect(Math.abs(got[1] + 0.3684)).toBeGreaterThan(0.1);
  });

  it('equals its documented chain, bit for bit (alias epsRoot 1e-8)', () => {
    expectEqualsChain(
      adan(0.01, { weightDecay: 1e-2 }),
      chain(scaleByAdan({ epsRoot: 1e-8 }), addDecayedWeights(1e-2), scaleByLearningRate(0.01)),
    );
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(adan(0.01, { weightDecay: 1e-3 }), 100));

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => adan(0.1, { b1: 1 }), 'adan', 'b1');
    expectRangeError(() => adan(0.1, { b2: -0.1 }), 'adan', 'b2');
    expectRangeError(() => adan(0.1, { b3: 1.5 }), 'adan', 'b3');
    expectRangeError(() => adan(0.1, { eps: -1 }), 'adan', 'eps');
    expectRangeError(() => adan(0.1, { weightDecay: -1 }), 'adan', 'weightDecay');
    expectRangeError(() => scaleByAdan({ epsRoot: -1 }), 'scaleByAdan', 'epsRoot');
  });

  it('keeps learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    const { state, params } = run(adan(schedule), 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 0.1)', () => {
    expectConverges(() => adan(0.1));
  });
});

describe('optimistic gradient', () => {
  it('optimisticGradientDescent follows u = (alpha + beta) g - beta gPrev, gPrev = g at first', () => {
    // lr 0.1, alpha = beta = 1; gradients [1, -2], [3, 0.5], [-1, 1]:
    // step 1: -0.1 * 1 * g1 = [-0.1, 0.2]
    // step 2: -0.1 * (2 * [3, 0.5] - [1, -2]) = -0.1 * [5, 3] = [-0.5, -0.3]
    // step 3: -0.1 * (2 * [-1, 1] - [3, 0.5]) = -0.1 * [-5, 1.5] = [0.5, -0.15]
    const grads = [[1, -2], [3, 0.5], [-1, 1]];
    expectAllClose(updatesFor(optimisticGradientDescent(0.1), [0, 0], grads).flat(), [-0.1, 0.2, -0.5, -0.3, 0.5, -0.15], 1e-6, 1e-9);
    // alpha 0.7, beta 0.1: step 1: -0.1 * 0.7 * g1 = [-0.07, 0.14];
    // step 2: -0.1 * (0.8 * [3, 0.5] - 0.1 * [1, -2]) = -0.1 * [2.3, 0.6] = [-0.23, -0.06].
    expectAllClose(
      updatesFor(optimisticGradientDescent(0.1, { alpha: 0.7, beta: 0.1 }), [0, 0], grads.slice(0, 2)).flat(),
      [-0.07, 0.14, -0.23, -0.06],
      1e-6,
      1e-9,
    );
  });

  it('optimisticAdam applies the optimistic step to Nesterov Adam directions', () => {
    // lr 0.01, alpha = beta = 1, b1 0.9, b2 0.999, eps 1e-8, nesterov; gradients 1, -2.
    // Step 1: m = 0.1, v = 0.001; mHat = 0.9 * 0.1 / (1 - 0.81) + 0.1 * 1 / 0.1 = 1.4736842,
    //         vHat = 1, r1 = 1.4736842 / (1 + 1e-8); u = -0.01 * r1 = -0.0147368.
    // Step 2: m = -0.2 + 0.09 = -0.11, v = 0.004 + 0.000999 = 0.004999;
    //         mHat = 0.9 * -0.11 / 0.271 + 0.1 * -2 / 0.19 = -0.3653137 - 1.0526316 = -1.4179452,
    //         vHat = 0.004999 / 0.001999 = 2.5007504, r2 = -1.4179452 / 1.5813761 = -0.8966527;
    //         u = -0.01 * (2 * r2 - r1) = -0.01 * -3.2669897 = 0.0326699.
    expectAllClose(updatesFor(optimisticAdam(0.01), [0], [[1], [-2]]).flat(), [-0.01473684195789474, 0.03266989686555113], 2e-6, 1e-9);
  });

  it('equal their documented chains, bit for bit', () => {
    expectEqualsChain(
      optimisticGradientDescent(0.01, { alpha: 0.7, beta: 0.1 }),
      chain(scaleByOptimisticGradient({ alpha: 0.7, beta: 0.1 }), scaleByLearningRate(0.01)),
    );
    expectEqualsChain(
      optimisticAdam(0.01, { beta: 0.5, b1: 0.8 }),
      chain(scaleByAdam({ b1: 0.8, nesterov: true }), scaleByOptimisticGradient({ beta: 0.5 }), scaleByLearningRate(0.01)),
    );
  });

  it('leak nothing over 100 trainSteps', () => {
    trainWithoutLeak(optimisticGradientDescent(0.01), 100);
    trainWithoutLeak(optimisticAdam(0.01), 100);
  });

  it('reject bad options with a RangeError naming the option', () => {
    expectRangeError(() => optimisticGradientDescent(0.1, { alpha: -1 }), 'optimisticGradientDescent', 'alpha');
    expectRangeError(() => optimisticGradientDescent(0.1, { beta: Number.NaN }), 'optimisticGradientDescent', 'beta');
    expectRangeError(() => optimisticGradientDescent(-0.1), 'optimisticGradientDescent', 'learningRate');
    expectRangeError(() => optimisticAdam(0.1, { b1: 1 }), 'optimisticAdam', 'b1');
    expectRangeError(() => optimisticAdam(0.1, { beta: -1 }), 'optimisticAdam', 'beta');
    expectRangeError(() => scaleByOptimisticGradient({ alpha: Infinity }), 'scaleByOptimisticGradient', 'alpha');
  });

  it('keep learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    for (const tx of [optimisticGradientDescent(schedule), optimisticAdam(schedule)] as AnyTx[]) {
      const { state, params } = run(tx, 3);
      expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
      disposeReplaced([state, params], []);
    }
  });

  it('converge on the parabola and on Rosenbrock with optax alias_test.py hyperparameters', () => {
    // optimistic_gradient_descent(2e-3, alpha=0.7, beta=0.1); optimistic_adam_v2(2e-3).
    expectConverges(() => optimisticGradientDescent(2e-3, { alpha: 0.7, beta: 0.1 }));
    expectConverges(() => optimisticAdam(2e-3));
  });
});

describe('scaleByFactoredRms', () => {
  const g1 = [[1, 2, 3], [4, 5, 6]];
  const g2 = [[-1, 0.5, 2], [3, -2, 1]];

  it('keeps a row and a column vector for a factored matrix, not a full matrix', () => {
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
    const state = tx.init({ w: tf.zeros([2, 3]), b: tf.zeros([3]) });
    // [2, 3]: d0 = 1 (largest), d1 = 0; vRow drops d0 -> [2], vCol drops d1 -> [3], v empty.
    const w = (t: Params) => (t as { w: tf.Tensor }).w.shape;
    const b = (t: Params) => (t as { b: tf.Tensor }).b.shape;
    expect([w(state.vRow), w(state.vCol), w(state.v)]).toEqual([[2], [3], [0]]);
    // A vector is never factored: full v, empty vRow and vCol.
    expect([b(state.vRow), b(state.vCol), b(state.v)]).toEqual([[0], [0], [3]]);
    // Below minDimSizeToFactor (default 128) a matrix keeps a full v.
    const plain = scaleByFactoredRms().init({ w: tf.zeros([2, 3]) });
    expect([w(plain.vRow), w(plain.vCol), w(plain.v)]).toEqual([[0], [0], [2, 3]]);
    disposeReplaced([state, plain], []);
  });

  it('follows the factored second-moment formula for two steps', () => {
    // G = g^2 (+ 1e-30). Step 1: beta = 1 - 1^-0.8 = 0, so
    //   vRow = mean over columns = [14/3, 77/3], vCol = mean over rows = [8.5, 14.5, 22.5];
    //   vRow / mean(vRow) = [14/3, 77/3] / (91/6) = [0.3076923, 1.6923077];
    //   u[0][0] = 1 / sqrt(0.3076923) / sqrt(8.5) = 1.8027756 * 0.3429972 = 0.6183469, ...
    // Step 2: beta = 1 - 2^-0.8 = 0.4256508; vRow = beta * vRow + (1 - beta) * [7/3, 14/3]
    //   = [2.9914816, 13.6053339], vCol = beta * vCol + (1 - beta) * [5, 2.125, 2.5]
    //   = [6.4897779, 7.3924289, 11.0130165]; u = g * rsqrt(vRow / mean)[row] * rsqrt(vCol)[col].
    const expected = [
      [0.61834694, 0.94686415, 1.14017543, 1.05465609, 1.00936058, 0.97234487],
      [-0.65379155, 0.30628847, 1.00376274, 0.91970621, -0.57448567, 0.23533669],
    ];
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
    let state = tx.init(tf.zeros([2, 3]));
    [g1, g2].forEach((g, k) => {
      const gt = tf.tensor2d(g);
      const [u, s] = tx.update(gt, state);
      expectAllClose(flat(u), expected[k], 2e-6, 1e-9);
      disposeReplaced([state, gt, u], [s]);
      state = s;
    });
    expectAllClose(flat(state.vRow), [2.99148157, 13.60533394], 2e-6);
    expectAllClose(flat(state.vCol), [6.48977788, 7.39242893, 11.01301645], 2e-6);
    disposeReplaced([state], []);
  });

  it('is RMSprop-like, u = g / sqrt(v), on a leaf it does not factor', () => {
    // Step 1: v = g^2 + 1e-30, u = g / |g| = sign(g). Step 2: beta = 0.4256508,
    // v = beta * 1 + (1 - beta) * 4 = 2.7230475 for g = [1, -1] then [2, -2]: u = 2 / sqrt(v) = 1.2119993.
    const got = updatesFor(scaleByFactoredRms(), [0, 0], [[1, -1], [2, -2]]).flat();
    expectAllClose(got, [1, -1, 1.2119993, -1.2119993], 2e-6);
  });

  it('leaks nothing over 100 trainSteps, factored or not', () => {
    trainWithoutLeak(scaleByFactoredRms({ minDimSizeToFactor: 2 }), 100);
    trainWithoutLeak(scaleByFactoredRms(), 100);
  });

  it('rejects bad options', () => {
    expectRangeError(() => scaleByFactoredRms({ decayRate: -1 }), 'scaleByFactoredRms', 'decayRate');
    expectRangeError(() => scaleByFactoredRms({ minDimSizeToFactor: 0 }), 'scaleByFactoredRms', 'minDimSizeToFactor');
    expectRangeError(() => scaleByFactoredRms({ epsilon: -1 }), 'scaleByFactoredRms', 'epsilon');
    expectRangeError(() => scaleByFactoredRms({ stepOffset: 1.5 }), 'scaleByFactoredRms', 'stepOffset');
  });

  it('names the path and the expected shape when a state leaf has the wrong shape', () => {
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
    const state = tx.init({ w: tf.zeros([2, 3]) });
    const bad = { ...state, vCol: { w: tf.zeros([2]) } };
    const g = { w: tf.ones([2, 3]) };
    const e = thrown(() => tx.update(g, bad));
    expect(e.message).toContain('state.vCol.w');
    expect(e.message).toContain('[3]');
    disposeReplaced([state, bad, g], []);
  });
});

describe('sm3', () => {
  it('covers a matrix accumulator with a row and a column vector, and follows SM3-II for two steps', () => {
    // scaleBySm3() (b1 0.9, b2 1, eps 1e-8) on W = [2, 2] and a vector.
    // Step 1, W: prev = 0, acc = g^2 = [[1, 4], [9, 16]], g / sqrt(acc) = sign(g) = 1, nu = 0.1;
    //   mu[0] (per row) = max over columns = [4, 16], mu[1] (per column) = max over rows = [9, 16].
    // Step 2, W: prev[i][j] = min(mu[0][i], mu[1][j]) = [[4, 4], [9, 16]]; g = [[1, -1], [2, 0]]:
    //   acc = [[5, 5], [13, 16]], g / sqrt(acc) = [[0.4472136, -0.4472136], [0.5547002, 0]],
    //   nu = 0.1 * that + 0.9 * 0.1 = [[0.1347214, 0.0452786], [0.1454700, 0.09]];
    //   mu[0] = [5, 16], mu[1] = [13, 16].
    // Vector v: g = 2 then 1: acc = 4 then 5; nu = 0.1, then 0.1 / sqrt(5) + 0.09 = 0.1347214.
    const tx = scaleBySm3();
    let state = tx.init({ v: tf.zeros([1]), w: tf.zeros([2, 2]) });
    const mu = (s: typeof state) => (s.mu as { w: tf.Tensor[] }).w;
    expect(mu(state).map((t) => t.shape)).toEqual([[2], [2]]);
    const grads = [
      { v: [2], w: [[1, 2], [3, 4]] },
      { v: [1], w: [[1, -1], [2, 0]] },
    ];
    const expected = [
      [0.1, 0.1, 0.1, 0.1, 0.1],
      [0.1347214, 0.1347214, 0.0452786, 0.14547, 0.09],
    ];
    grads.forEach((g, k) => {
      const gt = { v: tf.tensor1d(g.v), w: tf.tensor2d(g.w) };
      const [u, s] = tx.update(gt, state);
      expectAllClose(flat(u), expected[k], 2e-6, 1e-8);
      disposeReplaced([state, gt, u], [s]);
      state = s;
    });
    expectAllClose(mu(state).flatMap((t) => Array.from(t.dataSync())), [5, 16, 13, 16], 1e-6);
    disposeReplaced([state], []);
  });

  it('equals its documented chain, bit for bit', () => {
    expectEqualsChain(sm3(0.01, { momentum: 0.8 }), chain(scaleBySm3({ b1: 0.8 }), scaleByLearningRate(0.01)));
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(sm3(0.01), 100));

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => sm3(0.1, { momentum: 1 }), 'sm3', 'momentum');
    expectRangeError(() => sm3(-1), 'sm3', 'learningRate');
    expectRangeError(() => scaleBySm3({ b2: 1.5 }), 'scaleBySm3', 'b2');
    expectRangeError(() => scaleBySm3({ eps: -1 }), 'scaleBySm3', 'eps');
  });

  it('names the accumulator when one has the wrong shape', () => {
    const tx = scaleBySm3();
    const state = tx.init({ w: tf.zeros([2, 3]) });
    const bad = { ...state, mu: { w: [tf.zeros([2]), tf.zeros([2])] } };
    const g = { w: tf.ones([2, 3]) };
    const e = thrown(() => tx.update(g, bad));
    expect(e.message).toContain('state.mu.w[1]');
    expect(e.message).toContain('[3]');
    disposeReplaced([state, bad, g], []);
  });

  it('keeps learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    const { state, params } = run(sm3(schedule), 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 1)', () => {
    expectConverges(() => sm3(1));
  });
});

describe('polyakSgd', () => {
  it('steps by min((value - fMin) / |g|^2, maxLearningRate)', () => {
    // f(x) = sum(x^2) from x = [1, 2, 3] (optax's docstring example): f = 14, g = [2, 4, 6],
    // |g|^2 = 56, step = min(14 / 56, 1) = 0.25, u = [-0.5, -1, -1.5]; then x = [0.5, 1, 1.5],
    // f = 3.5, g = [1, 2, 3], |g|^2 = 14, step 0.25 again, u = [-0.25, -0.5, -0.75].
    const x0 = [1, 2, 3];
    const got = updatesFor(polyakSgd(), x0, [[2, 4, 6], [1, 2, 3]], (k) => ({ value: k === 0 ? 14 : 3.5 }));
    expectAllClose(got.flat(), [-0.5, -1, -1.5, -0.25, -0.5, -0.75], 1e-6);
    // maxLearningRate 0.1 caps the step: u = -0.1 * g. scaling 0.5 scales g first, as optax's
    // code: step = min(14 / (0.25 * 56), 1) = 1, u = -0.5 * g (test/optimizers/polyak-sgd.test.ts).
    expectAllClose(updatesFor(polyakSgd(0.1), x0, [[2, 4, 6]], () => ({ value: 14 }))[0], [-0.2, -0.4, -0.6], 1e-6);
    expectAllClose(updatesFor(polyakSgd(1, { scaling: 0.5 }), x0, [[2, 4, 6]], () => ({ value: 14 }))[0], [-1, -2, -3], 1e-6);
    // fMin 7, eps 8: step = (14 - 7) / (56 + 8) = 0.109375.
    expectAllClose(
      updatesFor(polyakSgd(1, { fMin: 7, eps: 8 }), x0, [[2, 4, 6]], () => ({ value: 14 }))[0],
      [-0.21875, -0.4375, -0.65625],
      1e-6,
    );
  });

  it("'sps+' clips a negative gap to 0; 'sps' steps uphill; a zero gradient gives a zero step", () => {
    // value 1 below fMin 2: gap -1, |g|^2 = 4: 'sps' step = -0.25 (u = +0.25 * g), 'sps+' 0.
    expectAllClose(updatesFor(polyakSgd(1, { fMin: 2 }), [0], [[2]], () => ({ value: 1 }))[0], [0.5], 1e-6);
    expectAllClose(updatesFor(polyakSgd(1, { fMin: 2, variant: 'sps+' }), [0], [[2]], () => ({ value: 1 }))[0], [-0], 0, 0);
    expectAllClose(updatesFor(scaleByPolyak(), [0, 0], [[0, 0]], () => ({ value: 5 }))[0], [0, 0], 0, 0);
  });

  it('reads a scalar tensor as extra.value, and names the field when it is missing', () => {
    const v = tf.scalar(14);
    expectAllClose(updatesFor(polyakSgd(), [1, 2, 3], [[2, 4, 6]], () => ({ value: v }))[0], [-0.5, -1, -1.5], 1e-6);
    v.dispose();
    const tx = polyakSgd();
    const p = tf.tensor1d([1]);
    const state = tx.init(p);
    const e = failsCleanly(() => tx.update(p, state, p));
    expect(e.message).toContain('extra.value');
    const e2 = failsCleanly(() => tx.update(p, state, p, {}));
    expect(e2.message).toContain('extra.value');
    p.dispose();
  });

  it('equals its documented chain, bit for bit', () => {
    const withValue = (tx: AnyTx): AnyTx => ({ init: tx.init, update: (u, s, p) => tx.update(u, s, p, { value: 3 }) });
    expectEqualsChain(
      withValue(polyakSgd(0.5, { scaling: 0.1, fMin: 1, eps: 1e-3, variant: 'sps+' })),
      withValue(chain(scaleByLearningRate(0.1), scaleByPolyak({ maxLearningRate: 0.5, fMin: 1, eps: 1e-3, variant: 'sps+' }))),
    );
  });

  it('leaks nothing over 100 trainSteps', () => {
    const tx = polyakSgd(0.1);
    trainWithoutLeak({ init: tx.init, update: (u, s, p) => tx.update(u, s, p, { value: 1 }) }, 100);
  });

  it('rejects bad options, naming the option', () => {
    expectRangeError(() => polyakSgd(-1), 'polyakSgd', 'maxLearningRate');
    expectRangeError(() => polyakSgd(1, { eps: -1 }), 'polyakSgd', 'eps');
    expectRangeError(() => polyakSgd(1, { fMin: Number.NaN }), 'polyakSgd', 'fMin');
    expectRangeError(() => polyakSgd(1, { scaling: -1 }), 'polyakSgd', 'scaling');
    expectRangeError(() => polyakSgd(1, { variant: 'sgd' as never }), 'polyakSgd', 'variant');
    expectRangeError(() => scaleByPolyak({ maxLearningRate: Infinity }), 'scaleByPolyak', 'maxLearningRate');
  });

  it('keeps the scaling schedule(k) after k updates (under learningRate, as scaleByLearningRate)', () => {
    const schedule = (c: number) => 1 / (c + 1);
    const tx = polyakSgd(1, { scaling: schedule });
    const { state, params } = run({ init: tx.init, update: (u, s, p) => tx.update(u, s, p, { value: 2 }) }, 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (maxLearningRate 1)', () => {
    expectConverges(() => polyakSgd(1), true);
  });
});

describe('adafactor', () => {
  it('follows its chain of formulas for two steps on an unfactored leaf', () => {
    // adafactor(0.1) on x = [3, 4], gradients [1, -2] then [2, 2].
    // Step 1: beta = 0, v = g^2, u = g / sqrt(v) = [1, -1]; rms(u) = 1 <= threshold 1 (no clip);
    //   times lr 0.1, times rms(x) = sqrt(12.5) = 3.5355339, negated: [-0.3535534, 0.3535534].
    // Step 2: beta = 1 - 2^-0.8 = 0.4256508, v = [beta + (1 - beta) * 4, 4] = [2.7230475, 4],
    //   u = [2 / 1.6501659, 1] = [1.2119993, 1]; rms(u) = 1.1110676 > 1: u / 1.1110676;
    //   x = [2.6464466, 4.3535534], rms(x) = 3.6025759: u = -[0.3929842, 0.3242445].
    const got = updatesFor(adafactor(0.1), [3, 4], [[1, -2], [2, 2]]).flat();
    expectAllClose(got, [-0.35355339, 0.35355339, -0.39298416, -0.32424453], 2e-6);
  });

  it('keeps row and column statistics, not a full matrix, for a large matrix', () => {
    const params = { w: tf.zeros([128, 256]), b: tf.zeros([256]) };
    const state = adafactor(0.01).init(params);
    const factoredState = (state as unknown as [{ vRow: { w: tf.Tensor }; vCol: { w: tf.Tensor }; v: { w: tf.Tensor; b: tf.Tensor } }])[0];
    expect([factoredState.vRow.w.shape, factoredState.vCol.w.shape, factoredState.v.w.shape]).toEqual([[128], [256], [0]]);
    expect(factoredState.v.b.shape).toEqual([256]);
    disposeReplaced([params, state], []);
  });

  it('equals its documented chain, bit for bit', () => {
    expectEqualsChain(
      adafactor(0.01, { minDimSizeToFactor: 2, clippingThreshold: 0.5 }),
      chain(
        scaleByFactoredRms({ minDimSizeToFactor: 2 }),
        clipByBlockRms(0.5),
        scaleByLearningRate(0.01, { flipSign: false }),
        scaleByParamBlockRms(),
        scale(-1),
      ),
    );
    expectEqualsChain(
      adafactor(0.01, { clippingThreshold: null, multiplyByParameterScale: false, momentum: 0.9, weightDecay: 0.1 }),
      chain(scaleByFactoredRms(), scaleByLearningRate(0.01, { flipSign: false }), ema({ decay: 0.9, debias: false }), addDecayedWeights(0.1), scale(-1)),
    );
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(adafactor(0.01, { minDimSizeToFactor: 2 }), 100);
    trainWithoutLeak(adafactor(0.01, { momentum: 0.9, weightDecay: 1e-3 }), 100);
  });

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => adafactor(0.1, { clippingThreshold: 0 }), 'adafactor', 'clippingThreshold');
    expectRangeError(() => adafactor(0.1, { momentum: 1 }), 'adafactor', 'momentum');
    expectRangeError(() => adafactor(0.1, { decayOffset: -1 }), 'adafactor', 'decayOffset');
    expectRangeError(() => adafactor(0.1, { eps: -1 }), 'adafactor', 'eps');
    expectRangeError(() => adafactor(0.1, { minDimSizeToFactor: 0 }), 'adafactor', 'minDimSizeToFactor');
    expectRangeError(() => adafactor(0.1, { weightDecay: -1 }), 'adafactor', 'weightDecay');
    expectRangeError(() => adafactor(-0.1), 'adafactor', 'learningRate');
  });

  it('keeps learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    const { state, params } = run(adafactor(schedule), 3);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([state, params], []);
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 5e-3)', () => {
    expectConverges(() => adafactor(5e-3));
  });
});
