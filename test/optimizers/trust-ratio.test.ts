import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  chain,
  disposeReplaced,
  fromage,
  getHyperparam,
  lamb,
  lars,
  masked,
  scaleByAdam,
  scaleByLearningRate,
  scaleByTrustRatio,
  trace,
  treeMap,
  type Params,
} from '../../src/index.js';
import { addDecayedWeightsDownTo } from '../../src/transforms/decay.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  expectSteps,
  itThrowsRangeError,
  minimize,
  PARABOLA_TARGET,
  parabolaGrad,
  rosenbrockGrad,
  run,
  trainWithoutLeak,
  updatesAt,
} from '../helpers.js';
import { perLeaf, trustRatio, type Stepper } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

// The trust-ratio optimizers lamb, lars and fromage, checked against float64 references written
// from the papers' formulas (and optax's operation order where it matters).

/** LAMB in float64: Adam's bias-corrected direction, plus decay, times the trust ratio. */
function lambRef(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-6, wd = 0, decayed = [true, true, true] } = {}): Stepper {
  let t = 0;
  let mu = new Array(10).fill(0);
  let nu = new Array(10).fill(0);
  return (g, p) => {
    t++;
    mu = mu.map((m, i) => (1 - b1) * g[i] + b1 * m);
    nu = nu.map((v, i) => (1 - b2) * g[i] ** 2 + b2 * v);
    const r = mu.map((m, i) => m / (1 - b1 ** t) / (Math.sqrt(nu[i] / (1 - b2 ** t)) + eps));
    return perLeaf((j, rj, pj) => trustRatio(rj.map((x, i) => x + (decayed[j] ? wd * pj[i] : 0)), pj).map((x) => -lr * x), r, p);
  };
}

/** LARS in float64, in optax's order: decay, trust ratio, learning rate, then momentum. */
function larsRef(lr: number, { wd = 0, tc = 0.001, eps = 0, momentum = 0.9, nesterov = false, trusted = [true, true, true] } = {}): Stepper {
  let m = new Array(10).fill(0);
  return (g, p) => {
    const r = perLeaf(
      (j, gj, pj) => {
        const d = gj.map((x, i) => x + wd * pj[i]);
        return (trusted[j] ? trustRatio(d, pj, { tc, eps }) : d).map((x) => -lr * x);
      },
      g,
      p,
    );
    m = r.map((x, i) => x + momentum * m[i]);
    return nesterov ? r.map((x, i) => x + momentum * m[i]) : m.slice();
  };
}

/** Fromage in float64: p' = (p - lr * trust(g)) / sqrt(1 + lr^2), as an update. */
function fromageRef(lr: number, minNorm = 1e-6): Stepper {
  const mult = 1 / Math.sqrt(1 + lr * lr);
  return (g, p) => perLeaf((_j, gj, pj) => trustRatio(gj, pj, { minNorm }).map((x, i) => -lr * mult * x + (mult - 1) * pj[i]), g, p);
}

/** Decay matrices only, as a function of params. */
const MATRICES = (params: Params) => treeMap((x) => x.rank >= 2, params);

// Each with a decay of 0.01 against its chain, its reference, the leak check and the learning
// rate in the state; convergence as optax's alias_test.py runs it (defaults, its learning rates).
const CASES: OptimizerCase[] = [
  {
    name: 'lamb',
    make: (lr) => lamb(lr, { weightDecay: 0.01 }),
    chain: (lr) => chain(scaleByAdam({ eps: 1e-6 }), addDecayedWeights(0.01), scaleByTrustRatio(), scaleByLearningRate(lr)),
    reference: (lr) => lambRef(lr, { wd: 0.01 }),
    converge: { parabola: { make: () => lamb(1e-3) }, rosenbrock: { make: () => lamb(1e-3) } },
  },
  {
    name: 'lars',
    make: (lr) => lars(lr, { weightDecay: 0.01 }),
    chain: (lr) => chain(addDecayedWeights(0.01), masked(scaleByTrustRatio({ trustCoefficient: 0.001 }), true), scaleByLearningRate(lr), trace({ decay: 0.9 })),
    reference: (lr) => larsRef(lr, { wd: 0.01 }),
    converge: { parabola: { make: () => lars(1) }, rosenbrock: { make: () => lars(1) } },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('steps derived by hand on one leaf p = [3, 4] (||p|| = 5)', () => {
  it('lamb: the first Adam direction is g / (|g| + eps) ~ sign(g), then times ||p|| / ||r||', () => {
    // g = [0.5, -2]: mHat = g, vHat = g^2, r = g / (|g| + 1e-6) ~ [1, -1], ||r|| ~ sqrt(2);
    // u = -0.1 * 5 / sqrt(2) * [1, -1] = [-0.353553, 0.353553].
    const [u] = updatesAt(lamb(0.1), [3, 4], [[0.5, -2]]);
    expectAllClose(u, [-0.5 / Math.SQRT2, 0.5 / Math.SQRT2], 1e-5);
  });

  it('lars: ratio 0.001 * ||p|| / ||g||, then momentum on the scaled step', () => {
    // g = [6, 8], ||g|| = 10: ratio = 0.001 * 5 / 10 = 5e-4, r = -1 * [0.003, 0.004];
    // m1 = r, m2 = r + 0.9 * m1 = 1.9 r.
    const [u1, u2] = updatesAt(lars(1), [3, 4], [[6, 8], [6, 8]]);
    expectAllClose(u1, [-0.003, -0.004]);
    expectAllClose(u2, [-0.0057, -0.0076]);
  });

  it('fromage: p\' = (p - lr * (||p|| / ||g||) g) / sqrt(1 + lr^2)', () => {
    // lr = 0.75: sqrt(1 + lr^2) = 1.25, mult = 0.8; (||p|| / ||g||) g = 0.5 * [6, 8] = [3, 4];
    // u = -0.75 * 0.8 * [3, 4] + (0.8 - 1) * [3, 4] = -0.8 * [3, 4] = [-2.4, -3.2].
    const [u] = updatesAt(fromage(0.75), [3, 4], [[6, 8]]);
    expectAllClose(u, [-2.4, -3.2]);
  });
});

describe('lamb', () => {
  it('matches the float64 formula for three steps (with decay on the matrices only)', () => {
    expectSteps(lamb(0.01), lambRef(0.01), 3);
    expectSteps(lamb(0.01, { weightDecay: 0.1, mask: MATRICES }), lambRef(0.01, { wd: 0.1, decayed: [false, true, false] }), 3);
  });

  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const o = { b1: 0.8, b2: 0.99, eps: 1e-5, epsRoot: 1e-9 };
    const a = run(lamb(0.01, { ...o, weightDecay: 0.1, mask: MATRICES }), 5);
    const b = run(chain(scaleByAdam(o), addDecayedWeights(0.1, { mask: MATRICES }), scaleByTrustRatio(), scaleByLearningRate(0.01)), 5);
    a.updates.forEach((u, k) => expectBitwiseEqual(u, b.updates[k]));
    expectBitwiseEqual(a.state, b.state);
    disposeReplaced([a.state, a.params, b.state, b.params], []);
  });
});

describe('lars', () => {
  it('matches the float64 formula for three steps (momentum, nesterov, decay, trust-ratio mask)', () => {
    expectSteps(lars(0.5), larsRef(0.5), 3);
    expectSteps(
      lars(0.5, { weightDecay: 0.01, trustCoefficient: 0.02, eps: 1e-3, momentum: 0.8, nesterov: true }),
      larsRef(0.5, { wd: 0.01, tc: 0.02, eps: 1e-3, momentum: 0.8, nesterov: true }),
      3,
    );
    expectSteps(lars(0.5, { trustRatioMask: MATRICES }), larsRef(0.5, { trusted: [false, true, false] }), 3);
  });

  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const a = run(lars(0.5, { weightDecay: 0.01, mask: MATRICES, trustCoefficient: 0.02, trustRatioMask: MATRICES, nesterov: true }), 5);
    const b = run(
      chain(
        addDecayedWeights(0.01, { mask: MATRICES }),
        masked(scaleByTrustRatio({ trustCoefficient: 0.02 }), MATRICES),
        scaleByLearningRate(0.5),
        trace({ decay: 0.9, nesterov: true }),
      ),
      5,
    );
    a.updates.forEach((u, k) => expectBitwiseEqual(u, b.updates[k]));
    expectBitwiseEqual(a.state, b.state);
    disposeReplaced([a.state, a.params, b.state, b.params], []);
  });
});

describe('fromage', () => {
  it('matches the float64 formula for three steps', () => {
    expectSteps(fromage(0.1), fromageRef(0.1), 3);
    expectSteps(fromage(0.3, { minNorm: 5 }), fromageRef(0.3, 5), 3);
  });

  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const lr = 0.1;
    const mult = 1 / Math.sqrt(1 + lr * lr);
    const a = run(fromage(lr), 5);
    const b = run(
      chain(
        scaleByTrustRatio({ minNorm: 1e-6 }),
        scaleByLearningRate(lr * mult),
        // The negative decay rate addDecayedWeights does not accept from users.
        // The negative decay rate addDecayedWeights does not accept from users.
        addDecayedWeightsDownTo(-1, mult - 1),
      ),
      5,
    );
    a.updates.forEach((u, k) => expectBitwiseEqual(u, b.updates[k]));
    expectBitwiseEqual(a.state, b.state);
    disposeReplaced([a.state, a.params, b.state, b.params], []);
  });

  it('keeps the scaled rate lr / sqrt(1 + lr^2) and the shrink 1 / sqrt(1 + lr^2) - 1 in its state', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    const { state, params } = run(fromage(schedule), 2);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(2) / Math.sqrt(1 + schedule(2) ** 2));
    expect(getHyperparam(state, 'weightDecay')).toBe(1 / Math.sqrt(1 + schedule(2) ** 2) - 1);
    disposeReplaced([state, params], []);
  });

  it('converges on a parabola (optax alias_test.py: lr 5e-3, 10,000 steps)', () => {
    expectAllClose(minimize(fromage(5e-3), [-1, 10, 1], parabolaGrad), PARABOLA_TARGET, 3e-2, 3e-2);
  });

  it('converges on Rosenbrock (optax alias_test.py: lr 5e-3, 10,000 steps)', () => {
    expectAllClose(minimize(fromage(5e-3), [0, 0], rosenbrockGrad), [1, 1], 3e-2, 3e-2);
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(fromage(0.01), 100));
});

describe('bad hyperparameters: a RangeError naming the owner and the option', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['lamb b1', () => lamb(0.01, { b1: 1 }), /lamb: option 'b1'/],
    ['lamb eps', () => lamb(0.01, { eps: -1 }), /lamb: option 'eps'/],
    ['lamb weightDecay', () => lamb(0.01, { weightDecay: -0.1 }), /lamb: option 'weightDecay'/],
    ['lars trustCoefficient', () => lars(0.01, { trustCoefficient: 0 }), /lars: option 'trustCoefficient'/],
    ['lars momentum', () => lars(0.01, { momentum: 1.5 }), /lars: option 'momentum'/],
    ['lars eps', () => lars(0.01, { eps: NaN }), /lars: option 'eps'/],
    ['fromage learningRate', () => fromage(-0.1), /fromage: option 'learningRate'/],
    ['fromage minNorm', () => fromage(0.1, { minNorm: -1 }), /fromage: option 'minNorm'/],
  ];
  itThrowsRangeError(cases, '%s');
});
