import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  applyUpdates,
  chain,
  disposeReplaced,
  dowg,
  injectHyperparams,
  kernelPath,
  scaleByDowg,
  scaleByLearningRate,
  treeDispose,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, gradValues32, makeGrads, makeParams, PARAM_VALUES, run, thrown, trainWithoutLeak } from '../helpers.js';
import { minimizeAll, PARABOLA, ROSENBROCK } from './contrib-problems.js';

// dowg and scaleByDowg, as optax 0.2.8's contrib: its docstring example, and its common
// convergence test (at learning rate 1).

const sumSq = (v: number[]) => v.reduce((a, x) => a + x * x, 0);

/**
 * Float64 DoWG (Khaled et al. 2023) as optax writes it: g += wd p; r2 = max(r2, ||x - x0||^2)
 * (r2 starts at initEstimSqDist, default eps); v += r2 ||g||^2; eta = r2 / (sqrt(v) + eps);
 * the update is -lr eta g.
 */
function dowgRef(lr = 1, { initEstimSqDist = undefined as number | undefined, eps = 1e-4, wd = 0 } = {}) {
  let x0: number[] | null = null;
  let r2 = 0;
  let v = 0;
  return (g0: number[], p: number[]): number[] => {
    if (x0 === null) [x0, r2] = [p.slice(), initEstimSqDist ?? eps];
    const g = g0.map((x, i) => x + wd * p[i]);
    r2 = Math.max(r2, sumSq(p.map((x, i) => x - x0![i])));
    v = r2 * sumSq(g) + v;
    const eta = r2 / (Math.sqrt(v) + eps);
    return g.map((x) => -lr * eta * x);
  };
}

describe('dowg', () => {
  it('gives the objective values of optax\'s docstring example (five steps on sum(x^2) from [1, 2, 3])', () => {
    const printed = [13.925367, 13.872763, 13.775433, 13.596172, 13.268837];
    const tx = dowg();
    let params = { x: tf.tensor1d([1, 2, 3]) };
    let state = tx.init(params);
    for (const value of printed) {
      const grads = { x: tf.mul(2, params.x) };
      const [u, next] = tx.update(grads, state, params);
      const nextParams = applyUpdates(params, u);
      disposeReplaced([params, state, grads, u], [nextParams, next]);
      [params, state] = [nextParams, next];
      // optax prints float32 values to 8 digits; the sums here may round in another order.
      expect(Math.abs(sumSq(Array.from(params.x.dataSync())) - value)).toBeLessThan(5e-6);
    }
    treeDispose([params, state]);
  });

  it.each([
    ['defaults', {}, {}],
    ['initEstimSqDist, eps, weight decay', { initEstimSqDist: 0.01, eps: 1e-3, weightDecay: 0.1 }, { initEstimSqDist: 0.01, eps: 1e-3, wd: 0.1 }],
  ])('matches the float64 formula for five steps (%s)', (_name, options, refOptions) => {
    const { updates, params, state } = run(dowg(0.5, options), 5);
    const ref = dowgRef(0.5, refOptions);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 5; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 1e-5, 1e-12);
      p = p.map((x, i) => x + updates[k][i]);
    }
    treeDispose([params, state]);
  });

  it('takes the first step by hand: eps / (sqrt(eps ||g||^2) + eps) times the gradient', () => {
    // From x0 the distance is 0, so r2 = eps and v = eps ||g1||^2.
    const g1 = gradValues32(0);
    const eta = 1e-4 / (Math.sqrt(1e-4 * sumSq(g1)) + 1e-4);
    const { updates, params, state } = run(scaleByDowg(), 1);
    expectAllClose(updates[0], g1.map((g) => eta * g), 1e-5, 0);
    treeDispose([params, state]);
  });

  it('is its documented chain, and runs composite (the norms are over the whole tree)', () => {
    const a = run(dowg(0.5, { weightDecay: 0.01, eps: 1e-3 }), 3);
    const b = run(chain(addDecayedWeights(0.01), scaleByDowg({ eps: 1e-3 }), scaleByLearningRate(0.5)), 3);
    expectBitwiseEqual(a.updates, b.updates);
    expect(kernelPath(dowg())).toBe('composite');
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('equals itself under injectHyperparams, bit for bit (optax\'s common test, at its learning rate)', () => {
    const a = run(injectHyperparams(dowg)({ learningRate: 1, eps: 1e-3 }), 3);
    const b = run(dowg(1, { eps: 1e-3 }), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(dowg(1, { weightDecay: 0.01 }), 100);
  });

  it('needs params', () => {
    const tx = dowg();
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/dowg: .*needs the current parameters/);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['initEstimSqDist', 0],
    ['initEstimSqDist', Infinity],
    ['eps', 0],
    ['eps', -1e-4],
    ['weightDecay', -1],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => dowg(1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`dowg: option '${option}'`);
    if (option !== 'weightDecay') expect(thrown(() => scaleByDowg({ [option]: value })).message).toContain(`scaleByDowg: option '${option}'`);
  });

  it('rejects a mask without weightDecay and unknown options, naming them', () => {
    expect(thrown(() => dowg(1, { mask: { x: true } })).message).toMatch(/dowg: option 'mask' needs 'weightDecay'/);
    expect(thrown(() => dowg(1, { init_estim_sq_dist: 1 } as never)).message).toMatch(/dowg: unknown option 'init_estim_sq_dist'/);
    expect(thrown(() => scaleByDowg({ weightDecay: 0 } as never)).message).toMatch(/scaleByDowg: unknown option 'weightDecay'/);
  });

  it('converges on the parabola and on Rosenbrock at optax\'s learning rate 1', () => {
    // optax runs 30,000 steps; the float64 formula is within 3e-2 from step 27 (parabola) and
    // 6,120 (Rosenbrock). The norms are global, so each problem runs on its own.
    const [parabola] = minimizeAll(dowg(1), [PARABOLA], 100);
    expectAllClose(parabola, PARABOLA.target, 3e-2, 3e-2);
    const [rosenbrock] = minimizeAll(dowg(1), [ROSENBROCK], 6500);
    expectAllClose(rosenbrock, ROSENBROCK.target, 3e-2, 3e-2);
  });
});
