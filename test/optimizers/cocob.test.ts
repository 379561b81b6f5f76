import { describe, expect, it } from 'vitest';
import { addDecayedWeights, chain, cocob, injectHyperparams, kernelPath, scaleByCocob, scaleByLearningRate, treeDispose } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, gradValues32, inMode, makeGrads, makeParams, PARAM_VALUES, run, thrown, trainWithoutLeak } from '../helpers.js';
import { minimizeAll, PARABOLA, ROSENBROCK, sideBySide } from './contrib-problems.js';

// cocob and scaleByCocob, as optax 0.2.8's contrib (whose only test of them is the common
// convergence test, run with the defaults and with weight_decay = 1e-2).

/**
 * Float64 COCOB-Backprop (Orabona & Tommasi 2017, Algorithm 2) as optax writes it: with
 * g = lr (g + wd p), L = max(L, |g|), G += |g|, R = max(R - g (p - p0), 0), C -= g, the new
 * params are p0 + C / (L max(G + L, alpha L)) (L + R); L starts at eps.
 */
function cocobRef(lr = 1, { alpha = 100, eps = 1e-8, wd = 0 } = {}) {
  let p0: number[] | null = null;
  let [c, l, gSum, r]: number[][] = [[], [], [], []];
  return (g0: number[], p: number[]): number[] => {
    if (p0 === null) [p0, c, l, gSum, r] = [p.slice(), p.map(() => 0), p.map(() => eps), p.map(() => 0), p.map(() => 0)];
    const g = g0.map((x, i) => lr * (x + wd * p[i]));
    l = l.map((x, i) => Math.max(x, Math.abs(g[i])));
    gSum = gSum.map((x, i) => x + Math.abs(g[i]));
    r = r.map((x, i) => Math.max(x - g[i] * (p[i] - p0![i]), 0));
    c = c.map((x, i) => x - g[i]);
    return p.map((x, i) => p0![i] + (c[i] / (l[i] * Math.max(gSum[i] + l[i], alpha * l[i]))) * (l[i] + r[i]) - x);
  };
}

describe('cocob', () => {
  it.each([
    ['defaults', 1, {}, {}],
    ['learning rate, alpha, eps, weight decay', 0.5, { alpha: 10, eps: 1e-3, weightDecay: 0.1 }, { alpha: 10, eps: 1e-3, wd: 0.1 }],
  ])('matches the float64 formula for six steps (%s)', (_name, lr, options, refOptions) => {
    const { updates, params, state } = run(cocob(lr, options), 6);
    const ref = cocobRef(lr, refOptions);
    let p = PARAM_VALUES.slice();
    for (let k = 0; k < 6; k++) {
      expectAllClose(updates[k], ref(gradValues32(k), p), 1e-4, 1e-7);
      p = p.map((x, i) => x + updates[k][i]);
    }
    treeDispose([params, state]);
  });

  it('moves each element by -sign(g) / alpha on the first step', () => {
    // p = p0: L = |g|, G = |g|, R = 0, C = -g, so u = -g / (|g| * alpha |g|) * |g|.
    for (const alpha of [100, 4]) {
      const { updates, params, state } = run(scaleByCocob({ alpha }), 1);
      expectAllClose(updates[0], gradValues32(0).map((g) => -Math.sign(g) / alpha), 1e-6, 0);
      treeDispose([params, state]);
    }
  });

  it('keeps the parameters given to init and starts the scale at eps', () => {
    const tx = cocob();
    const params = makeParams();
    const state = tx.init(params);
    const inner = state[2] as unknown as { initParticles: ReturnType<typeof makeParams>; scale: ReturnType<typeof makeParams> };
    expect(Array.from(inner.initParticles.layer.kernel.dataSync())).toEqual(Array.from(params.layer.kernel.dataSync()));
    expect(inner.initParticles.layer.kernel).not.toBe(params.layer.kernel);
    expect(Array.from(inner.scale.scale.dataSync())).toEqual([Math.fround(1e-8)]);
    treeDispose([params, state]);
  });

  it('is its documented chain', () => {
    const a = run(cocob(0.5, { weightDecay: 0.01, alpha: 20 }), 3);
    const b = run(chain(addDecayedWeights(0.01), scaleByLearningRate(0.5, { flipSign: false }), scaleByCocob({ alpha: 20 })), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('runs fused, and fused equals composite to the bit', () => {
    const make = () => cocob(1, { weightDecay: 0.01, mask: { layer: true, scale: false } });
    expect(inMode('auto', () => kernelPath(make()))).not.toBe('composite');
    const fused = inMode('auto', () => run(make(), 4));
    const composite = inMode('composite', () => run(make(), 4));
    expectBitwiseEqual(fused.updates, composite.updates);
    expectBitwiseEqual(fused.state, composite.state);
    treeDispose([fused.params, fused.state, composite.params, composite.state]);
  });

  it('equals itself under injectHyperparams, bit for bit (optax\'s common test, at its learning rate)', () => {
    const a = run(injectHyperparams(cocob)({ learningRate: 1, alpha: 50 }), 3);
    const b = run(cocob(1, { alpha: 50 }), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(cocob(1, { weightDecay: 0.01 }), 100);
  });

  it('needs params', () => {
    const tx = scaleByCocob();
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/scaleByCocob: .*needs the current parameters/);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['alpha', 0],
    ['alpha', Infinity],
    ['eps', -1e-8],
    ['weightDecay', -1],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => cocob(1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`cocob: option '${option}'`);
    if (option !== 'weightDecay') expect(thrown(() => scaleByCocob({ [option]: value })).message).toContain(`scaleByCocob: option '${option}'`);
  });

  it('rejects unknown options, naming them', () => {
    expect(thrown(() => cocob(1, { learningRate: 1 } as never)).message).toMatch(/cocob: unknown option 'learningRate'/);
    expect(thrown(() => scaleByCocob({ weightDecay: 0 } as never)).message).toMatch(/scaleByCocob: unknown option 'weightDecay'/);
  });

  it('converges on the parabola and on Rosenbrock with optax\'s defaults and with its weightDecay = 1e-2', () => {
    // optax runs 30,000 steps. Both configurations at once: element-wise, and the decay's mask
    // leaves the first two leaves exactly as cocob() would (no decay term at all). In float32
    // Rosenbrock stays within optax's 3e-2 from about step 17,000 (without decay) and 15,000 (with).
    const tx = cocob(1, { weightDecay: 1e-2, mask: { p0: false, p1: true } });
    const both = sideBySide(PARABOLA, ROSENBROCK);
    const [plain, decayed] = minimizeAll(tx, [both, both], 20_000);
    const [[parabola, rosenbrock], [parabolaWd, rosenbrockWd]] = [both.split(plain), both.split(decayed)];
    expectAllClose(parabola, PARABOLA.target, 3e-2, 3e-2);
    expectAllClose(rosenbrock, ROSENBROCK.target, 3e-2, 3e-2);
    // The decay pulls the minimiser towards 0, by less than optax's tolerance.
    expectAllClose(parabolaWd, PARABOLA.target, 3e-2, 3e-2);
    expectAllClose(rosenbrockWd, ROSENBROCK.target, 3e-2, 3e-2);
  });
});

