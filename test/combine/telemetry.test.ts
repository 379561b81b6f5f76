// snapshot, monitor and measureWithEma against optax's own docstring examples, and the reading
// of measurements back from the device.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeReplaced,
  getMeasurement,
  globalNorm,
  measureWithEma,
  monitor,
  sgd,
  snapshot,
  treeDispose,
  type GradientTransformation,
} from '../../src/index.js';

/** Two steps of `solver` on f(x) = sum(x^2) from [1, 2, 3]; `read` runs after each. */
function run<S>(solver: GradientTransformation<S>, read: (state: S) => void): void {
  let params = tf.tensor1d([1, 2, 3]);
  let state = solver.init(params);
  for (let step = 0; step < 2; step++) {
    const grads = tf.mul(params, 2);
    const [updates, next] = solver.update(grads, state, params);
    const nextParams = applyUpdates(params, updates);
    disposeReplaced([params, state, updates, grads], [nextParams, next]);
    params = nextParams as tf.Tensor1D;
    state = next;
    read(state);
  }
  treeDispose([params, state as never]);
}

describe('telemetry', () => {
  it("snapshot: optax's example (the norm before the clip: 7.48e-1, then 1.41)", () => {
    const before = tf.memory().numTensors;
    const norms: number[] = [];
    run(chain(sgd(0.1, { momentum: 0.9 }), snapshot('normBeforeClip', globalNorm), clipByGlobalNorm(0.05)), (s) =>
      norms.push(getMeasurement(s, 'normBeforeClip') as number),
    );
    expect(norms[0]).toBeCloseTo(0.748331, 5); // 0.1 * |[2, 4, 6]|
    expect(norms[1].toExponential(2)).toBe('1.41e+0');
    expect(tf.memory().numTensors).toBe(before);
  });

  it("monitor with measureWithEma: optax's example (0.748 and 0; 1.27 and 0.526)", () => {
    const before = tf.memory().numTensors;
    const seen: number[][] = [];
    const solver = chain(
      sgd(0.1, { momentum: 0.9 }),
      monitor({ normBeforeClip: globalNorm, isClippedEma: measureWithEma((u) => tf.greater(globalNorm(u), 1), { decay: 0.9 }) }),
      clipByGlobalNorm(1),
    );
    run(solver, (s) => seen.push([getMeasurement(s, 'normBeforeClip') as number, getMeasurement(s, 'isClippedEma') as number]));
    expect(seen[0][0]).toBeCloseTo(0.748331, 5);
    expect(seen[0][1]).toBe(0);
    expect(seen[1][0].toExponential(2)).toBe('1.27e+0');
    // The debiased average of [0, 1] with decay 0.9: 0.1 / (1 - 0.81).
    expect(seen[1][1]).toBeCloseTo(0.1 / 0.19, 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('monitor records nothing before the first update, and getMeasurement says so', () => {
    const tx = monitor({ norm: globalNorm });
    const state = tx.init({ w: tf.ones([2]) });
    expect(state.measurements).toEqual({});
    expect(() => getMeasurement(state, 'norm')).toThrow("getMeasurement: no measurement 'norm' here; it holds no measurements");
  });

  it('reads tensors of several elements and trees as arrays, flattened in tree order', () => {
    const tx = monitor({ sq: (u) => tf.square(u as tf.Tensor), both: (u) => ({ b: tf.neg(u as tf.Tensor), a: tf.abs(u as tf.Tensor) }) });
    const g = tf.tensor1d([-1, 2]);
    const [, state] = tx.update(g, tx.init(g));
    expect(getMeasurement(state, 'sq')).toEqual([1, 4]);
    expect(getMeasurement(state, 'both')).toEqual([1, 2, 1, -2]);
    treeDispose([state as never, g]);
  });

  it('a dotted path picks one measurement when two monitors share a name', () => {
    const tx = chain(monitor({ norm: globalNorm }), sgd(1), monitor({ norm: globalNorm }));
    const g = tf.tensor1d([3, 4]);
    const p = tf.zeros([2]);
    const [u, state] = tx.update(g, tx.init(p), p);
    expect(() => getMeasurement(state, 'norm')).toThrow("'norm' is at more than one place: 0.measurements.norm, 2.measurements.norm");
    expect(getMeasurement(state, '0.norm')).toBeCloseTo(5, 6);
    expect(getMeasurement(state, '2.norm')).toBeCloseTo(5, 6);
    treeDispose([state as never, g, p, u]);
  });

  it('bad arguments: clear errors naming what was expected', () => {
    expect(() => snapshot('a.b', globalNorm)).toThrow("snapshot: a measurement's name must be a non-empty string without dots, got a string (\"a.b\")");
    expect(() => snapshot('n', 3 as never)).toThrow('snapshot: measure must be a function of the updates, got a number (3)');
    expect(() => monitor({ n: 3 as never })).toThrow("monitor: expected a measure (a function of the updates) or a gradient transformation for 'n'");
    expect(() => measureWithEma(globalNorm, { decay: 0.9, debais: true } as never)).toThrow(/debais/);
    expect(() => measureWithEma(globalNorm, { decay: 1.5 })).toThrow(/decay/);
  });

  it('a measure that throws leaves nothing behind', () => {
    const tx = monitor({ ok: globalNorm, bad: () => { throw new Error('boom'); } });
    const g = tf.tensor1d([1]);
    const state = tx.init(g);
    const before = tf.memory().numTensors;
    expect(() => tx.update(g, state)).toThrow('boom');
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([g, state as never]);
  });
});
