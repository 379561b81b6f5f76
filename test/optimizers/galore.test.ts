import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights, chain, galore, getHyperparam, kernelPath, scaleByAdam, scaleByGalore, scaleByLearningRate, stateFromArtifacts, stateToArtifacts, trainStep, treeDispose,
  type Params,
} from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, makeGrads, run, trainWithoutLeak } from '../helpers.js';
import { PARABOLA, ROSENBROCK, sideBySide } from './contrib-problems.js';

// galore, as optax 0.2.8's contrib: its docstring example, its common test's convergence (rank 8,
// learning rate 1e-2) on the parabola, Rosenbrock, the 2 x 2 matrix parabola and the mixed
// 1-D / 2-D target, and the alias's chain.

describe('galore', () => {
  it("reproduces optax's docstring: f = sum(w^2) from ones(100, 100) falls 9.98E+03, 9.96E+03, 9.94E+03, 9.92E+03, 9.90E+03", () => {
    const tx = galore(0.01, { rank: 16 });
    let params: Params = { w: tf.ones([100, 100]), b: tf.ones([100]) };
    let state = tx.init(params);
    const printed: string[] = [];
    for (let k = 0; k < 5; k++) {
      const p = params as { w: tf.Tensor; b: tf.Tensor };
      const grads = { w: tf.mul(2, p.w), b: tf.zerosLike(p.b) };
      ({ params, state } = trainStep(tx, params, state, grads));
      printed.push(flat((params as { w: tf.Tensor }).w).reduce((s, x) => s + x * x, 0).toExponential(2).toUpperCase().replace('E+', 'E+0'));
    }
    expect(printed).toEqual(['9.98E+03', '9.96E+03', '9.94E+03', '9.92E+03', '9.90E+03']);
    treeDispose([params, state]);
  });

  it("converges on optax's common-test targets at learning rate 1e-2, rank 8", () => {
    // The vectors are not projected (Adam on them); the 2 x 2 matrices are, at full rank 2, in the
    // basis of their first gradient's singular vectors (refreshed at step 200, 400, ...).
    // optax runs 30,000 steps; 3,000 reach every target to 3e-2.
    const both = sideBySide(PARABOLA, ROSENBROCK);
    const mat = [3, -2, 1, 4];
    const [mix1, mix2] = [[1, -1, 2], [1, 0, -1, 1]];
    const tx = galore(1e-2, { rank: 8 });
    let params: Params = { v: tf.tensor1d(both.x0), m: tf.zeros([2, 2]), mix: [tf.zeros([3]), tf.zeros([2, 2])] };
    let state = tx.init(params);
    const grad = (x: number[], target: number[]) => x.map((xi, i) => 2 * (xi - target[i]));
    for (let k = 0; k < 3000; k++) {
      const p = params as { v: tf.Tensor; m: tf.Tensor; mix: tf.Tensor[] };
      const grads = {
        v: tf.tensor1d(both.grad(flat(p.v))),
        m: tf.tensor2d(grad(flat(p.m), mat), [2, 2]),
        mix: [tf.tensor1d(grad(flat(p.mix[0]), mix1)), tf.tensor2d(grad(flat(p.mix[1]), mix2), [2, 2])],
      };
      ({ params, state } = trainStep(tx, params, state, grads));
    }
    const p = params as { v: tf.Tensor; m: tf.Tensor; mix: tf.Tensor[] };
    const [parabola, rosenbrock] = both.split(flat(p.v));
    expectAllClose(parabola, PARABOLA.target, 3e-2, 3e-2);
    expectAllClose(rosenbrock, ROSENBROCK.target, 3e-2, 3e-2);
    expectAllClose(flat(p.m), mat, 3e-2, 3e-2);
    expectAllClose(flat(p.mix), [...mix1, ...mix2], 3e-2, 3e-2);
    treeDispose([params, state]);
  });

  it('is its documented chain, bit for bit, and runs composite', () => {
    const o = { rank: 1, updateProjGap: 2 };
    const a = run(galore(0.05, { ...o, weightDecay: 0.01 }), 4);
    const b = run(chain(scaleByGalore(o), addDecayedWeights(0.01), scaleByLearningRate(0.05)), 4);
    expectBitwiseEqual(a.updates, b.updates);
    expect(kernelPath(galore(0.1))).toBe('composite');
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it("gives the leaves it does not project the base optimizer's update, bit for bit", () => {
    // The [2, 3] kernel is projected (from the right, rank 2); the bias and the scalar are not.
    const a = run(galore(0.1, { rank: 2, baseOptimizer: scaleByAdam({ b1: 0.5 }) }), 3);
    const b = run(chain(scaleByAdam({ b1: 0.5 }), scaleByLearningRate(0.1)), 3);
    // makeParams: layer.bias (3), layer.kernel (2 x 3), scale (1), in flatten order.
    for (let k = 0; k < 3; k++) {
      expectBitwiseEqual(a.updates[k].slice(0, 3), b.updates[k].slice(0, 3));
      expectBitwiseEqual(a.updates[k].slice(9), b.updates[k].slice(9));
      expect(a.updates[k].slice(3, 9)).not.toEqual(b.updates[k].slice(3, 9));
    }
    treeDispose([a.params, a.state, b.params, b.state]);
  });

  it('resumes from a checkpoint bit for bit (the projectors, [0, 0] for the leaves not projected, and the base state)', () => {
    const tx = galore(0.05, { rank: 1, updateProjGap: 3 });
    const a = run(tx, 2);
    const restored = stateFromArtifacts(tx, a.params, stateToArtifacts(a.state));
    expectBitwiseEqual(restored, a.state);
    const grads = makeGrads(2);
    const [u1, s1] = tx.update(grads, a.state, a.params);
    const [u2, s2] = tx.update(grads, restored, a.params);
    expectBitwiseEqual(u1, u2);
    treeDispose([a.params, a.state, restored, grads, u1, s1, u2, s2]);
  });

  it('keeps learningRate = schedule(k) in the state', () => {
    const schedule = (k: number) => 0.1 / (1 + k);
    const r = run(galore(schedule, { rank: 1 }), 3);
    expect(getHyperparam(r.state, 'learningRate')).toBe(schedule(3));
    treeDispose([r.params, r.state]);
  });

  it('leaks nothing over 100 trainSteps (projectors refreshed every 3)', () => {
    trainWithoutLeak(galore(0.01, { rank: 1, updateProjGap: 3, weightDecay: 0.01 }), 100);
  });

  it('takes its options from scaleByGalore and the decay, refusing others', () => {
    expect(() => galore(0.1, { beta: 1 } as never)).toThrow(/galore: unknown option 'beta'/);
    expect(() => galore(0.1, { weightDecay: -1 })).toThrow(/galore: option 'weightDecay'/);
  });
});
