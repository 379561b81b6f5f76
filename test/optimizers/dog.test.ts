import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  applyUpdates,
  chain,
  disposeReplaced,
  dog,
  injectHyperparams,
  kernelPath,
  scaleByDog,
  scaleByLearningRate,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  treeDispose,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, gradValues32, makeGrads, makeParams, PARAM_VALUES, run, thrown, trainWithoutLeak } from '../helpers.js';
import { minimizeAll, PARABOLA, ROSENBROCK } from './contrib-problems.js';

// dog and scaleByDog, as optax 0.2.8's contrib: its docstring example, and its common
// convergence test (at learning rate 1).

type InitStep = ['distance' | 'learningRate' | 'heuristic', number];
const sumSq = (v: number[]) => v.reduce((a, x) => a + x * x, 0);

/**
 * Float64 DoG (Ivgi et al. 2023) as optax writes it: g += wd p; r = max(r, ||x - x0||) (r starts
 * at r_eps: the value, 0 for 'learningRate', value (1 + ||x0||) for 'heuristic');
 * G += ||g||^2; eta = r / sqrt(G + eps) ('learningRate': its value on the first step);
 * the update is -lr eta g.
 */
function dogRef(lr = 1, { initStep = ['heuristic', 1e-6] as InitStep, eps = 1e-8, wd = 0 } = {}) {
  let x0: number[] | null = null;
  let r = 0;
  let sum = 0;
  return (g0: number[], p: number[]): number[] => {
    const first = x0 === null;
    if (x0 === null) {
      x0 = p.slice();
      const [tag, value] = initStep;
      r = tag === 'distance' ? value : tag === 'heuristic' ? value * (1 + Math.sqrt(sumSq(p))) : 0;
    }
    const g = g0.map((x, i) => x + wd * p[i]);
    r = Math.max(r, Math.sqrt(sumSq(p.map((x, i) => x - x0![i]))));
    sum += sumSq(g);
    const eta = first && initStep[0] === 'learningRate' ? initStep[1] : r / Math.sqrt(sum + eps);
    return g.map((x) => -lr * eta * x);
  };
}

/** Checks `steps` updates of `tx` on the test tree against the float64 stepper `ref`. */
function expectFollows(tx: Parameters<typeof run>[0], ref: (g: number[], p: number[]) => number[], steps: number, rtol: number): void {
  const { updates, params, state } = run(tx, steps);
  let p = PARAM_VALUES.slice();
  for (let k = 0; k < steps; k++) {
    expectAllClose(updates[k], ref(gradValues32(k), p), rtol, 1e-12);
    p = p.map((x, i) => x + updates[k][i]);
  }
  treeDispose([params, state]);
}

describe('dog', () => {
  it('gives the objective values of optax\'s docstring example (five steps on sum(x^2) from [1, 2, 3])', () => {
    // optax prints "Objective function:  13.99..." after each of the five steps: the first steps
    // are tiny (r_eps = 1e-6 (1 + sqrt(14))) and the distance grows from there.
    const tx = dog();
    let params = { x: tf.tensor1d([1, 2, 3]) };
    let state = tx.init(params);
    const ref = dogRef();
    let p = [1, 2, 3];
    for (let k = 0; k < 5; k++) {
      const grads = { x: tf.mul(2, params.x) };
      const [u, next] = tx.update(grads, state, params);
      const nextParams = applyUpdates(params, u);
      disposeReplaced([params, state, grads, u], [nextParams, next]);
      [params, state] = [nextParams, next];
      const step = ref(p.map((x) => 2 * x), p);
      p = p.map((x, i) => x + step[i]);
      const f = sumSq(Array.from(params.x.dataSync()));
      expect(f.toFixed(6).slice(0, 5)).toBe('13.99');
      expect(Math.abs(f - sumSq(p))).toBeLessThan(2e-6);
    }
    treeDispose([params, state]);
  });

  it.each([
    ['heuristic (the default)', {}, {}],
    ['distance', { initStep: ['distance', 0.1] as InitStep }, { initStep: ['distance', 0.1] as InitStep }],
    ['learningRate, eps, weight decay', { initStep: ['learningRate', 0.05] as InitStep, eps: 1e-3, weightDecay: 0.1 }, { initStep: ['learningRate', 0.05] as InitStep, eps: 1e-3, wd: 0.1 }],
  ])('matches the float64 formula for five steps (%s)', (_name, options, refOptions) => {
    expectFollows(dog(0.5, options), dogRef(0.5, refOptions), 5, 1e-5);
  });

  it('takes the first steps by hand', () => {
    // Step 1 from x0: ||x - x0|| = 0, so eta = r_eps / sqrt(||g1||^2 + eps).
    const g1 = gradValues32(0);
    const rEps = 1e-6 * (1 + Math.sqrt(sumSq(PARAM_VALUES)));
    const a = run(dog(), 1);
    expectAllClose(a.updates[0], g1.map((g) => (-rEps * g) / Math.sqrt(sumSq(g1) + 1e-8)), 1e-5, 0);
    // With ['learningRate', eta0], step 1 is plain SGD at eta0; step 2 has travelled eta0 ||g1||.
    const b = run(scaleByDog({ initStep: ['learningRate', 0.05] }), 2);
    expectAllClose(b.updates[0], g1.map((g) => 0.05 * g), 1e-6, 0);
    const g2 = gradValues32(1);
    const eta2 = (0.05 * Math.sqrt(sumSq(g1))) / Math.sqrt(sumSq(g1) + sumSq(g2) + 1e-8);
    expectAllClose(b.updates[1], g2.map((g) => eta2 * g), 1e-5, 0);
    expect(b.state.isInitStep).toBe(false);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('is its documented chain, and runs composite (the norms are over the whole tree)', () => {
    const a = run(dog(0.5, { weightDecay: 0.01 }), 3);
    const b = run(chain(addDecayedWeights(0.01), scaleByDog({ initStep: ['heuristic', 1e-6] }), scaleByLearningRate(0.5)), 3);
    expectBitwiseEqual(a.updates, b.updates);
    expect(kernelPath(dog())).toBe('composite');
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('equals itself under injectHyperparams, bit for bit (optax\'s common test, at its learning rate)', () => {
    const a = run(injectHyperparams(dog)({ learningRate: 1, initStep: ['distance', 0.01] }), 3);
    const b = run(dog(1, { initStep: ['distance', 0.01] }), 3);
    expectBitwiseEqual(a.updates, b.updates);
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('leaks nothing over 100 trainSteps', () => {
    trainWithoutLeak(dog(1, { weightDecay: 0.01 }), 100);
  });

  it('counts no distance for leaves without elements (tf.sum of none is not 0 on wasm)', () => {
    // The params do not move (learning rate 0), so the distance must stay exactly 0.
    const tx = dog(0, { initStep: ['learningRate', 0.01] });
    let params: Params = { a: tf.zeros([0]), b: tf.zeros([0, 3]), c: tf.tensor1d([1, -2]) };
    let state = tx.init(params);
    for (let k = 0; k < 3; k++) {
      const grads = { a: tf.zeros([0]), b: tf.zeros([0, 3]), c: tf.tensor1d([0.5, k]) };
      ({ params, state } = trainStep(tx, params, state, grads));
      expect((state[0] as { maxDist: tf.Scalar }).maxDist.dataSync()[0]).toBe(0);
    }
    treeDispose([params, state]);
  });

  it('resumes from a checkpoint bit for bit (the flag and the scalar tensors of its state)', () => {
    const tx = dog(1, { initStep: ['learningRate', 0.01] });
    const a = run(tx, 2);
    const restored = stateFromArtifacts(tx, a.params, stateToArtifacts(a.state));
    expectBitwiseEqual(restored, a.state);
    expect((restored[0] as { isInitStep: boolean }).isInitStep).toBe(false);
    const grads = makeGrads(2);
    const [u1, s1] = tx.update(grads, a.state, a.params);
    const [u2, s2] = tx.update(grads, restored, a.params);
    expectBitwiseEqual(u1, u2);
    treeDispose([a.params, a.state, restored, grads, u1, s1, u2, s2]);
  });

  it('needs params', () => {
    const tx = dog();
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, state)).message).toMatch(/dog: .*needs the current parameters/);
    treeDispose([params, state, grads]);
  });

  it.each([
    ['initStep', ['heuristic', 0]],
    ['initStep', ['distance', -1]],
    ['initStep', ['learningRate', NaN]],
    ['initStep', ['learning_rate', 0.1]],
    ['eps', -1e-8],
    ['weightDecay', -1],
  ] as Array<[string, unknown]>)('rejects %s = %j with a RangeError naming the option', (option, value) => {
    const error = thrown(() => dog(1, { [option]: value }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(`dog: option '${option}'`);
  });

  it('rejects a malformed initStep, a mask without weightDecay and unknown options, naming them', () => {
    expect(thrown(() => dog(1, { initStep: 'heuristic' as never }))).toBeInstanceOf(TypeError);
    expect(thrown(() => dog(1, { initStep: ['learning_rate', 0.1] as never })).message).toContain("'learning_rate' is 'learningRate' here");
    expect(thrown(() => scaleByDog({} as never)).message).toMatch(/scaleByDog: option 'initStep' is required/);
    expect(thrown(() => scaleByDog({ initStep: [1e-6, 'heuristic'] as never })).message).toMatch(/scaleByDog: option 'initStep' must be a pair/);
    expect(thrown(() => dog(1, { mask: { x: true } })).message).toMatch(/dog: option 'mask' needs 'weightDecay'/);
    expect(thrown(() => dog(1, { init_step: ['heuristic', 1e-6] } as never)).message).toMatch(/dog: unknown option 'init_step'/);
  });

  it('converges on the parabola and on Rosenbrock at optax\'s learning rate 1', () => {
    // optax runs 30,000 steps; the float64 formula is within 3e-2 from step 120 (parabola) and
    // 5,102 (Rosenbrock). The norms are global, so each problem runs on its own.
    const [parabola] = minimizeAll(dog(1), [PARABOLA], 300);
    expectAllClose(parabola, PARABOLA.target, 3e-2, 3e-2);
    const [rosenbrock] = minimizeAll(dog(1), [ROSENBROCK], 5500);
    expectAllClose(rosenbrock, ROSENBROCK.target, 3e-2, 3e-2);
  });
});
