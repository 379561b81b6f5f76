import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  chain,
  disposeReplaced,
  rprop,
  scale,
  scaleByRprop,
  trainStep,
  type ExtraArgs,
  type GradientTransformation,
  type Params,
} from '../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, run, thrown, trainWithoutLeak } from './helpers.js';

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
    const x = Array.from((params as { x: tf.Tensor }).x.dataSync());
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
