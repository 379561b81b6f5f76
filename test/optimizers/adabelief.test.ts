import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adabelief,
  adamaxw,
  addDecayedWeights,
  applyUpdates,
  addNoise,
  centralize,
  chain,
  disposeReplaced,
  ema,
  getHyperparam,
  keepParamsNonnegative,
  nadamw,
  noisySgd,
  scaleByAdam,
  scaleByAdamax,
  scaleByBelief,
  scaleByLearningRate,
  scaleBySign,
  scaleByYogi,
  sgd,
  signSgd,
  stateFromArtifacts,
  stateToArtifacts,
  signum,
  trainStep,
  treeMap,
  yogi,
  zeroNans,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { noiseSeed } from '../../src/transforms/noise.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  flat,
  gradValues32,
  makeGrads,
  makeParams,
  PARAM_VALUES,
  run,
  thrown,
  trainWithoutLeak,
  minimize,
} from '../helpers.js';
import { adamaxRef, adamRef, type Stepper } from '../reference.js';

// The optimizer-zoo batch A: adabelief, yogi, adamaxw, nadamw, signSgd, signum, noisySgd and
// their transforms, plus centralize, zeroNans and keepParamsNonnegative.

type AnyTx = GradientTransformation<any>;

/** Runs one update of `tx` (fresh state from `params`) and returns the flat updates; frees everything. */
function oneStep(tx: AnyTx, grads: Params, params: Params = grads): number[] {
  const state = tx.init(params);
  const [u, next] = tx.update(grads, state, params);
  const out = flat(u);
  disposeReplaced([u, next, state], [params, grads]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Float64 references, written from the papers' update rules (as optax orders them).

/**
 * AdaBelief (Zhuang et al. 2020, Algorithm 2, with optax's eps placement):
 *   m = b1 m + (1 - b1) g;  s = b2 s + (1 - b2) (g - m)^2 + epsRoot
 *   mHat = m / (1 - b1^t)  (nesterov: b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t))
 *   u = -lr (mHat / (sqrt(s / (1 - b2^t)) + eps) + wd p)
 */
function adabeliefRef(
  lr: number,
  { b1 = 0.9, b2 = 0.999, eps = 1e-16, epsRoot = 1e-16, nesterov = false, weightDecay = 0 } = {},
): Stepper {
  let m = new Array<number>(10).fill(0);
  let s = new Array<number>(10).fill(0);
  let t = 0;
  return (g, p) => {
    t += 1;
    m = g.map((x, i) => b1 * m[i] + (1 - b1) * x);
    s = g.map((x, i) => b2 * s[i] + (1 - b2) * (x - m[i]) ** 2 + epsRoot);
    return g.map((x, i) => {
      const mHat = nesterov ? (b1 * m[i]) / (1 - b1 ** (t + 1)) + ((1 - b1) * x) / (1 - b1 ** t) : m[i] / (1 - b1 ** t);
      return -lr * (mHat / (Math.sqrt(s[i] / (1 - b2 ** t)) + eps) + weightDecay * p[i]);
    });
  };
}

/**
 * Yogi (Zaheer et al. 2018, Algorithm 2, with optax's initial value and bias correction):
 *   m = b1 m + (1 - b1) g;  v = v - (1 - b2) sign(v - g^2) g^2;  both start at 1e-6
 *   u = -lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 */
function yogiRef(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-3, init = 1e-6 } = {}): Stepper {
  let m = new Array<number>(10).fill(init);
  let v = new Array<number>(10).fill(init);
  let t = 0;
  return (g) => {
    t += 1;
    m = g.map((x, i) => b1 * m[i] + (1 - b1) * x);
    v = g.map((x, i) => v[i] - (1 - b2) * Math.sign(v[i] - x * x) * x * x);
    return g.map((_, i) => (-lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps));
  };
}

/** AdamaxW: Adamax's step plus `lr * wd * p` (decoupled decay, times the learning rate). */
function adamaxwRef(lr: number, weightDecay: number): Stepper {
  const adamaxStep = adamaxRef(lr);
  return (g, p) => adamaxStep(g, p).map((u, i) => u - lr * weightDecay * p[i]);
}

/** signSGD (Bernstein et al. 2018): u = -lr sign(g). */
function signSgdRef(lr: number): Stepper {
  return (g) => g.map((x) => -lr * Math.sign(x));
}

/** Signum (Bernstein et al. 2018): m = beta m + (1 - beta) g; u = -lr sign(m). */
function signumRef(lr: number, beta = 0.9): Stepper {
  let m = new Array<number>(10).fill(0);
  return (g) => {
    m = g.map((x, i) => beta * m[i] + (1 - beta) * x);
    return m.map((x) => -lr * Math.sign(x));
  };
}

// ---------------------------------------------------------------------------------------------
// The optimizers, each against its chain, its reference, the leak check and convergence.

interface Case {
  name: string;
  make: (lr: number | ((k: number) => number)) => AnyTx;
  chain: (lr: number) => AnyTx;
  reference: (lr: number) => Stepper;
  /** optax's alias_test.py learning rate; `rosenbrock: null` where optax skips the problem. */
  lr: { parabola: number; rosenbrock: number | null };
  /** The optimizer as optax's alias_test.py configures it, if not as `make`. */
  converge?: (lr: number) => AnyTx;
}

const MASK = (params: Params) => treeMap((x) => x.rank >= 2, params);

const CASES: Case[] = [
  {
    name: 'adabelief',
    make: (lr) => adabelief(lr),
    chain: (lr) => chain(scaleByBelief(), scaleByLearningRate(lr)),
    reference: (lr) => adabeliefRef(lr),
    lr: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
  {
    name: 'adabelief weightDecay nesterov',
    make: (lr) => adabelief(lr, { weightDecay: 1e-2, nesterov: true }),
    chain: (lr) => chain(scaleByBelief({ nesterov: true }), addDecayedWeights(1e-2), scaleByLearningRate(lr)),
    reference: (lr) => adabeliefRef(lr, { nesterov: true, weightDecay: 1e-2 }),
    lr: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
  {
    name: 'yogi',
    make: (lr) => yogi(lr),
    chain: (lr) => chain(scaleByYogi(), scaleByLearningRate(lr)),
    reference: (lr) => yogiRef(lr),
    lr: { parabola: 1e-1, rosenbrock: 1e-1 },
  },
  {
    name: 'adamaxw',
    make: (lr) => adamaxw(lr, { weightDecay: 1e-2 }),
    chain: (lr) => chain(scaleByAdamax(), addDecayedWeights(1e-2), scaleByLearningRate(lr)),
    reference: (lr) => adamaxwRef(lr, 1e-2),
    lr: { parabola: 1e-1, rosenbrock: 1e-1 },
    // optax tests the default weightDecay (1e-4); 1e-2 moves Rosenbrock's minimum by more than 3e-2.
    converge: (lr) => adamaxw(lr),
  },
  {
    name: 'nadamw',
    make: (lr) => nadamw(lr, { weightDecay: 1e-2 }),
    chain: (lr) => chain(scaleByAdam({ nesterov: true }), addDecayedWeights(1e-2), scaleByLearningRate(lr)),
    reference: (lr) => adamRef(lr, { nesterov: true, weightDecay: 1e-2 }),
    lr: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
  {
    name: 'nadamw mask',
    make: (lr) => nadamw(lr, { weightDecay: 1e-2, mask: MASK }),
    chain: (lr) => chain(scaleByAdam({ nesterov: true }), addDecayedWeights(1e-2, { mask: MASK }), scaleByLearningRate(lr)),
    reference: (lr) =>
      adamRef(lr, { nesterov: true, weightDecay: 1e-2, decayMask: [false, false, false, true, true, true, true, true, true, false] }),
    lr: { parabola: 1e-2, rosenbrock: 1e-2 },
  },
  {
    name: 'signSgd',
    make: (lr) => signSgd(lr),
    chain: (lr) => chain(scaleBySign(), scaleByLearningRate(lr)),
    reference: (lr) => signSgdRef(lr),
    lr: { parabola: 1e-1, rosenbrock: null },
  },
  {
    name: 'signum',
    make: (lr) => signum(lr),
    chain: (lr) => chain(ema({ decay: 0.9, debias: false }), scaleBySign(), scaleByLearningRate(lr)),
    reference: (lr) => signumRef(lr),
    lr: { parabola: 1e-2, rosenbrock: null },
  },
];

const PARABOLA_TARGET = [1, -1, 1];
const parabolaGrad = (v: number[]) => v.map((xi, i) => 2 * (xi - PARABOLA_TARGET[i]));
const rosenbrockGrad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];

describe.each(CASES)('$name', (c) => {
  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const a = run(c.make(0.01), 5);
    const b = run(c.chain(0.01), 5);
    for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expectBitwiseEqual(a.state, b.state);
    disposeReplaced([a.params, a.state, b.params, b.state], []);
  });

  it('matches the float64 formula for three steps on a 3-leaf tree', () => {
    const lr = 0.01;
    const { updates, params, state } = run(c.make(lr), 3);
    const ref = c.reference(lr);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 3; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 5e-5, 1e-8);
      p = p.map((x, i) => x + updates[k][i]);
    }
    disposeReplaced([params, state], []);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(c.make(0.01), 100);
  });

  it('keeps learningRate = schedule(k) after k updates', () => {
    const schedule = (k: number) => 0.1 / (k + 1);
    const tx = c.make(schedule);
    let params: Params = makeParams();
    let state = tx.init(params);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(0));
    for (let k = 0; k < 3; k++) {
      ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      expect(getHyperparam(state, 'learningRate')).toBe(schedule(k + 1));
    }
    disposeReplaced([params, state], []);
  });

  it('converges on a parabola (optax alias_test learning rate)', () => {
    const x = minimize((c.converge ?? c.make)(c.lr.parabola), [-1, 10, 1], parabolaGrad, 10_000);
    expectAllClose(x, PARABOLA_TARGET, 3e-2, 3e-2);
  });

  it.skipIf(c.lr.rosenbrock === null)('converges on Rosenbrock (optax alias_test learning rate)', () => {
    const x = minimize((c.converge ?? c.make)(c.lr.rosenbrock!), [0, 0], rosenbrockGrad, 10_000);
    expectAllClose(x, [1, 1], 3e-2, 3e-2);
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-derived first steps of the transforms.

describe('scaleByBelief', () => {
  it('first step: g / (0.9 |g| + eps), derived by hand', () => {
    // t = 1: mu = 0.1 g; g - mu = 0.9 g; nu = 0.001 (0.9 g)^2 + 1e-16 = 0.00081 g^2 + 1e-16;
    // muHat = mu / 0.1 = g; nuHat = nu / 0.001 = 0.81 g^2 + 1e-13; u = g / (sqrt(nuHat) + 1e-16).
    // For g = 2: 2 / sqrt(3.24 + 1e-13) = 1/0.9 to float32; g = 0: 0 / (sqrt(1e-13) + 1e-16) = 0.
    const g = tf.tensor1d([2, -0.5, 0]);
    expectAllClose(oneStep(scaleByBelief(), g), [1 / 0.9, -1 / 0.9, 0], 1e-6, 0);
    g.dispose();
  });

  it('keeps epsRoot in the stored second moment (optax), and uses the new mean in the prediction error', () => {
    // g = 0 twice with epsRoot = 0.5: nu1 = 0.999 * 0 + 0.001 * 0 + 0.5 = 0.5,
    // nu2 = 0.999 * 0.5 + 0 + 0.5 = 0.9995.
    const tx = scaleByBelief({ epsRoot: 0.5 });
    const g = tf.tensor1d([0]);
    const s0 = tx.init(g);
    const [u1, s1] = tx.update(g, s0, g);
    const [u2, s2] = tx.update(g, s1, g);
    expectAllClose(flat(s1.nu), [0.5], 1e-7, 0);
    expectAllClose(flat(s2.nu), [0.9995], 1e-7, 0);
    disposeReplaced([u1, u2, s0, s1, s2, g], []);
  });
});

describe('scaleByYogi', () => {
  it('first step from the default accumulators, derived by hand', () => {
    // t = 1, mu0 = nu0 = 1e-6, g = 2: mu = 0.1 * 2 + 0.9e-6 = 0.2000009;
    // nu = 1e-6 - 0.001 * sign(1e-6 - 4) * 4 = 0.004001; muHat = mu / 0.1 = 2.000009;
    // nuHat = nu / 0.001 = 4.001; u = 2.000009 / (sqrt(4.001) + 1e-3).
    const g = tf.tensor1d([2]);
    expectAllClose(oneStep(scaleByYogi(), g), [2.000009 / (Math.sqrt(4.001) + 1e-3)], 2e-6, 0);
    g.dispose();
  });

  it('moves nu down by a fixed step when g^2 < nu (the additive update)', () => {
    // initialAccumulatorValue = 1, b2 = 0.9, g = 0.5: nu = 1 - 0.1 * sign(1 - 0.25) * 0.25 = 0.975
    // (Adam would give 0.9 * 1 + 0.1 * 0.25 = 0.925). mu = 0.9 + 0.05 = 0.95, t = 1:
    // u = (0.95 / 0.1) / (sqrt(0.975 / 0.1) + 1e-3) = 9.5 / (sqrt(9.75) + 1e-3).
    const tx = scaleByYogi({ initialAccumulatorValue: 1, b2: 0.9 });
    const g = tf.tensor1d([0.5]);
    const s0 = tx.init(g);
    const [u, s1] = tx.update(g, s0, g);
    expectAllClose(flat(s1.nu), [0.975], 1e-6, 0);
    expectAllClose(flat(u), [9.5 / (Math.sqrt(9.75) + 1e-3)], 2e-6, 0);
    disposeReplaced([u, s0, s1, g], []);
  });
});

describe('scaleBySign', () => {
  it("is JAX's sign: -1, 0, 1, NaN for NaN, 1 for a tiny positive value", () => {
    const g = tf.tensor1d([-2, 0, 3, NaN, 1e-30, -1e-30]);
    expect(oneStep(scaleBySign(), g)).toEqual([-1, 0, 1, NaN, 1, -1]);
    g.dispose();
  });
});

describe('centralize', () => {
  it('subtracts the mean over all axes but the first from leaves of rank >= 2; others unchanged', () => {
    // [[1, 2, 3], [4, 5, 6]]: row means 2 and 5, so [[-1, 0, 1], [-1, 0, 1]] (optax's example).
    // [[[1, 3], [5, 7]]]: one slice of mean 4, so [[[-3, -1], [1, 3]]].
    const grads = { m: tf.tensor2d([[1, 2, 3], [4, 5, 6]]), t: tf.tensor3d([[[1, 3], [5, 7]]]), v: tf.tensor1d([1, 2]), s: tf.scalar(4) };
    expect(oneStep(centralize(), grads)).toEqual([-1, 0, 1, -1, 0, 1, 4, -3, -1, 1, 3, 1, 2]);
    disposeReplaced(grads, []);
  });
});

describe('zeroNans', () => {
  it('replaces NaN by 0, keeps infinities, and flags the leaves that had a NaN', () => {
    const grads = { a: tf.tensor1d([1, NaN, Infinity]), b: tf.tensor1d([2, -3]) };
    const tx = zeroNans();
    const s0 = tx.init(grads);
    expect(flat(s0.foundNan)).toEqual([0, 0]);
    const [u, s1] = tx.update(grads, s0, grads);
    expect(flat(u)).toEqual([1, 0, Infinity, 2, -3]);
    expect(flat(s1.foundNan)).toEqual([1, 0]);
    disposeReplaced([u, s0, s1, grads], []);
  });
});

describe('keepParamsNonnegative', () => {
  it('replaces an update that would make a parameter negative by -p', () => {
    // p + u = [-1, 0.25, 1, -0.5]: the first and last would go below 0, so they become -p.
    const p = tf.tensor1d([1, 0.5, 0, -1]);
    const u = tf.tensor1d([-2, -0.25, 1, 0.5]);
    expect(oneStep(keepParamsNonnegative(), u, p)).toEqual([-1, -0.25, 1, 1]);
    expect(thrown(() => keepParamsNonnegative().update(u, {}, undefined)).message).toMatch(/keepParamsNonnegative: .*needs the current parameters/);
    disposeReplaced([p, u], []);
  });
});

// ---------------------------------------------------------------------------------------------
// Noise: reproducible from the seed.

describe('addNoise and noisySgd', () => {
  it('adds sqrt(eta / t^gamma) times the documented tf.randomNormal draw', () => {
    // t = 1, 2: std = sqrt(0.3 / t^0.55); the noise of the j-th non-empty leaf is
    // tf.randomNormal(shape, 0, 1, 'float32', noiseSeed(seed, t, j)).
    const grads = { a: tf.tensor1d([1, 2, 3]), b: tf.zeros([0]), c: tf.tensor2d([[4, 5]]) };
    const tx = addNoise({ eta: 0.3, gamma: 0.55, seed: 7 });
    let state = tx.init(grads);
    for (let t = 1; t <= 2; t++) {
      const [u, next] = tx.update(grads, state, grads);
      const std = Math.sqrt(0.3 / t ** 0.55);
      const na = tf.randomNormal([3], 0, 1, 'float32', noiseSeed(7, t, 0));
      const nc = tf.randomNormal([1, 2], 0, 1, 'float32', noiseSeed(7, t, 1));
      const expected = [...[1, 2, 3].map((g, i) => g + std * na.dataSync()[i]), ...[4, 5].map((g, i) => g + std * nc.dataSync()[i])];
      expectAllClose(flat(u), expected, 1e-6, 1e-7);
      expect(next.count).toBe(t);
      disposeReplaced([u, na, nc], [grads]);
      state = next;
    }
    disposeReplaced(grads, []);
  });

  it('has the documented standard deviation, and independent draws per leaf and per step', () => {
    const n = 20_000;
    const grads = { a: tf.zeros([n]), b: tf.zeros([n]) };
    const tx = addNoise({ eta: 0.04, gamma: 0.55, seed: 1 });
    const s0 = tx.init(grads);
    const [u1, s1] = tx.update(grads, s0, grads);
    const [u2, s2] = tx.update(grads, s1, grads);
    const [a1, b1] = [u1.a, u1.b].map((x) => Array.from(x.dataSync()));
    const a2 = Array.from(u2.a.dataSync());
    const sd = (x: number[]) => Math.sqrt(x.reduce((acc, v) => acc + v * v, 0) / x.length);
    const corr = (x: number[], y: number[]) => x.reduce((acc, v, i) => acc + v * y[i], 0) / (x.length * sd(x) * sd(y));
    expect(sd(a1) / Math.sqrt(0.04)).toBeCloseTo(1, 1);
    expect(sd(a2) / Math.sqrt(0.04 / 2 ** 0.55)).toBeCloseTo(1, 1);
    expect(Math.abs(corr(a1, b1))).toBeLessThan(0.05);
    expect(Math.abs(corr(a1, a2))).toBeLessThan(0.05);
    disposeReplaced([u1, u2, s0, s1, s2, grads], []);
  });

  it('noisySgd: the same seed gives the same updates, another seed others; eta = 0 is sgd', () => {
    const a = run(noisySgd(0.1, { seed: 3 }), 3);
    const b = run(noisySgd(0.1, { seed: 3 }), 3);
    const c = run(noisySgd(0.1, { seed: 4 }), 3);
    for (let k = 0; k < 3; k++) {
      expectBitwiseEqual(a.updates[k], b.updates[k]);
      expect(a.updates[k]).not.toEqual(c.updates[k]);
    }
    const quiet = run(noisySgd(0.1, { eta: 0 }), 3);
    const plain = run(sgd(0.1), 3);
    for (let k = 0; k < 3; k++) expectBitwiseEqual(quiet.updates[k], plain.updates[k]);
    disposeReplaced([a.params, a.state, b.params, b.state, c.params, c.state, quiet.params, quiet.state, plain.params, plain.state], []);
  });

  it('noisySgd: a state saved after 2 steps and loaded gives the 3rd and 4th updates of a straight run', () => {
    const straight = run(noisySgd(0.1, { seed: 9 }), 4);
    const first = run(noisySgd(0.1, { seed: 9 }), 2);
    const tx = noisySgd(0.1, { seed: 9 });
    const loaded = stateFromArtifacts(tx, first.params, stateToArtifacts(first.state));
    let state = loaded;
    let params = first.params;
    for (let k = 2; k < 4; k++) {
      const grads = makeGrads(k);
      const [u, next] = tx.update(grads, state, params);
      expectBitwiseEqual(flat(u), straight.updates[k]);
      const nextParams = applyUpdates<Params>(params, u);
      disposeReplaced([grads, u, params, state], [nextParams, next]);
      params = nextParams;
      state = next;
    }
    disposeReplaced([params, state, straight.params, straight.state, first.state], []);
  });

  it('noisySgd equals chain(addNoise, scaleByLearningRate) bit for bit, with the defaults', () => {
    const a = run(noisySgd(0.01), 3);
    const b = run(chain(addNoise({ eta: 0.01, gamma: 0.55, seed: 0 }), scaleByLearningRate(0.01)), 3);
    for (let k = 0; k < 3; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expectBitwiseEqual(a.state, b.state);
    disposeReplaced([a.params, a.state, b.params, b.state], []);
  });

  it('noisySgd leaks nothing, keeps learningRate = schedule(k), and converges with optax test settings', () => {
    trainWithoutLeak(noisySgd(0.01), 100);
    const schedule = (k: number) => 0.1 / (k + 1);
    const tx = noisySgd(schedule);
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 3; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([params, state], []);
    // optax alias_test: learning_rate 1e-3, eta 1e-4, key 0, 10000 steps.
    const settings = { eta: 1e-4, seed: 0 };
    expectAllClose(minimize(noisySgd(1e-3, settings), [-1, 10, 1], parabolaGrad, 10_000), PARABOLA_TARGET, 3e-2, 3e-2);
    expectAllClose(minimize(noisySgd(1e-3, settings), [0, 0], rosenbrockGrad, 10_000), [1, 1], 3e-2, 3e-2);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad hyperparameters fail at construction, naming the owner, the option and the value.

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['scaleByBelief b1', () => scaleByBelief({ b1: 1 }), /scaleByBelief: option 'b1' .* got 1/],
    ['adabelief eps', () => adabelief(0.1, { eps: -1 }), /adabelief: option 'eps' .* got -1/],
    ['adabelief weightDecay', () => adabelief(0.1, { weightDecay: -1 }), /adabelief: option 'weightDecay' .* got -1/],
    ['scaleByYogi initialAccumulatorValue', () => scaleByYogi({ initialAccumulatorValue: -1 }), /scaleByYogi: option 'initialAccumulatorValue' .* got -1/],
    ['yogi b2', () => yogi(0.1, { b2: 1.5 }), /yogi: option 'b2' .* got 1.5/],
    ['adamaxw weightDecay', () => adamaxw(0.1, { weightDecay: NaN }), /adamaxw: option 'weightDecay' .* got NaN/],
    ['nadamw b1', () => nadamw(0.1, { b1: -0.1 }), /nadamw: option 'b1' .* got -0.1/],
    ['signum beta', () => signum(0.1, { beta: 2 }), /signum: option 'beta' .* got 2/],
    ['signSgd learningRate', () => signSgd(Infinity), /signSgd: option 'learningRate' .* got Infinity/],
    ['addNoise eta', () => addNoise({ eta: -1, gamma: 0.55 }), /addNoise: option 'eta' .* got -1/],
    ['addNoise gamma', () => addNoise({ eta: 1, gamma: NaN }), /addNoise: option 'gamma' .* got NaN/],
    ['noisySgd seed', () => noisySgd(0.1, { seed: 1.5 }), /noisySgd: option 'seed' .* got 1.5/],
    ['noisySgd seed range', () => noisySgd(0.1, { seed: 2 ** 32 }), /noisySgd: option 'seed' .* got 4294967296/],
  ];
  it.each(cases)('%s: RangeError', (_name, make, message) => {
    const error = thrown(make);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(message);
  });

  it('wrong types and unknown options are TypeErrors', () => {
    expect(thrown(() => yogi(0.1, { epsRoot: 0 } as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => adabelief(0.1, { mask: MASK }))).toBeInstanceOf(TypeError);
    expect(thrown(() => signSgd(0.1, { momentum: 0.9 } as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => nadamw(0.1, { nesterov: false } as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => addNoise({ eta: 1 } as never))).toBeInstanceOf(TypeError);
  });
});
