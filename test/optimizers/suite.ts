import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  disposeReplaced,
  getHyperparam,
  trainStep,
  treeDispose,
  type GradientTransformation,
  type Params,
  type ScalarOrSchedule,
} from '../../src/index.js';
import { collectTensors } from '../../src/tree/memory.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  gradValues32,
  makeGrads,
  makeParams,
  minimize,
  PARABOLA_TARGET,
  parabolaGrad,
  PARAM_VALUES,
  rosenbrockGrad,
  run,
  thrown,
} from '../helpers.js';
import type { Stepper } from '../reference.js';

// What every optimizer configuration with a float64 reference is checked for, by each file in
// this folder for its own optimizers: it equals its documented chain bit for bit, follows the
// reference, leaks nothing, keeps its learning rate (a schedule's value) in the state, refuses
// bad options, and reaches the minimum of optax's alias_test.py problems.

type AnyTx = GradientTransformation<any>;

/** A problem to minimise: the learning rate for the case's `make`, or the optimizer itself, and the steps. */
export type Problem = number | { lr?: number; make?: () => AnyTx; steps?: number };

export interface OptimizerCase {
  name: string;
  /** The optimizer at learning rate `lr`. */
  make: (lr: ScalarOrSchedule) => AnyTx;
  /** The chain it is documented to be. */
  chain: (lr: number) => AnyTx;
  /** A float64 reference stepper. */
  reference: (lr: number) => Stepper;
  /** Absolute tolerance of the comparison with the reference (default 1e-8; relative 5e-5). */
  atol?: number;
  /**
   * optax's alias_test.py problems, where the case is run on them (learning rates as optax's
   * tests use them where it has them): a parabola from [-1, 10, 1] to [1, -1, 1] and Rosenbrock
   * from [0, 0] to [1, 1] (10,000 steps by default), and x^T A x + b^T x from [2, -1] (3,000 steps).
   */
  converge?: { parabola?: Problem; rosenbrock?: Problem; quadratic?: Problem };
  /** Options `alias(0.01, { [option]: value })` must refuse with a RangeError naming the option. */
  bad?: { alias: (lr: number, options: Record<string, unknown>) => unknown; options: Array<[string, unknown]> };
}

// A = [[2, .5], [.5, 1]], b = [1, -.5]: grad = 2 A x + b, optimum = -A^{-1} b / 2 = [-5/14, 3/7].
const quadraticGrad = ([x, y]: number[]) => [2 * (2 * x + 0.5 * y) + 1, 2 * (0.5 * x + y) - 0.5];

/** The optimizer and step count of a problem. */
function setup(c: OptimizerCase, problem: Problem, steps: number): [AnyTx, number] {
  if (typeof problem === 'number') return [c.make(problem), steps];
  return [problem.make ? problem.make() : c.make(problem.lr!), problem.steps ?? steps];
}

/** The shared checks, in a describe block named after the case. */
export function describeOptimizer(c: OptimizerCase): void {
  describe(c.name, () => {
    it('equals its documented chain, bit for bit, over 5 steps', () => {
      const a = run(c.make(0.01), 5);
      const b = run(c.chain(0.01), 5);
      for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
      expectBitwiseEqual(a.state, b.state);
      expect(JSON.stringify(a.state, (_k, v) => (v instanceof tf.Tensor ? v.shape : v))).toBe(
        JSON.stringify(b.state, (_k, v) => (v instanceof tf.Tensor ? v.shape : v)),
      );
      disposeReplaced([a.params, a.state, b.params, b.state], []);
    });

    it('matches the float64 formula for three steps on a 3-leaf tree', () => {
      const lr = 0.01;
      const { updates, params, state } = run(c.make(lr), 3);
      const ref = c.reference(lr);
      let p = PARAM_VALUES.slice();
      for (let k = 0; k < 3; k++) {
        expectAllClose(updates[k], ref(gradValues32(k), p), 5e-5, c.atol ?? 1e-8);
        p = p.map((x, i) => x + updates[k][i]);
      }
      disposeReplaced([params, state], []);
    });

    it('leaks nothing: update creates only what it returns, 100 steps leave numTensors unchanged', () => {
      const baseline = tf.memory().numTensors;
      const tx = c.make(0.01);
      let params: Params = makeParams();
      let state = tx.init(params);
      // One raw update: the only new tensors are the ones in the returned updates and state.
      const grads = makeGrads(0);
      const inputs = collectTensors([params, state, grads]);
      const before = tf.memory().numTensors;
      const [u, s] = tx.update(grads, state, params);
      const created = [...collectTensors([u, s])].filter((t) => !inputs.has(t)).length;
      expect(tf.memory().numTensors - before).toBe(created);
      disposeReplaced([u, s, grads], [params, state]);
      // 100 managed steps.
      const start = tf.memory().numTensors;
      for (let k = 0; k < 100; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
      expect(tf.memory().numTensors).toBe(start);
      // The inputs of a raw update are never disposed.
      const g = makeGrads(1);
      const [u2, s2] = tx.update(g, state, params);
      for (const t of collectTensors([g, params, state])) expect(t.isDisposed).toBe(false);
      disposeReplaced([u2, s2, g], [params, state]);
      // Freeing the params and the state frees everything.
      treeDispose([params, state]);
      expect(tf.memory().numTensors).toBe(baseline);
    });

    it('keeps learningRate = schedule(k) in the state after k updates', () => {
      const schedule = (k: number) => 0.1 / (k + 1);
      // Through trainStep, after every step.
      const tx = c.make(schedule);
      let params: Params = makeParams();
      let state = tx.init(params);
      expect(getHyperparam(state, 'learningRate')).toBe(schedule(0));
      for (let k = 0; k < 3; k++) {
        ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
        expect(getHyperparam(state, 'learningRate')).toBe(schedule(k + 1));
      }
      disposeReplaced([params, state], []);
      // Through update.
      const r = run(c.make(schedule), 3);
      expect(getHyperparam(r.state, 'learningRate')).toBe(schedule(3));
      treeDispose([r.params, r.state]);
    });

    if (c.bad !== undefined) {
      const { alias } = c.bad;
      it.each(c.bad.options)('rejects %s = %s with a RangeError naming the option', (option, value) => {
        const error = thrown(() => alias(0.01, { [option]: value }));
        expect(error).toBeInstanceOf(RangeError);
        expect(error.message).toContain(`'${option}'`);
        expect(error.message).toContain(c.name.split(/[ ,]/)[0]);
      });
    }

    const { parabola, rosenbrock, quadratic } = c.converge ?? {};
    if (parabola !== undefined) {
      it('converges on a parabola', () => {
        const [tx, steps] = setup(c, parabola, 10_000);
        expectAllClose(minimize(tx, [-1, 10, 1], parabolaGrad, steps), PARABOLA_TARGET, 3e-2, 3e-2);
      });
    }
    if (rosenbrock !== undefined) {
      it('converges on Rosenbrock', () => {
        const [tx, steps] = setup(c, rosenbrock, 10_000);
        expectAllClose(minimize(tx, [0, 0], rosenbrockGrad, steps), [1, 1], 3e-2, 3e-2);
      });
    }
    if (quadratic !== undefined) {
      it('approaches the optimum -A^{-1} b / 2 of x^T A x + b^T x', () => {
        const [tx, steps] = setup(c, quadratic, 3000);
        expectAllClose(minimize(tx, [2, -1], quadraticGrad, steps), [-5 / 14, 3 / 7], 0, 1e-2);
      });
    }
  });
}
