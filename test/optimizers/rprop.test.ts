import { describe, expect, it } from 'vitest';
import { chain, rprop, scale, scaleByRprop } from '../../src/index.js';
import { expectAllClose, expectConverges, expectEqualsChain, expectRangeError, thrown, trainWithoutLeak, updatesFor } from '../helpers.js';

describe('rprop', () => {
  it('follows PyTorch (Rprop-) step by step', () => {
    // torch.optim.Rprop(lr=0.1), defaults etaminus 0.5, etaplus 1.2, step sizes in [1e-6, 50],
    // derived by hand. Per element: s = g * prev; stepSize *= (s > 0 ? 1.2 : s < 0 ? 0.5 : 1),
    // clamped; g' = s < 0 ? 0 : g; update = -stepSize * sign(g'); prev = g'.
    const grads = [
      [1, -2, 0.5, 3],
      [2, 1, 0.5, 0],
      [-1, 3, -0.5, 1],
    ];
    // Step 1: prev = 0, so s = 0 everywhere: stepSize 0.1, update -0.1 * sign(g).
    // Step 2: s = [2, -2, 0.25, 0] -> stepSize [0.12, 0.05, 0.12, 0.1]; g' = [2, 0, 0.5, 0]
    //         (the flip in element 1 moves nothing; g = 0 in element 3 moves nothing).
    // Step 3: prev = g' = [2, 0, 0.5, 0]; s = [-2, 0, -0.25, 0] -> stepSize [0.06, 0.05, 0.06, 0.1];
    //         g' = [0, 3, 0, 1]: element 1 moves by the halved step 0.05, unchanged since the flip.
    const expected = [
      [-0.1, 0.1, -0.1, -0.1],
      [-0.12, 0, -0.12, 0],
      [0, -0.05, 0, -0.1],
    ];
    const got = updatesFor(rprop(0.1), [0, 0, 0, 0], grads);
    for (let k = 0; k < 3; k++) expectAllClose(got[k], expected[k], 1e-6, 1e-9);
  });

  it('clamps the step sizes to [minStepSize, maxStepSize]', () => {
    // lr 0.1, maxStepSize 0.11: step 2 grows 0.1 * 1.2 = 0.12 -> 0.11, step 3 stays 0.11.
    // minStepSize 0.08: a flip halves 0.1 to 0.05 -> 0.08.
    const tx = rprop(0.1, { minStepSize: 0.08, maxStepSize: 0.11 });
    const got = updatesFor(tx, [0, 0], [[1, 1], [1, -1], [1, 1]]);
    // Element 1: step 2 flips (stepSize 0.08, no move), step 3 has prev = 0: moves by 0.08.
    expectAllClose(got.flat(), [-0.1, -0.1, -0.11, 0, -0.11, -0.08], 1e-6, 1e-9);
  });

  it('equals its documented chain, bit for bit', () => {
    expectEqualsChain(rprop(0.01), chain(scaleByRprop(0.01), scale(-1)));
    expectEqualsChain(rprop(0.01, { etaMinus: 0.3, etaPlus: 1.5 }), chain(scaleByRprop(0.01, { etaMinus: 0.3, etaPlus: 1.5 }), scale(-1)));
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(rprop(0.01), 100));

  it('rejects bad options with a RangeError naming the option', () => {
    expectRangeError(() => rprop(0), 'rprop', 'learningRate');
    expectRangeError(() => rprop(0.1, { etaMinus: 1 }), 'rprop', 'etaMinus');
    expectRangeError(() => rprop(0.1, { etaPlus: 1 }), 'rprop', 'etaPlus');
    expectRangeError(() => rprop(0.1, { minStepSize: 0 }), 'rprop', 'minStepSize');
    expectRangeError(() => rprop(0.1, { minStepSize: 1, maxStepSize: 0.5 }), 'rprop', 'maxStepSize');
    expectRangeError(() => scaleByRprop(0.1, { etaMinus: -0.5 }), 'scaleByRprop', 'etaMinus');
    const e = thrown(() => rprop((() => 0.1) as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain("'learningRate'");
  });

  it('converges on the parabola and on Rosenbrock with optax alias_test.py hyperparameters (lr 0.1)', () => {
    expectConverges(() => rprop(0.1));
  });
});
