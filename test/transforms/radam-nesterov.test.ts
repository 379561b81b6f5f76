import { describe, expect, it } from 'vitest';
import { chain, kernelPath, radam, scaleByLearningRate, scaleByRadam } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, inMode, thrown, trainWithoutLeak, vectorSteps } from '../helpers.js';

// RAdam's `nesterov` (optax's scale_by_radam(nesterov=True)): the debiased first moment is
// NAdam's look-ahead b1 mu / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t), in the plain momentum
// steps and in the rectified ones alike. Still one element step, so radam stays fused.

/** optax's scale_by_radam followed by -lr, written out in float64. */
function radamReference(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-8, threshold = 5, nesterov = false } = {}) {
  let mu: number[] | null = null;
  let nu: number[] | null = null;
  let t = 0;
  const rhoInf = 2 / (1 - b2) - 1;
  return (g: number[]): number[] => {
    t += 1;
    mu = g.map((x, i) => (1 - b1) * x + b1 * (mu ? mu[i] : 0));
    nu = g.map((x, i) => (1 - b2) * x * x + b2 * (nu ? nu[i] : 0));
    const rho = rhoInf - (2 * t * b2 ** t) / (1 - b2 ** t);
    return g.map((x, i) => {
      const muHat = nesterov ? (b1 * mu![i]) / (1 - b1 ** (t + 1)) + ((1 - b1) * x) / (1 - b1 ** t) : mu![i] / (1 - b1 ** t);
      if (rho < threshold) return -lr * muHat;
      const r = Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
      return (-lr * r * muHat) / (Math.sqrt(nu![i] / (1 - b2 ** t)) + eps);
    });
  };
}

/** Updates of `tx` from zero params, one per gradient, and the final state's numbers. */
const stepsOf = (tx: Parameters<typeof vectorSteps>[0], grads: number[][]) => vectorSteps(tx, grads[0].map(() => 0), grads);

const GRADS = [
  [1, -2, 0.5],
  [0.8, -1, 0.25],
  [-0.3, 0.5, 2],
  [1.5, 0.1, -1],
  [0.2, -0.4, 0.7],
  [-1, 2, 0.3],
  [0.6, 0.6, -0.6],
];

describe('radam nesterov', () => {
  it('debiases the momentum with the look-ahead: first step by hand', () => {
    // t = 1, mu = 0.1 g: muHat = 0.9 (0.1 g) / (1 - 0.81) + 0.1 g / (1 - 0.9) = (0.47368421 + 1) g,
    // a momentum step (rho_1 = 1 < 5): u = -0.1 * 1.47368421 * [1, -2].
    const [u] = stepsOf(radam(0.1, { nesterov: true }), [[1, -2]]).updates;
    expectAllClose(u, [-0.147368421, 0.294736842], 1e-6);
    // Without it, muHat = g: u = [-0.1, 0.2].
    expectAllClose(stepsOf(radam(0.1), [[1, -2]]).updates[0], [-0.1, 0.2], 1e-6);
  });

  it("follows optax's formulas through the momentum steps and the rectified ones", () => {
    // b2 = 0.9, threshold 4: rho_t = 19 - 2t 0.9^t / (1 - 0.9^t) is 1, 1.95, 2.86, 3.74, then
    // 4.58 >= 4 at t = 5: steps 1-4 are momentum steps, 5-7 rectified.
    const o = { b1: 0.8, b2: 0.9, threshold: 4 };
    for (const nesterov of [true, false]) {
      const ref = radamReference(0.1, { ...o, nesterov });
      const want = GRADS.map((g) => ref(g));
      const got = stepsOf(radam(0.1, { ...o, nesterov }), GRADS).updates;
      got.forEach((u, k) => expectAllClose(u, want[k], 2e-6, 1e-8));
    }
    // The two forms differ on every step.
    const plain = stepsOf(radam(0.1, o), GRADS).updates;
    const look = stepsOf(radam(0.1, { ...o, nesterov: true }), GRADS).updates;
    plain.forEach((u, k) => expect(u, `step ${k + 1}`).not.toEqual(look[k]));
  });

  it('keeps the same state as without it (only the update changes)', () => {
    expectBitwiseEqual(stepsOf(scaleByRadam({ nesterov: true }), GRADS).state, stepsOf(scaleByRadam(), GRADS).state);
  });

  it('equals its chain and runs fused: the kernel equals the composite path to the bit', () => {
    const o = { b1: 0.8, b2: 0.9, threshold: 4, nesterov: true, epsRoot: 1e-6 };
    const make = () => radam(0.05, o);
    expect(inMode('auto', () => kernelPath(make()))).not.toBe('composite');
    const fused = inMode('auto', () => stepsOf(make(), GRADS));
    const composite = inMode('composite', () => stepsOf(make(), GRADS));
    expectBitwiseEqual(fused.updates, composite.updates);
    expectBitwiseEqual(fused.state, composite.state);
    expectBitwiseEqual(fused.updates, stepsOf(chain(scaleByRadam(o), scaleByLearningRate(0.05)), GRADS).updates);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(radam(0.01, { nesterov: true }), 100);
  });

  it('rejects a nesterov that is not a boolean, naming it', () => {
    const e = thrown(() => radam(0.1, { nesterov: 1 as never }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe("radam: option 'nesterov' must be true or false, got 1");
    const u = thrown(() => scaleByRadam({ nestrov: true } as never));
    expect(u).toBeInstanceOf(TypeError);
    expect(u.message).toBe("scaleByRadam: unknown option 'nestrov' (known options: b1, b2, eps, epsRoot, threshold, nesterov)");
  });
});
