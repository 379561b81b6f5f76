import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adaptiveGradClip,
  addDecayedWeights,
  chain,
  clipByBlockRms,
  disposeReplaced,
  fromage,
  getHyperparam,
  lamb,
  lars,
  masked,
  normalizeByUpdateNorm,
  novograd,
  scaleByAdam,
  scaleByLearningRate,
  scaleByNovograd,
  scaleByParamBlockNorm,
  scaleByParamBlockRms,
  scaleByTrustRatio,
  trace,
  treeMap,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { HyperRate } from '../../src/internal/hyper.js';
import { addDecayedWeightsFor } from '../../src/transforms/decay.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  flat,
  gradValues32,
  makeGrads,
  makeParams,
  minimize,
  PARAM_VALUES,
  run,
  thrown,
  trainWithoutLeak,
} from '../helpers.js';

// The layer-wise optimizers (lamb, lars, fromage, novograd) and the per-block norm transforms,
// checked against float64 references written from the papers' formulas (and optax's operation
// order where it matters), on the test tree of helpers.ts: flatten order layer.bias (3 elements),
// layer.kernel (2x3), scale (scalar), one "block" each.

type AnyTx = GradientTransformation<any>;

/** The leaves of the test tree as [start, end) ranges of the flat arrays. */
const LEAVES: Array<[number, number]> = [
  [0, 3],
  [3, 9],
  [9, 10],
];

const norm = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** Applies `fn` to each leaf's slices of the flat arrays and concatenates the results. */
function perLeaf(fn: (leaf: number, ...slices: number[][]) => number[], ...arrays: number[][]): number[] {
  return LEAVES.flatMap(([a, b], j) => fn(j, ...arrays.map((x) => x.slice(a, b))));
}

/** The trust-ratio scaling of one leaf: `u * tc * pn / (un + eps)` with floored norms, 1 where a norm is 0. */
function trustRatio(u: number[], p: number[], { minNorm = 0, tc = 1, eps = 0 } = {}): number[] {
  const floor = (n: number) => (n <= minNorm ? minNorm : n);
  const pn = floor(norm(p));
  const un = floor(norm(u));
  const ratio = pn === 0 || un === 0 ? 1 : (tc * pn) / (un + eps);
  return u.map((x) => x * ratio);
}

/** A float64 stepper: the update for gradients `g` at params `p` (flat arrays). */
type Stepper = (g: number[], p: number[]) => number[];

/** Runs `tx` for `steps` steps on the test tree and compares each update with `ref`'s. */
function expectSteps(tx: AnyTx, ref: Stepper, steps: number, rtol = 2e-5): void {
  const { updates, state, params } = run(tx, steps);
  let p = PARAM_VALUES.slice();
  for (let k = 0; k < steps; k++) {
    expectAllClose(updates[k], ref(gradValues32(k), p), rtol, 1e-9);
    p = p.map((x, i) => x + updates[k][i]);
  }
  disposeReplaced([state, params], []);
}

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

/** Fromage in float64: p' = (p - lr * trust(g)) / sqrt(1 + lr^2), as an update. */
function fromageRef(lr: number, minNorm = 1e-6): Stepper {
  const mult = 1 / Math.sqrt(1 + lr * lr);
  return (g, p) => perLeaf((_j, gj, pj) => trustRatio(gj, pj, { minNorm }).map((x, i) => -lr * mult * x + (mult - 1) * pj[i]), g, p);
}

/** Decay matrices only, as a function of params. */
const MATRICES = (params: Params) => treeMap((x) => x.rank >= 2, params);

describe('steps derived by hand on one leaf p = [3, 4] (||p|| = 5)', () => {
  /** The updates of `steps` updates of `tx` on `{ w: p }` with the gradients `gs` (params fixed). */
  function updatesOf(tx: AnyTx, gs: number[][]): number[][] {
    const params = { w: tf.tensor1d([3, 4]) };
    let state = tx.init(params);
    const out: number[][] = [];
    for (const g of gs) {
      const grads = { w: tf.tensor1d(g) };
      const [u, next] = tx.update(grads, state, params);
      out.push(flat(u));
      disposeReplaced([grads, u, state], [params, next]);
      state = next;
    }
    disposeReplaced([params, state], []);
    return out;
  }

  it('lamb: the first Adam direction is g / (|g| + eps) ~ sign(g), then times ||p|| / ||r||', () => {
    // g = [0.5, -2]: mHat = g, vHat = g^2, r = g / (|g| + 1e-6) ~ [1, -1], ||r|| ~ sqrt(2);
    // u = -0.1 * 5 / sqrt(2) * [1, -1] = [-0.353553, 0.353553].
    const [u] = updatesOf(lamb(0.1), [[0.5, -2]]);
    expectAllClose(u, [-0.5 / Math.SQRT2, 0.5 / Math.SQRT2], 1e-5);
  });

  it('lars: ratio 0.001 * ||p|| / ||g||, then momentum on the scaled step', () => {
    // g = [6, 8], ||g|| = 10: ratio = 0.001 * 5 / 10 = 5e-4, r = -1 * [0.003, 0.004];
    // m1 = r, m2 = r + 0.9 * m1 = 1.9 r.
    const [u1, u2] = updatesOf(lars(1), [[6, 8], [6, 8]]);
    expectAllClose(u1, [-0.003, -0.004]);
    expectAllClose(u2, [-0.0057, -0.0076]);
  });

  it('fromage: p\' = (p - lr * (||p|| / ||g||) g) / sqrt(1 + lr^2)', () => {
    // lr = 0.75: sqrt(1 + lr^2) = 1.25, mult = 0.8; (||p|| / ||g||) g = 0.5 * [6, 8] = [3, 4];
    // u = -0.75 * 0.8 * [3, 4] + (0.8 - 1) * [3, 4] = -0.8 * [3, 4] = [-2.4, -3.2].
    const [u] = updatesOf(fromage(0.75), [[6, 8]]);
    expectAllClose(u, [-2.4, -3.2]);
  });

  it('novograd: moments start at the first step; nu is the squared norm of the leaf', () => {
    // Step 1, g = [3, 4]: nu = 25, a = g / (5 + 1e-6) ~ [0.6, 0.8], mu = a, u = -0.1 * mu.
    // Step 2, g = [0, 5]: nu = 0.25 * 25 + 0.75 * 25 = 25, a = [0, 1], mu = 0.9 * [0.6, 0.8] + [0, 1] = [0.54, 1.72].
    const [u1, u2] = updatesOf(novograd(0.1), [[3, 4], [0, 5]]);
    expectAllClose(u1, [-0.06, -0.08], 1e-5);
    expectAllClose(u2, [-0.054, -0.172], 1e-5);
  });
});

describe('scaleByTrustRatio', () => {
  it('scales each leaf by ||p|| / ||u||, one ratio per leaf (float64 reference, three steps)', () => {
    expectSteps(scaleByTrustRatio(), (g, p) => perLeaf((_j, gj, pj) => trustRatio(gj, pj), g, p), 3);
    expectSteps(
      scaleByTrustRatio({ minNorm: 2, trustCoefficient: 0.5, eps: 0.1 }),
      (g, p) => perLeaf((_j, gj, pj) => trustRatio(gj, pj, { minNorm: 2, tc: 0.5, eps: 0.1 }), g, p),
      3,
    );
  });

  it('leaves an update whose parameter or update is all zeros unscaled (ratio 1, as optax)', () => {
    const tx = scaleByTrustRatio({ trustCoefficient: 3 });
    const params = { a: tf.zeros([3]), b: tf.tensor1d([1, 2, 2]) };
    const grads = { a: tf.tensor1d([1, -2, 4]), b: tf.zeros([3]) };
    const [u] = tx.update(grads, tx.init(params), params);
    expect(flat(u)).toEqual([1, -2, 4, 0, 0, 0]);
    disposeReplaced([params, grads, u], []);
  });

  it('needs params', () => {
    const tx = scaleByTrustRatio();
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, tx.init(makeParams()))).message).toMatch(/scaleByTrustRatio: .*needs the current parameters/);
    disposeReplaced([grads], []);
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
        addDecayedWeightsFor('fromage', new HyperRate('fromage', 'weightDecay', mult - 1, -1)),
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

  it('decays only the masked leaves, with a scheduled rate kept in the state', () => {
    const wd = (c: number) => 0.1 * (c + 1);
    const tx = scaleByNovograd({ weightDecay: wd, mask: MATRICES });
    const plain = scaleByNovograd();
    const a = run(tx, 1);
    const b = run(plain, 1);
    // One step: mu = g / (||g|| + eps) + wd(0) * p on the kernel only.
    const expected = b.updates[0].map((x, i) => (i >= 3 && i < 9 ? x + 0.1 * PARAM_VALUES[i] : x));
    expectAllClose(a.updates[0], expected, 1e-6, 1e-9);
    expectBitwiseEqual(a.updates[0].slice(0, 3), b.updates[0].slice(0, 3));
    expect(getHyperparam(a.state, 'weightDecay')).toBe(wd(1));
    disposeReplaced([a.state, a.params, b.state, b.params], []);
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

describe('per-block norm transforms', () => {
  it('normalizeByUpdateNorm divides by (||g|| + eps) / scaleFactor over the whole tree', () => {
    const ref: Stepper = (g) => {
      const d = (norm(g) + 1e-6) / -2;
      return g.map((x) => x / d);
    };
    expectSteps(normalizeByUpdateNorm({ scaleFactor: -2 }), ref, 2);
    const { updates, state, params } = run(normalizeByUpdateNorm(), 1);
    expect(norm(updates[0])).toBeCloseTo(1, 5);
    disposeReplaced([state, params], []);
  });

  it('clipByBlockRms divides each leaf by max(1, rms / threshold)', () => {
    const ref: Stepper = (g) => perLeaf((_j, gj) => gj.map((x) => x / Math.max(1, norm(gj) / Math.sqrt(gj.length) / 1.2)), g);
    // The kernel's rms (1.34) is above 1.2, the bias's (1.18) and the scalar's (0.54) below: both branches run.
    const rms = perLeaf((_j, gj) => [norm(gj) / Math.sqrt(gj.length)], gradValues32(0));
    expect(rms.map((r) => r > 1.2)).toEqual([false, true, false]);
    expectSteps(clipByBlockRms(1.2), ref, 1);
  });

  it('scaleByParamBlockNorm and scaleByParamBlockRms multiply by the parameter block norm or rms, floored', () => {
    expectSteps(scaleByParamBlockNorm(), (g, p) => perLeaf((_j, gj, pj) => gj.map((x) => x * Math.max(norm(pj), 1e-3)), g, p), 2);
    expectSteps(
      scaleByParamBlockRms({ minScale: 0.9 }),
      (g, p) => perLeaf((_j, gj, pj) => gj.map((x) => x * Math.max(norm(pj) / Math.sqrt(pj.length), 0.9)), g, p),
      2,
    );
    // A zero parameter block scales by minScale.
    const tx = scaleByParamBlockNorm({ minScale: 0.25 });
    const params = { w: tf.zeros([2]) };
    const grads = { w: tf.tensor1d([4, -8]) };
    const [u] = tx.update(grads, tx.init(params), params);
    expect(flat(u)).toEqual([1, -2]);
    disposeReplaced([params, grads, u], []);
  });

  it('adaptiveGradClip clips each unit (matrix column) to clipping * max(||p_unit||, eps)', () => {
    const clipping = 0.8;
    // Units: the bias (whole vector), each of the kernel's 3 columns (axis 0 of a [2, 3] matrix), the scalar.
    const units = [[0, 1, 2], [3, 6], [4, 7], [5, 8], [9]];
    const clippedUnits: boolean[] = [];
    const ref: Stepper = (g, p) => {
      const out = g.slice();
      for (const unit of units) {
        const gn = norm(unit.map((i) => g[i]));
        const maxNorm = clipping * Math.max(norm(unit.map((i) => p[i])), 1e-3);
        clippedUnits.push(gn >= maxNorm);
        if (gn >= maxNorm) for (const i of unit) out[i] = g[i] * (maxNorm / Math.max(gn, 1e-6));
      }
      return out;
    };
    expectSteps(adaptiveGradClip(clipping), ref, 1);
    expect(clippedUnits).toContain(true);
    expect(clippedUnits).toContain(false);
  });

  it('adaptiveGradClip takes the unit axes from the axis option, and needs it above rank 5', () => {
    const params = { w: tf.tensor2d([[3, 4], [0, 1]]) };
    const grads = { w: tf.tensor2d([[30, 40], [0, 0.5]]) };
    const tx = adaptiveGradClip(1, { axis: 1 });
    const [u] = tx.update(grads, tx.init(params), params);
    // Row 0: ||g|| = 50 > 1 * 5, scaled by 5 / 50; row 1: ||g|| = 0.5 < 1, kept.
    expectAllClose(flat(u), [3, 4, 0, 0.5]);
    const big = { w: tf.zeros([2, 1, 2, 1, 2, 2]) };
    const noAxis = adaptiveGradClip(1);
    expect(thrown(() => noAxis.update(big, noAxis.init(big), big)).message).toMatch(/adaptiveGradClip: no default unit axes for updates\.w \(shape \[2, 1, 2, 1, 2, 2\]\)/);
    disposeReplaced([params, grads, u, big], []);
  });
});

const OPTIMIZERS: Array<[string, (lr: number | ((c: number) => number)) => AnyTx]> = [
  ['lamb', (lr) => lamb(lr, { weightDecay: 0.01 })],
  ['lars', (lr) => lars(lr, { weightDecay: 0.01 })],
  ['novograd', (lr) => novograd(lr, { weightDecay: 0.01 })],
];

describe.each(OPTIMIZERS)('%s', (_name, make) => {
  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(make(0.01), 100);
  });

  it('holds learningRate = schedule(k) after k updates', () => {
    const schedule = (c: number) => 0.1 / (c + 1);
    for (const k of [0, 1, 3]) {
      const { state, params } = run(make(schedule), k);
      expect(getHyperparam(state, 'learningRate')).toBe(schedule(k));
      disposeReplaced([state, params], []);
    }
  });
});

describe('no leak over 100 trainSteps', () => {
  const cases: Array<[string, () => AnyTx]> = [
    ['fromage', () => fromage(0.01)],
    ['scaleByTrustRatio', () => scaleByTrustRatio({ minNorm: 1e-3 })],
    ['scaleByNovograd', () => scaleByNovograd({ weightDecay: 0.1, mask: MATRICES })],
    ['normalizeByUpdateNorm', () => normalizeByUpdateNorm()],
    ['clipByBlockRms', () => clipByBlockRms(0.5)],
    ['adaptiveGradClip', () => adaptiveGradClip(0.1)],
    ['scaleByParamBlockNorm', () => scaleByParamBlockNorm()],
    ['scaleByParamBlockRms', () => scaleByParamBlockRms()],
  ];
  it.each(cases)('%s', (_name, make) => trainWithoutLeak(make(), 100));
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
    ['novograd b2', () => novograd(0.01, { b2: -0.1 }), /novograd: option 'b2'/],
    ['novograd epsRoot', () => novograd(0.01, { epsRoot: Infinity }), /novograd: option 'epsRoot'/],
    ['scaleByTrustRatio minNorm', () => scaleByTrustRatio({ minNorm: -1 }), /scaleByTrustRatio: option 'minNorm'/],
    ['scaleByNovograd weightDecay', () => scaleByNovograd({ weightDecay: -1 }), /scaleByNovograd: option 'weightDecay'/],
    ['normalizeByUpdateNorm scaleFactor', () => normalizeByUpdateNorm({ scaleFactor: 0 }), /normalizeByUpdateNorm: option 'scaleFactor'/],
    ['normalizeByUpdateNorm eps', () => normalizeByUpdateNorm({ eps: -1 }), /normalizeByUpdateNorm: option 'eps'/],
    ['clipByBlockRms threshold', () => clipByBlockRms(0), /clipByBlockRms: option 'threshold'/],
    ['adaptiveGradClip clipping', () => adaptiveGradClip(-1), /adaptiveGradClip: option 'clipping'/],
    ['adaptiveGradClip eps', () => adaptiveGradClip(0.1, { eps: -1 }), /adaptiveGradClip: option 'eps'/],
    ['adaptiveGradClip axis', () => adaptiveGradClip(0.1, { axis: [0, 0.5] }), /adaptiveGradClip: option 'axis\[1\]'/],
    ['scaleByParamBlockNorm minScale', () => scaleByParamBlockNorm({ minScale: NaN }), /scaleByParamBlockNorm: option 'minScale'/],
    ['scaleByParamBlockRms minScale', () => scaleByParamBlockRms({ minScale: -1 }), /scaleByParamBlockRms: option 'minScale'/],
  ];
  it.each(cases)('%s', (_name, make, message) => {
    const error = thrown(make);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(message);
  });
});

// optax's alias_test.py: the same learning rates, 10,000 steps, rtol = atol = 3e-2.
const CONVERGENCE: Array<[string, () => AnyTx]> = [
  ['lamb (lr 1e-3)', () => lamb(1e-3)],
  ['lars (lr 1)', () => lars(1)],
  ['novograd (lr 1e-3)', () => novograd(1e-3)],
  ['fromage (lr 5e-3)', () => fromage(5e-3)],
];

describe.each(CONVERGENCE)('%s converges', (_name, make) => {
  it('on a parabola', () => {
    const target = [1, -1, 1];
    const x = minimize(make(), [-1, 10, 1], (v) => v.map((xi, i) => 2 * (xi - target[i])));
    expectAllClose(x, target, 3e-2, 3e-2);
  });

  it('on Rosenbrock', () => {
    const grad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];
    const x = minimize(make(), [0, 0], grad);
    expectAllClose(x, [1, 1], 3e-2, 3e-2);
  });
});
