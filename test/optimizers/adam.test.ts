import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adadelta,
  adagrad,
  adam,
  adamax,
  adamw,
  addDecayedWeights,
  amsgrad,
  lion,
  radam,
  scaleByAdadelta,
  scaleByAdamax,
  scaleByAmsgrad,
  scaleByLion,
  scaleByRadam,
  applyUpdates,
  chain,
  disposeReplaced,
  identity,
  nadam,
  rmsprop,
  scaleByAdam,
  scaleByLearningRate,
  scaleByRms,
  scaleByRss,
  scaleByStddev,
  sgd,
  trace,
  trainStep,
  treeLeaves,
  treeMap,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { collectTensors } from '../../src/tree/memory.js';
import { expectAllClose, expectBitwiseEqual, flat, gradValues32, makeGrads, makeParams, minimize, PARAM_VALUES, run } from '../helpers.js';
import {
  adadeltaRef,
  adagradRef,
  adamaxRef,
  adamRef,
  amsgradRef,
  lionRef,
  radamRef,
  rmspropRef,
  sgdRef,
  type Stepper,
} from '../reference.js';

type AnyTx = GradientTransformation<any>;

interface Case {
  name: string;
  /** The optimizer at learning rate `lr`. */
  make: (lr: number) => AnyTx;
  /** The chain it is documented to be. */
  chain: (lr: number) => AnyTx;
  /** A float64 reference stepper. */
  reference: (lr: number) => Stepper;
  /** Learning rates for the convergence problems (optax's alias tests where it has them). */
  lr: { parabola: number; rosenbrock: number; quadratic: number };
  steps?: { parabola?: number; rosenbrock?: number; quadratic?: number };
}

/** Decay matrices only: the usual "no decay on biases and scales" mask, as a function of params. */
const MASK = (params: Params) => treeMap((x) => x.rank >= 2, params);
const MASK_FLAT = [false, false, false, true, true, true, true, true, true, false];

const CASES: Case[] = [
  {
    name: 'sgd',
    make: (lr) => sgd(lr),
    chain: (lr) => chain(identity(), scaleByLearningRate(lr)),
    reference: (lr) => sgdRef(lr),
    lr: { parabola: 1e-2, rosenbrock: 1e-3, quadratic: 0.1 },
  },
  {
    name: 'sgd momentum',
    make: (lr) => sgd(lr, { momentum: 0.9 }),
    chain: (lr) => chain(trace({ decay: 0.9 }), scaleByLearningRate(lr)),
    reference: (lr) => sgdRef(lr, 0.9),
    lr: { parabola: 1e-3, rosenbrock: 1e-3, quadratic: 0.05 },
  },
  {
    name: 'sgd nesterov',
    make: (lr) => sgd(lr, { momentum: 0.9, nesterov: true }),
    chain: (lr) => chain(trace({ decay: 0.9, nesterov: true }), scaleByLearningRate(lr)),
    reference: (lr) => sgdRef(lr, 0.9, true),
    lr: { parabola: 1e-3, rosenbrock: 1e-3, quadratic: 0.05 },
  },
  {
    name: 'adagrad',
    make: (lr) => adagrad(lr),
    chain: (lr) => chain(scaleByRss(), scaleByLearningRate(lr)),
    reference: (lr) => adagradRef(lr),
    lr: { parabola: 1.0, rosenbrock: 1.0, quadratic: 0.5 },
  },
  {
    name: 'rmsprop',
    make: (lr) => rmsprop(lr),
    chain: (lr) => chain(scaleByRms(), scaleByLearningRate(lr), identity()),
    reference: (lr) => rmspropRef(lr),
    lr: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-2 },
  },
  {
    name: 'rmsprop centered',
    make: (lr) => rmsprop(lr, { centered: true }),
    chain: (lr) => chain(scaleByStddev(), scaleByLearningRate(lr), identity()),
    reference: (lr) => rmspropRef(lr, { centered: true }),
    lr: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-2 },
  },
  {
    name: 'rmsprop momentum',
    make: (lr) => rmsprop(lr, { momentum: 0.9 }),
    chain: (lr) => chain(scaleByRms(), scaleByLearningRate(lr), trace({ decay: 0.9 })),
    reference: (lr) => rmspropRef(lr, { momentum: 0.9 }),
    lr: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-3 },
  },
  {
    name: 'rmsprop nesterov, eps outside sqrt',
    make: (lr) => rmsprop(lr, { momentum: 0.9, nesterov: true, epsInSqrt: false }),
    chain: (lr) => chain(scaleByRms({ epsInSqrt: false }), scaleByLearningRate(lr), trace({ decay: 0.9, nesterov: true })),
    reference: (lr) => rmspropRef(lr, { momentum: 0.9, nesterov: true, epsInSqrt: false }),
    lr: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 1e-3 },
  },
  {
    name: 'adam',
    make: (lr) => adam(lr),
    chain: (lr) => chain(scaleByAdam(), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr),
    lr: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'nadam',
    make: (lr) => nadam(lr),
    chain: (lr) => chain(scaleByAdam({ nesterov: true }), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { nesterov: true }),
    lr: { parabola: 1e-2, rosenbrock: 1e-2, quadratic: 1e-2 },
  },
  {
    name: 'adamw',
    make: (lr) => adamw(lr),
    chain: (lr) => chain(scaleByAdam(), addDecayedWeights(1e-4), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { weightDecay: 1e-4 }),
    lr: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'adamw masked',
    make: (lr) => adamw(lr, { weightDecay: 0.05, mask: MASK }),
    chain: (lr) => chain(scaleByAdam(), addDecayedWeights(0.05, { mask: MASK }), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { weightDecay: 0.05, decayMask: MASK_FLAT }),
    lr: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'adamax',
    make: (lr) => adamax(lr),
    chain: (lr) => chain(scaleByAdamax(), scaleByLearningRate(lr)),
    reference: (lr) => adamaxRef(lr),
    lr: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'amsgrad',
    make: (lr) => amsgrad(lr),
    chain: (lr) => chain(scaleByAmsgrad(), scaleByLearningRate(lr)),
    reference: (lr) => amsgradRef(lr),
    lr: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'amsgrad without bias corrections (the paper)',
    make: (lr) => amsgrad(lr, { biasCorrectionMu: false, biasCorrectionNu: false }),
    chain: (lr) => chain(scaleByAmsgrad({ biasCorrectionMu: false, biasCorrectionNu: false }), scaleByLearningRate(lr)),
    reference: (lr) => amsgradRef(lr, { biasCorrectionMu: false, biasCorrectionNu: false }),
    lr: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'radam',
    make: (lr) => radam(lr),
    chain: (lr) => chain(scaleByRadam(), scaleByLearningRate(lr)),
    reference: (lr) => radamRef(lr),
    lr: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 5e-3 },
  },
  {
    name: 'adadelta',
    make: (lr) => adadelta(lr),
    chain: (lr) => chain(addDecayedWeights(0), scaleByAdadelta(), scaleByLearningRate(lr)),
    reference: (lr) => adadeltaRef(lr),
    // Adadelta creeps at first (its step starts at sqrt(eps)) and at lr 1 circles the optimum.
    lr: { parabola: 1, rosenbrock: 0.1, quadratic: 0.1 },
    steps: { quadratic: 10_000 },
  },
  {
    name: 'adadelta with weight decay',
    make: (lr) => adadelta(lr, { weightDecay: 0.01, rho: 0.95 }),
    chain: (lr) => chain(addDecayedWeights(0.01), scaleByAdadelta({ rho: 0.95 }), scaleByLearningRate(lr)),
    reference: (lr) => adadeltaRef(lr, { weightDecay: 0.01, rho: 0.95 }),
    lr: { parabola: 1, rosenbrock: 0.1, quadratic: 0.1 },
    steps: { quadratic: 10_000 },
  },
  {
    name: 'lion',
    make: (lr) => lion(lr, { weightDecay: 1e-4 }),
    chain: (lr) => chain(scaleByLion(), addDecayedWeights(1e-4), scaleByLearningRate(lr)),
    reference: (lr) => lionRef(lr, { weightDecay: 1e-4 }),
    lr: { parabola: 1e-2, rosenbrock: 1e-3, quadratic: 1e-3 },
  },
];

describe.each(CASES)('$name', (c) => {
  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const a = run(c.make(0.01), 5);
    const b = run(c.chain(0.01), 5);
    for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expectBitwiseEqual(a.state, b.state);
    expect(JSON.stringify(a.state, (_k, v) => (v instanceof tf.Tensor ? v.shape : v))).toBe(
      JSON.stringify(b.state, (_k, v) => (v instanceof tf.Tensor ? v.shape : v)),
    );
  });

  it('matches the float64 formula for three steps on a 3-leaf tree', () => {
    const lr = 0.01;
    const { updates } = run(c.make(lr), 3);
    const ref = c.reference(lr);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 3; k++) {
      const expected = ref(gradValues32(k), p);
      expectAllClose(updates[k], expected, 5e-5, 1e-8);
      p = p.map((x, i) => x + updates[k][i]);
    }
  });

  it('leaks nothing: update creates only what it returns, 100 steps leave numTensors unchanged', () => {
    const tx = c.make(0.01);
    let params: Params = makeParams();
    let state = tx.init(params);
    // One raw update: the only new tensors are the ones in the returned updates and state.
    const grads = makeGrads(0);
    const inputs = collectTensors([params, state, grads]);
    const before = tf.memory().numTensors;
    const [u, s] = tx.update(grads, state, params);
    const created = [...collectTensors([u, s])].filter((t) => !inputs.has(t)).length;
    expect(tf.memory().numTensors - before).toBe(created);
    disposeReplaced([u, s], [params, state, grads]);
    grads.layer.bias.dispose();
    grads.layer.kernel.dispose();
    grads.scale.dispose();
    // 100 managed steps.
    const start = tf.memory().numTensors;
    for (let k = 0; k < 100; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    expect(tf.memory().numTensors).toBe(start);
    // The inputs of a raw update are never disposed.
    const g = makeGrads(1);
    const [u2, s2] = tx.update(g, state, params);
    for (const t of collectTensors([g, params, state])) expect(t.isDisposed).toBe(false);
    disposeReplaced([u2, s2, g], [params, state]);
  });

  it('converges on a parabola', () => {
    const target = [1, -1, 1];
    const x = minimize(c.make(c.lr.parabola), [-1, 10, 1], (v) => v.map((xi, i) => 2 * (xi - target[i])), c.steps?.parabola ?? 10_000);
    expectAllClose(x, target, 3e-2, 3e-2);
  });

  it('converges on Rosenbrock', () => {
    const grad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];
    const x = minimize(c.make(c.lr.rosenbrock), [0, 0], grad, c.steps?.rosenbrock ?? 10_000);
    expectAllClose(x, [1, 1], 3e-2, 3e-2);
  });

  it('approaches the optimum -A^{-1} b / 2 of x^T A x + b^T x', () => {
    // A = [[2, .5], [.5, 1]], b = [1, -.5]: grad = 2 A x + b, optimum = [-5/14, 3/7].
    const grad = ([x, y]: number[]) => [2 * (2 * x + 0.5 * y) + 1, 2 * (0.5 * x + y) - 0.5];
    const x = minimize(c.make(c.lr.quadratic), [2, -1], grad, c.steps?.quadratic ?? 3000);
    expectAllClose(x, [-5 / 14, 3 / 7], 0, 1e-2);
  });
});

describe('learning rate as a schedule', () => {
  it('adam with a constant schedule equals adam with the number, bit for bit', () => {
    const a = run(adam(0.01), 4);
    const b = run(adam(() => 0.01), 4);
    for (let k = 0; k < 4; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
  });

  it('sgd with a schedule uses lr(count) at each step', () => {
    const { updates } = run(sgd((c) => 0.1 / (c + 1)), 3);
    for (let k = 0; k < 3; k++) expectAllClose(updates[k], gradValues32(k).map((g) => (-0.1 / (k + 1)) * g), 1e-6);
  });
});

describe('L2 regularisation vs decoupled decay', () => {
  it('chain(addDecayedWeights(wd), sgd(lr)) is SGD on the L2-regularised loss', () => {
    const { updates } = run(chain(addDecayedWeights(0.1), sgd(0.5)), 1);
    expectAllClose(updates[0], gradValues32(0).map((g, i) => -0.5 * (g + 0.1 * PARAM_VALUES[i])), 1e-6);
  });

  it('adamw decays by lr * wd * p outside the adaptive scaling; L2 + adam does not', () => {
    const lr = 0.01;
    const wd = 0.1;
    const decoupled = run(adamw(lr, { weightDecay: wd }), 1).updates[0];
    const coupled = run(chain(addDecayedWeights(wd), adam(lr)), 1).updates[0];
    const g = gradValues32(0);
    expectAllClose(decoupled, g.map((x, i) => -lr * (x / (Math.abs(x) + 1e-8) + wd * PARAM_VALUES[i])), 1e-5);
    const h = g.map((x, i) => x + wd * PARAM_VALUES[i]);
    expectAllClose(coupled, h.map((x) => (-lr * x) / (Math.abs(x) + 1e-8)), 1e-5);
  });
});

describe('applyUpdates', () => {
  it('adds leaf by leaf into new tensors without touching the inputs', () => {
    const params = makeParams();
    const grads = makeGrads(0);
    const out = applyUpdates(params, grads);
    expectAllClose(flat(out), PARAM_VALUES.map((p, i) => p + gradValues32(0)[i]), 1e-7);
    expect(treeLeaves(out).every((t) => !collectTensors(params).has(t))).toBe(true);
    expectAllClose(flat(params), PARAM_VALUES, 0);
  });
});

describe('the optimizers beyond Adam: their defining behaviour', () => {
  const f = Math.fround;
  const stepOnce = (tx: AnyTx, grads: number[], params = [0.5, -0.25, 2]) => {
    const p = { x: tf.tensor1d(params) };
    const [u, s] = tx.update({ x: tf.tensor1d(grads) }, tx.init(p), p);
    return { u: flat(u), state: s };
  };

  it('radam: bias-corrected momentum for 5 steps, then the rectified Adam step (b2 = 0.999, threshold 5)', () => {
    const lr = 0.01;
    const tx: AnyTx = radam(lr);
    const ref = radamRef(lr);
    let params: Params = { x: tf.tensor1d([0.3, -1.2, 2]) };
    let state = tx.init(params);
    for (let k = 0; k < 8; k++) {
      const g = [Math.sin(k + 1), Math.cos(k * 0.7) * 2, 0.1 * (k - 3)];
      const grads: Params = { x: tf.tensor1d(g) };
      const [u, s]: [Params, unknown] = tx.update(grads, state, params);
      const got = flat(u);
      expectAllClose(got, ref(g.map(f), flat(params)), 1e-5, 1e-9);
      if (k < 5) {
        // Unrectified: exactly -lr * mu / (1 - b1^t), no second moment involved.
        const mu = flat((s as any)[0].mu);
        mu.forEach((m, i) => expect(got[i]).toBeCloseTo((-lr * m) / (1 - 0.9 ** (k + 1)), 7));
      }
      const next: Params = applyUpdates(params, u);
      disposeReplaced([params, state, u], [next, s]);
      params = next;
      state = s;
    }
    disposeReplaced([params, state], []);
  });

  it('lion: every coordinate moves by exactly the learning rate (without decay)', () => {
    const { u } = stepOnce(lion(0.003, { weightDecay: 0 }), [0.2, -5, 1e-6]);
    expect(u).toEqual([-f(0.003), f(0.003), -f(0.003)]);
    // A zero interpolation gives a zero step, as sign(0) = 0; a NaN gradient gives a NaN step
    // (tf.sign would give 0 for both 1e-6 and NaN on some backend; the sign here is exact).
    const [zero, one, nan] = stepOnce(lion(0.003, { weightDecay: 0 }), [0, 1, NaN]).u;
    expect(Math.abs(zero)).toBe(0);
    expect(one).toBe(-f(0.003));
    expect(nan).toBeNaN();
  });

  it('adamax: the first step is -lr * g / (|g| + eps)', () => {
    const g = [0.5, -2, 1e-3];
    const { u } = stepOnce(adamax(0.1), g);
    expectAllClose(u, g.map((x) => (-0.1 * x) / (Math.abs(x) + 1e-8)), 1e-6, 0);
  });

  it('amsgrad: the denominator keeps the largest second moment, so a big gradient slows later steps', () => {
    const run = (tx: AnyTx) => {
      let params: Params = { x: tf.tensor1d([0]) };
      let state = tx.init(params);
      let last = 0;
      for (const g of [10, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]) {
        const grads: Params = { x: tf.tensor1d([g]) };
        const [u, s]: [Params, unknown] = tx.update(grads, state, params);
        last = flat(u)[0];
        const next: Params = applyUpdates(params, u);
        disposeReplaced([params, state, u], [next, s]);
        params = next;
        state = s;
      }
      const nuMax = 'nuMax' in (state as any)[0] ? flat((state as any)[0].nuMax)[0] : null;
      disposeReplaced([params, state], []);
      return { last, nuMax };
    };
    const ams = run(amsgrad(0.1));
    const plain = run(adam(0.1));
    expect(Math.abs(ams.last)).toBeLessThan(Math.abs(plain.last));
    // nuMax is the bias-corrected second moment of the first step, (1 - b2) g^2 / (1 - b2) = 100.
    expect(ams.nuMax).toBeCloseTo(100, 3);
  });

  it('adadelta: the learning rate defaults to 1 and the step descends', () => {
    const g = [0.5, -2, 0.01];
    const { u } = stepOnce(adadelta(), g);
    // First step: u = -sqrt(0 + eps) / sqrt(0.1 g^2 + eps) * g.
    expectAllClose(u, g.map((x) => (-Math.sqrt(1e-6) / Math.sqrt(0.1 * x * x + 1e-6)) * x), 1e-5, 0);
  });
});
