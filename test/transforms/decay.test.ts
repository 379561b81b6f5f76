import { describe, expect, it } from 'vitest';
import { adam, adamw, addDecayedWeights, chain, sgd } from '../../src/index.js';
import { expectAllClose, flat, gradValues32, makeGrads, makeParams, PARAM_VALUES, run } from '../helpers.js';

// References below are written per element in float64 straight from the formulas in the doc
// comments, independently of the tensor code; gradients are the float32 values fed in.

describe('addDecayedWeights', () => {
  it('adds weightDecay * params', () => {
    const tx = addDecayedWeights(0.1);
    const params = makeParams();
    const [u, s] = tx.update(makeGrads(0), tx.init(params), params);
    expectAllClose(flat(u), gradValues32(0).map((g, i) => g + 0.1 * PARAM_VALUES[i]), 1e-6);
    expect(s).toEqual({ count: 1, weightDecay: 0.1 });
  });

  it('a mask tree, a mask function and a prefix mask select the same leaves', () => {
    const params = makeParams();
    const g = makeGrads(0);
    const expected = gradValues32(0).map((gi, i) => (i >= 3 && i < 9 ? gi + 0.5 * PARAM_VALUES[i] : gi));
    const masks = [
      { layer: { kernel: true, bias: false }, scale: false },
      (p: typeof params) => ({ layer: { kernel: p.layer.kernel.rank > 1, bias: false }, scale: false }),
    ];
    for (const mask of masks) {
      const tx = addDecayedWeights(0.5, { mask: mask as never });
      const [u] = tx.update(g, tx.init(params), params);
      expectAllClose(flat(u), expected, 1e-6);
      // Masked-out leaves are passed through untouched (the same tensor).
      expect((u as typeof g).scale).toBe(g.scale);
    }
    const prefix = addDecayedWeights(0.5, { mask: { layer: true, scale: false } });
    const [u] = prefix.update(g, prefix.init(params), params);
    expectAllClose(flat(u), gradValues32(0).map((gi, i) => (i < 9 ? gi + 0.5 * PARAM_VALUES[i] : gi)), 1e-6);
  });

  it('takes a schedule of the step count', () => {
    const { updates } = run(addDecayedWeights((c) => (c + 1) * 0.1), 2, (k) => makeGrads(k), makeParams());
    expectAllClose(updates[0], gradValues32(0).map((g, i) => g + 0.1 * PARAM_VALUES[i]), 1e-6);
    // Step 2 decays the params after step 1 (params + updates[0]) at rate 0.2.
    const p1 = PARAM_VALUES.map((p, i) => p + updates[0][i]);
    expectAllClose(updates[1], gradValues32(1).map((g, i) => g + 0.2 * p1[i]), 1e-5);
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
