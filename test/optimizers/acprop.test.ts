import { describe, expect, it } from 'vitest';
import { acprop, addDecayedWeights, chain, injectHyperparams, kernelPath, scaleByAcprop, scaleByLearningRate, treeDispose } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, gradValues32, inMode, makeParams, PARAM_VALUES, run, thrown, trainWithoutLeak } from '../helpers.js';
import { minimizeAll, PARABOLA, ROSENBROCK, sideBySide } from './contrib-problems.js';

// acprop and scaleByAcprop, as optax 0.2.8's contrib (optax has no test of its own for them
// beyond the common convergence test).

/**
 * Float64 ACProp as optax's code computes it, with k = updates done before:
 * u = g / (sqrt(nu / (1 - b2^k)) + eps) (k = 0: g / (1 + eps)), then
 * nu = (1 - b2) (g - mu)^2 + b2 nu + epsRoot and mu = (1 - b1) g + b1 mu (mu of the step before
 * in nu); acprop adds wd p and multiplies by -lr.
 */
function acpropRef(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-16, epsRoot = 1e-16, wd = 0 } = {}) {
  let m: number[] = [];
  let v: number[] = [];
  let k = 0;
  return (g: number[], p: number[]): number[] => {
    if (k === 0) [m, v] = [g.map(() => 0), g.map(() => 0)];
    const bc = 1 - b2 ** Math.max(k, 1);
    const u = g.map((x, i) => x / ((k === 0 ? 1 : Math.sqrt(v[i] / bc)) + eps));
    v = v.map((x, i) => (1 - b2) * (g[i] - m[i]) ** 2 + b2 * x + epsRoot);
    m = m.map((x, i) => (1 - b1) * g[i] + b1 * x);
    k++;
    return u.map((x, i) => -lr * (x + wd * p[i]));
  };
}

describe('acprop', () => {
  it.each([
    ['defaults', {}, {}],
    ['b1, b2, eps, epsRoot, weight decay', { b1: 0.8, b2: 0.99, eps: 1e-3, epsRoot: 1e-4, weightDecay: 0.1 }, { b1: 0.8, b2: 0.99, eps: 1e-3, epsRoot: 1e-4, wd: 0.1 }],
  ])('matches the float64 formula for five steps (%s)', (_name, options, refOptions) => {
    const { updates, params, state } = run(acprop(0.1, options), 5);
    const ref = acpropRef(0.1, refOptions);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 5; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 1e-5, 1e-7);
      p = p.map((x, i) => x + updates[k][i]);
    }
    treeDispose([params, state]);
  });

  it('takes the gradient unchanged on the first step and divides by the previous steps\' moment after', () => {
    // Step 1: nu_hat is 1, so u = g / (1 + 1e-16) = g in float32. Step 2 (by hand): nu after step 1
    // is (1 - b2) g1^2 + epsRoot, debiased by 1 - b2: u2 = g2 / |g1| (up to eps, epsRoot).
    const { updates, params, state } = run(scaleByAcprop(), 2);
    expect(updates[0]).toEqual(gradValues32(0));
    const [g1, g2] = [gradValues32(0), gradValues32(1)];
    expectAllClose(updates[1], g2.map((x, i) => x / Math.sqrt(g1[i] ** 2 + 1e-16 / 1e-3)), 1e-6, 0);
    expect(state.count).toBe(2);
    treeDispose([params, state]);
  });

  it('is its documented chain', () => {
    const a = run(acprop(0.05, { weightDecay: 0.01, b1: 0.5 }), 3);
    const b = run(chain(scaleByAcprop({ b1: 0.5 }), addDecayedWeights(0.01), scaleByLearningRate(0.05)), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('runs fused, and fused equals composite to the bit', () => {
    const make = () => acprop(0.1, { weightDecay: 0.01, mask: { layer: true, scale: false } });
    expect(inMode('auto', () => kernelPath(make()))).not.toBe('composite');
    const fused = inMode('auto', () => run(make(), 4));
    const composite = inMode('composite', () => run(make(), 4));
    expectBitwiseEqual(fused.updates, composite.updates);
    expectBitwiseEqual(fused.state, composite.state);
    treeDispose([fused.params, fused.state, composite.params, composite.state]);
  });

  it('equals itself under injectHyperparams, bit for bit (optax\'s common test, at its learning rate)', () => {
    const a = run(injectHyperparams(acprop)({ learningRate: 1e-3, weightDecay: 0.01 }), 3);
    const b = run(acprop(1e-3, { weightDecay: 0.01 }), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(acprop(0.01, { weightDecay: 0.01 }), 100);
  });

  it.each([
    ['b1', 1],
    ['b2', -0.1],
    ['eps', -1],
    ['epsRoot', NaN],
    ['weightDecay', -1],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => acprop(0.1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`acprop: option '${option}'`);
    if (option !== 'weightDecay') expect(thrown(() => scaleByAcprop({ [option]: value })).message).toContain(`scaleByAcprop: option '${option}'`);
  });

  it('rejects unknown options, naming them', () => {
    expect(thrown(() => acprop(0.1, { beta1: 0.9 } as never)).message).toMatch(/acprop: unknown option 'beta1'/);
    expect(thrown(() => scaleByAcprop({ weightDecay: 0.1 } as never)).message).toMatch(/scaleByAcprop: unknown option 'weightDecay'/);
  });

  it('converges on the parabola and on Rosenbrock at optax\'s learning rate 1e-3', () => {
    // optax runs 30,000 steps; the float64 formula is within 3e-2 from step 2,519 (parabola) and
    // 22,741 (Rosenbrock). Element-wise, so both run at once, side by side in one leaf.
    const both = sideBySide(PARABOLA, ROSENBROCK);
    const [parabola, rosenbrock] = both.split(minimizeAll(acprop(1e-3), [both], 24_000)[0]);
    expectAllClose(parabola, PARABOLA.target, 3e-2, 3e-2);
    expectAllClose(rosenbrock, ROSENBROCK.target, 3e-2, 3e-2);
  });
});
