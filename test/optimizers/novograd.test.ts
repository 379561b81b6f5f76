import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { chain, disposeReplaced, novograd, scaleByLearningRate, scaleByNovograd } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, expectSteps, itThrowsRangeError, makeGrads, makeParams, run, thrown, updatesAt } from '../helpers.js';
import { norm, perLeaf, type Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

/** NovoGrad in float64: per-leaf second moment of the squared norm, first step initialises both moments. */
function novogradRef(lr: number, { b1 = 0.9, b2 = 0.25, eps = 1e-6, wd = 0 } = {}): Stepper {
  let t = 0;
  let mu = new Array(10).fill(0);
  const nu = [0, 0, 0];
  return (g, p) => {
    t++;
    const a = perLeaf(
      (j, gj, pj) => {
        const n = norm(gj) ** 2;
        nu[j] = t === 1 ? n : b2 * nu[j] + (1 - b2) * n;
        return gj.map((x, i) => x / (Math.sqrt(nu[j]) + eps) + wd * pj[i]);
      },
      g,
      p,
    );
    mu = t === 1 ? a : a.map((x, i) => b1 * mu[i] + x);
    return mu.map((x) => -lr * x);
  };
}

// With a decay of 0.01 against its chain, its reference, the leak check and the learning rate in
// the state; convergence as optax's alias_test.py runs it (defaults, lr 1e-3).
const CASES: OptimizerCase[] = [
  {
    name: 'novograd',
    make: (lr) => novograd(lr, { weightDecay: 0.01 }),
    chain: (lr) => chain(scaleByNovograd({ eps: 1e-6, weightDecay: 0.01 }), scaleByLearningRate(lr)),
    reference: (lr) => novogradRef(lr, { wd: 0.01 }),
    converge: { parabola: { make: () => novograd(1e-3) }, rosenbrock: { make: () => novograd(1e-3) } },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('steps derived by hand on one leaf p = [3, 4] (||p|| = 5)', () => {
  it('novograd: moments start at the first step; nu is the squared norm of the leaf', () => {
    // Step 1, g = [3, 4]: nu = 25, a = g / (5 + 1e-6) ~ [0.6, 0.8], mu = a, u = -0.1 * mu.
    // Step 2, g = [0, 5]: nu = 0.25 * 25 + 0.75 * 25 = 25, a = [0, 1], mu = 0.9 * [0.6, 0.8] + [0, 1] = [0.54, 1.72].
    const [u1, u2] = updatesAt(novograd(0.1), [3, 4], [[3, 4], [0, 5]]);
    expectAllClose(u1, [-0.06, -0.08], 1e-5);
    expectAllClose(u2, [-0.054, -0.172], 1e-5);
  });
});

describe('novograd', () => {
  it('matches the float64 formula for three steps', () => {
    expectSteps(novograd(0.01), novogradRef(0.01), 3);
    expectSteps(novograd(0.01, { b1: 0.5, b2: 0.6, eps: 1e-3, weightDecay: 0.1 }), novogradRef(0.01, { b1: 0.5, b2: 0.6, eps: 1e-3, wd: 0.1 }), 3);
  });

  it('keeps one scalar second moment per leaf', () => {
    const { state, params } = run(novograd(0.01), 2);
    const nu = state[0].nu as { layer: { bias: tf.Tensor; kernel: tf.Tensor }; scale: tf.Tensor };
    expect([nu.layer.bias.shape, nu.layer.kernel.shape, nu.scale.shape]).toEqual([[], [], []]);
    disposeReplaced([state, params], []);
  });

  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const a = run(novograd(0.01, { weightDecay: 0.1 }), 5);
    const b = run(chain(scaleByNovograd({ eps: 1e-6, weightDecay: 0.1 }), scaleByLearningRate(0.01)), 5);
    a.updates.forEach((u, k) => expectBitwiseEqual(u, b.updates[k]));
    expectBitwiseEqual(a.state, b.state);
    disposeReplaced([a.state, a.params, b.state, b.params], []);
  });

  it('rejects a second moment that is not one scalar per leaf, naming the path', () => {
    const tx = novograd(0.01);
    const params = makeParams();
    const state = tx.init(params);
    const bad = [{ ...state[0], nu: { layer: { bias: tf.zeros([3]), kernel: tf.scalar(0) }, scale: tf.scalar(0) } }, state[1]] as typeof state;
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, bad, params)).message).toMatch(/novograd: state\.nu\.layer\.bias must be a live float32 scalar/);
    disposeReplaced([params, state, bad, grads], []);
  });
});

describe('bad hyperparameters: a RangeError naming the owner and the option', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['novograd b2', () => novograd(0.01, { b2: -0.1 }), /novograd: option 'b2'/],
    ['novograd epsRoot', () => novograd(0.01, { epsRoot: Infinity }), /novograd: option 'epsRoot'/],
  ];
  itThrowsRangeError(cases, '%s');
});
