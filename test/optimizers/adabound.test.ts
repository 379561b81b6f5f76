import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adabound,
  ademamix,
  adopt,
  addDecayedWeights,
  asgd,
  asgdAverage,
  chain,
  getHyperparam,
  scale,
  scaleByAdabound,
  scaleByAdemamix,
  scaleByAdopt,
  scaleByAsgd,
  scaleByLearningRate,
  setHyperparam,
  treeDispose,
  type GradientTransformation,
  type ScalarOrSchedule,
} from '../../src/index.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  flat,
  gradValues32,
  makeGrads,
  makeParams,
  PARAM_VALUES,
  minimize,
  run,
  thrown,
  trainWithoutLeak,
} from '../helpers.js';

// The optimizer-zoo batch adabound, asgd, adopt, ademamix: each against a float64 reference
// written from the paper's (or PyTorch's / optax's) update rule, its documented chain, the leak
// check, bad options, convergence, and the learning rate kept in the state.

type AnyTx = GradientTransformation<any>;
/** A float64 stepper: the gradient and parameter values of one step in, the update out. */
type Stepper = (g: number[], p: number[]) => number[];

// ---------------------------------------------------------------------------------------------
// Float64 references, element by element, with t = 1, 2, ... the number of the step.

/**
 * AdaBound, Algorithm 2 of Luo et al. 2019 as the authors' reference code computes it:
 * m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 * step = lr sqrt(1 - b2^t) / (1 - b1^t);  f = finalLr * lr / lr0 (= finalLr for a constant lr);
 * eta = clip(step / (sqrt(v) + eps), f (1 - 1/(gamma t + 1)), f (1 + 1/(gamma t)));
 * p -= eta * m; with L2 weight decay g += wd p first.
 */
function adaboundRef(lr: number, { finalLr = 0.1, gamma = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 0 } = {}): Stepper {
  let m: number[] | null = null;
  let v: number[] | null = null;
  let t = 0;
  return (g0, p) => {
    t++;
    const g = g0.map((x, i) => x + weightDecay * p[i]);
    m = g.map((x, i) => b1 * (m ? m[i] : 0) + (1 - b1) * x);
    v = g.map((x, i) => b2 * (v ? v[i] : 0) + (1 - b2) * x * x);
    const step = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    const lower = finalLr * (1 - 1 / (gamma * t + 1));
    const upper = finalLr * (1 + 1 / (gamma * t));
    return m.map((mi, i) => -Math.min(Math.max(step / (Math.sqrt(v![i]) + eps), lower), upper) * mi);
  };
}

/**
 * PyTorch's ASGD (torch/optim/asgd.py, single-tensor path), with k = updates done before:
 * eta_k = lr / (1 + lambd lr k)^alpha;  mu_k = 1 / max(1, k - t0);
 * p' = p (1 - lambd eta_k) - eta_k (g + wd p);
 * ax' = mu_k == 1 ? p' : ax + mu_k (p' - ax).
 * (PyTorch stores eta and mu computed at the end of the previous step with its step count,
 * which is k: the same numbers.) Also returns the average through `average`.
 */
function asgdRef(lr: number, { lambd = 1e-4, alpha = 0.75, t0 = 1e6, weightDecay = 0 } = {}): Stepper & { average: () => number[] } {
  let k = 0;
  let ax: number[] = [];
  const step = ((g0: number[], p: number[]) => {
    const eta = lr / (1 + lambd * lr * k) ** alpha;
    const mu = 1 / Math.max(1, k - t0);
    const next = p.map((x, i) => x * (1 - lambd * eta) - eta * (g0[i] + weightDecay * x));
    ax = mu === 1 ? next.slice() : ax.map((a, i) => a + mu * (next[i] - a));
    k++;
    return next.map((x, i) => x - p[i]);
  }) as Stepper & { average: () => number[] };
  step.average = () => ax;
  return step;
}

/**
 * ADOPT (Taniguchi et al. 2024, Algorithm 2 with optax's clipping), k = updates done before:
 * k = 0: v = g^2, update 0;
 * k > 0: n = clip(g / max(sqrt(v), eps), -k^0.25, k^0.25); v = b2 v + (1 - b2) g^2;
 *        m = b1 m + (1 - b1) n; update = -lr m (nesterov: -lr (b1 m + (1 - b1) n)).
 */
function adoptRef(lr: number, { b1 = 0.9, b2 = 0.9999, eps = 1e-6, nesterov = false, clipping = true } = {}): Stepper {
  let m: number[] = [];
  let v: number[] = [];
  let k = 0;
  return (g) => {
    if (k++ === 0) {
      v = g.map((x) => x * x);
      m = g.map(() => 0);
      return m.map(() => 0);
    }
    const c = clipping ? (k - 1) ** 0.25 : Infinity;
    const n = g.map((x, i) => Math.min(Math.max(x / Math.max(Math.sqrt(v[i]), eps), -c), c));
    v = g.map((x, i) => b2 * v[i] + (1 - b2) * x * x);
    m = n.map((x, i) => b1 * m[i] + (1 - b1) * x);
    return m.map((x, i) => -lr * (nesterov ? b1 * x + (1 - b1) * n[i] : x));
  };
}

/**
 * AdEMAMix (Pagliardini et al. 2024, Algorithm 1), t = step number:
 * m1 = b1 m1 + (1 - b1) g;  m2 = b3 m2 + (1 - b3) g;  v = b2 v + (1 - b2) g^2;
 * update = -lr ((m1 / (1 - b1^t) + alpha m2) / (sqrt(v / (1 - b2^t)) + eps) + wd p).
 * `b3` and `alpha` may be functions of t - 1.
 */
function ademamixRef(
  lr: number,
  { b1 = 0.9, b2 = 0.999, b3 = 0.9999 as number | ((k: number) => number), alpha = 5 as number | ((k: number) => number), eps = 1e-8, weightDecay = 0 } = {},
): Stepper {
  let m1: number[] | null = null;
  let m2: number[] | null = null;
  let v: number[] | null = null;
  let t = 0;
  return (g, p) => {
    const b3t = typeof b3 === 'function' ? b3(t) : b3;
    const at = typeof alpha === 'function' ? alpha(t) : alpha;
    t++;
    m1 = g.map((x, i) => b1 * (m1 ? m1[i] : 0) + (1 - b1) * x);
    m2 = g.map((x, i) => b3t * (m2 ? m2[i] : 0) + (1 - b3t) * x);
    v = g.map((x, i) => b2 * (v ? v[i] : 0) + (1 - b2) * x * x);
    return g.map((_, i) => -lr * ((m1![i] / (1 - b1 ** t) + at * m2![i]) / (Math.sqrt(v![i] / (1 - b2 ** t)) + eps) + weightDecay * p[i]));
  };
}

// ---------------------------------------------------------------------------------------------
// The cases

interface Case {
  name: string;
  make: (lr: ScalarOrSchedule) => AnyTx;
  /** The chain it is documented to be. */
  chain: (lr: ScalarOrSchedule) => AnyTx;
  /** The optimizer itself, for the option checks. */
  alias: (lr: ScalarOrSchedule, options: Record<string, unknown>) => AnyTx;
  reference: (lr: number) => Stepper;
  /**
   * The optimizers for the convergence tests (optax has no convergence test for these; its
   * contrib tests use lr 1e-2 for adopt and 1e-3 for ademamix, as here), and the step count.
   */
  converge?: { parabola: AnyTx; rosenbrock: AnyTx; steps: number; parabolaSteps?: number };
  /** An option, a bad value for it. */
  bad: Array<[string, unknown]>;
}

const CASES: Case[] = [
  {
    name: 'adabound',
    alias: adabound,
    make: (lr) => adabound(lr, { weightDecay: 0.01 }),
    chain: (lr) => chain(addDecayedWeights(0.01), scaleByAdabound(lr), scale(-1)),
    reference: (lr) => adaboundRef(lr, { weightDecay: 0.01 }),
    converge: { parabola: adabound(1e-2), rosenbrock: adabound(1e-3, { finalLr: 1e-3 }), steps: 20_000 },
    bad: [['finalLr', 0], ['gamma', -1], ['b1', 1], ['b2', NaN], ['eps', -1], ['weightDecay', -0.1]],
  },
  {
    name: 'adabound, band closed (gamma large): SGD with momentum at finalLr',
    alias: adabound,
    make: (lr) => adabound(lr, { gamma: 1e9, finalLr: 0.05 }),
    chain: (lr) => chain(addDecayedWeights(0), scaleByAdabound(lr, { gamma: 1e9, finalLr: 0.05 }), scale(-1)),
    reference: (lr) => adaboundRef(lr, { gamma: 1e9, finalLr: 0.05 }),
    bad: [],
  },
  {
    name: 'asgd',
    alias: asgd,
    make: (lr) => asgd(lr, { lambd: 0.1, alpha: 0.75, t0: 0, weightDecay: 0.01 }),
    chain: (lr) => chain(addDecayedWeights(0.01), scaleByAsgd(lr, { lambd: 0.1, alpha: 0.75, t0: 0 }), scale(-1)),
    reference: (lr) => asgdRef(lr, { lambd: 0.1, alpha: 0.75, t0: 0, weightDecay: 0.01 }),
    bad: [['lambd', -1], ['alpha', NaN], ['t0', -1], ['weightDecay', -1]],
  },
  {
    name: 'asgd (defaults)',
    alias: asgd,
    make: (lr) => asgd(lr),
    chain: (lr) => chain(addDecayedWeights(0), scaleByAsgd(lr), scale(-1)),
    reference: (lr) => asgdRef(lr),
    converge: { parabola: asgd(0.1), rosenbrock: asgd(1e-3), steps: 20_000 },
    bad: [],
  },
  {
    name: 'adopt',
    alias: adopt,
    make: (lr) => adopt(lr),
    chain: (lr) => chain(scaleByAdopt(), scaleByLearningRate(lr)),
    reference: (lr) => adoptRef(lr),
    converge: { parabola: adopt(1e-2), rosenbrock: adopt(1e-2), steps: 10_000 },
    bad: [['b1', -0.1], ['b2', 1], ['eps', -1]],
  },
  {
    name: 'adopt nesterov without clipping',
    alias: adopt,
    make: (lr) => adopt(lr, { nesterov: true, useClipping: false }),
    chain: (lr) => chain(scaleByAdopt({ nesterov: true, useClipping: false }), scaleByLearningRate(lr)),
    reference: (lr) => adoptRef(lr, { nesterov: true, clipping: false }),
    bad: [],
  },
  {
    name: 'ademamix',
    alias: ademamix,
    make: (lr) => ademamix(lr, { weightDecay: 0.01 }),
    chain: (lr) => chain(scaleByAdemamix({ alpha: 5 }), addDecayedWeights(0.01), scaleByLearningRate(lr)),
    reference: (lr) => ademamixRef(lr, { weightDecay: 0.01 }),
    // The slow average (b3 = 0.9999) rings for tens of thousands of steps on the parabola.
    converge: { parabola: ademamix(1e-3), rosenbrock: ademamix(1e-3), steps: 20_000, parabolaSteps: 50_000 },
    bad: [['b1', 1], ['b3', 1.5], ['alpha', -1], ['eps', -1], ['epsRoot', -1], ['weightDecay', -1]],
  },
  {
    name: 'ademamix with b3 and alpha schedules',
    alias: ademamix,
    make: (lr) => ademamix(lr, { b3: (k: number) => 0.99 - 0.1 / (k + 1), alpha: (k: number) => 1 + k }),
    chain: (lr) =>
      chain(
        scaleByAdemamix({ b3: (k: number) => 0.99 - 0.1 / (k + 1), alpha: (k: number) => 1 + k }),
        addDecayedWeights(0),
        scaleByLearningRate(lr),
      ),
    reference: (lr) => ademamixRef(lr, { b3: (k: number) => 0.99 - 0.1 / (k + 1), alpha: (k: number) => 1 + k }),
    bad: [],
  },
];

describe.each(CASES)('$name', (c) => {
  it('equals its documented chain, bit for bit, over 5 steps', () => {
    const a = run(c.make(0.01), 5);
    const b = run(c.chain(0.01), 5);
    for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expectBitwiseEqual(a.state, b.state);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('matches the float64 formula for three steps on a 3-leaf tree', () => {
    const lr = 0.01;
    const { updates, params, state } = run(c.make(lr), 3);
    const ref = c.reference(lr);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 3; k++) {
      const expected = ref(gradValues32(k), p);
      expectAllClose(updates[k], expected, 5e-5, 1e-9);
      p = p.map((x, i) => x + updates[k][i]);
    }
    treeDispose([params, state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(c.make(0.01), 100);
  });

  it.each(c.bad)('rejects %s = %s with a RangeError naming the option', (option, value) => {
    const error = thrown(() => c.alias(0.01, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`'${option}'`);
    expect(error.message).toContain(c.name.split(/[ ,]/)[0]);
  });

  const converge = c.converge;
  if (converge !== undefined) {
    it('converges on a parabola', () => {
      const target = [1, -1, 1];
      const x = minimize(converge.parabola, [-1, 10, 1], (v) => v.map((xi, i) => 2 * (xi - target[i])), converge.parabolaSteps ?? converge.steps);
      expectAllClose(x, target, 3e-2, 3e-2);
    });

    it('converges on Rosenbrock', () => {
      const grad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];
      const x = minimize(converge.rosenbrock, [0, 0], grad, converge.steps);
      expectAllClose(x, [1, 1], 3e-2, 3e-2);
    });
  }

  it('keeps learningRate = schedule(k) in the state after k updates', () => {
    const schedule = (k: number) => 0.01 / (1 + k);
    const { params, state } = run(c.make(schedule), 0);
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(0));
    treeDispose([params, state]);
    for (const k of [1, 3]) {
      const r = run(c.make(schedule), k);
      expect(getHyperparam(r.state, 'learningRate')).toBe(schedule(k));
      treeDispose([r.params, r.state]);
    }
  });
});

describe('adabound: the band', () => {
  it('closed (gamma large), the step is finalLr times the first moment: SGD with momentum', () => {
    // t = 1: m = (1 - b1) g = 0.1 g; band = [0.05 (1 - 1/(1e9 + 1)), 0.05 (1 + 1e-9)] ~ 0.05.
    const { updates, params, state } = run(adabound(0.01, { gamma: 1e9, finalLr: 0.05 }), 1);
    expectAllClose(updates[0], gradValues32(0).map((g) => -0.05 * 0.1 * g), 1e-6, 1e-10);
    treeDispose([params, state]);
  });

  it('scales with the learning rate, as the reference code (final_lr * lr / base_lr)', () => {
    // lr 0.01 then 0.005: on step 2 the band is 0.05 * 0.005 / 0.01 = 0.025, m = 0.1 g2 + 0.09 g1.
    const { updates, params, state } = run(adabound((k) => (k === 0 ? 0.01 : 0.005), { gamma: 1e9, finalLr: 0.05 }), 2);
    const g0 = gradValues32(0);
    const expected = gradValues32(1).map((g, i) => -0.025 * (0.1 * g + 0.09 * g0[i]));
    expectAllClose(updates[1], expected, 1e-6, 1e-10);
    treeDispose([params, state]);
  });

  it('setHyperparam on the learning rate moves the band too', () => {
    const tx = adabound(0.01, { gamma: 1e9, finalLr: 0.05 });
    const params = makeParams();
    const state = setHyperparam(tx.init(params), 'learningRate', 0.02);
    const grads = makeGrads(0);
    const [u, next] = tx.update(grads, state, params);
    expectAllClose(flat(u), gradValues32(0).map((g) => -0.1 * 0.1 * g), 1e-6, 1e-10);
    expect(getHyperparam(next, 'learningRate')).toBe(0.02);
    treeDispose([params, state, grads, u, next]);
  });
});

describe('asgd: the average', () => {
  it('asgdAverage follows PyTorch: the latest params until t0, then their running mean', () => {
    // t0 = 1: mu_k = 1 / max(1, k - 1) = 1, 1, 1, 1/2, 1/3 for k = 0..4, so after five steps
    // ax is the mean of the parameters after steps 3, 4 and 5 (the float64 reference's `average`).
    const o = { lambd: 0.05, alpha: 0.5, t0: 1 };
    const ref = asgdRef(0.1, o);
    const { updates, params, state } = run(asgd(0.1, o), 5);
    let p = PARAM_VALUES.slice();
    const after: number[][] = [];
    for (let k = 0; k < 5; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 5e-5, 1e-9);
      p = p.map((x, i) => x + updates[k][i]);
      after.push(p);
    }
    const average = asgdAverage(state);
    expectAllClose(flat(average), ref.average(), 5e-5, 1e-8);
    expectAllClose(flat(average), after[2].map((_, i) => (after[2][i] + after[3][i] + after[4][i]) / 3), 1e-5, 1e-7);
    expectAllClose(flat(params), after[4], 1e-6, 1e-8);
    treeDispose([average, params, state]);
  });

  it('asgdAverage returns copies and finds the state inside a chain; a state without one is a TypeError', () => {
    const { params, state } = run(chain(scaleByLearningRate(1), asgd(0.1)), 2);
    const average = asgdAverage(state);
    const ax = (state as any)[1][1].ax;
    expectBitwiseEqual(average, ax);
    for (const t of Object.values(average as Record<string, tf.Tensor>)) expect(Object.values(ax).includes(t)).toBe(false);
    expect(thrown(() => asgdAverage({ count: 0 }))).toBeInstanceOf(TypeError);
    treeDispose([average, params, state]);
  });

  it('needs params', () => {
    const tx = asgd(0.1);
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/asgd/);
    treeDispose([params, state, grads]);
  });
});

describe('adopt: the first step only measures the second moment', () => {
  it('update 0 is zero and nu = g^2; update 1 is -lr (1 - b1) clip(g1 / |g0|, -1, 1)', () => {
    // k = 1: c = 1^0.25 = 1; n = clip(g1 / max(|g0|, 1e-6), -1, 1); m = 0.1 n; u = -lr m.
    const { updates, params, state } = run(adopt(0.5), 2);
    expect(updates[0].every((x) => x === 0)).toBe(true);
    const g0 = gradValues32(0);
    const expected = gradValues32(1).map((g, i) => -0.5 * 0.1 * Math.min(Math.max(g / Math.abs(g0[i]), -1), 1));
    expectAllClose(updates[1], expected, 1e-6, 1e-9);
    treeDispose([params, state]);
  });
});
