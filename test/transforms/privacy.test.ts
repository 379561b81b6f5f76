import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { addNoise, differentiallyPrivateAggregate, disposeReplaced, treeDispose, treeLeaves, treeMap, type Params } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, flat, thrown } from '../helpers.js';

// differentiallyPrivateAggregate, with optax 0.2.8's _privacy_test.py cases: 8 examples whose
// gradients are full of the example's index (0 included, so no norm divides by zero), over a
// tree of a [2, 3, 4], a scalar and a [6, 7] parameter.

const BATCH = 8;
const shapes = { keyA: [[2, 3, 4], []] as number[][], keyB: [6, 7] };
const makeParams = (): Params => ({ keyA: [tf.zeros(shapes.keyA[0]), tf.zeros(shapes.keyA[1])], keyB: tf.zeros(shapes.keyB) });
/** Example i's gradient is full of i: leaves [8, ...shape]. */
const perExample = (params: Params): Params =>
  treeMap((p) => tf.tidy(() => tf.mul(tf.reshape(tf.range(0, BATCH), [BATCH, ...p.shape.map(() => 1)]), tf.ones([BATCH, ...p.shape]))), params) as Params;
const F32_MAX = 3.4028234663852886e38;

/** Three updates of `tx` on the per-example gradients, each checked by `check`. */
function threeSteps(tx: ReturnType<typeof differentiallyPrivateAggregate>, check: (u: Params) => void, withParams = true): void {
  const params = makeParams();
  const grads = perExample(params);
  let state = tx.init(params);
  for (let k = 0; k < 3; k++) {
    const [u, next] = tx.update(grads, state, withParams ? params : undefined);
    check(u);
    treeDispose(u);
    state = next;
  }
  expect(state.count).toBe(3);
  treeDispose([params, grads]);
}

describe('differentiallyPrivateAggregate', () => {
  it('is the mean of the per-example gradients without clipping or noise (l2NormClip = float32 max, optax\'s test)', () => {
    threeSteps(differentiallyPrivateAggregate({ l2NormClip: F32_MAX, noiseMultiplier: 0 }), (u) => {
      for (const leaf of treeLeaves(u)) expect(Array.from(leaf.dataSync())).toEqual(new Array(leaf.size).fill(3.5));
    }, false);
  });

  it.each([0.5, 10, 20, 40, 80])('clips each example to its global norm (l2NormClip = %s, optax\'s values)', (c) => {
    // Example i has global norm i * sqrt(24 + 1 + 42); clipped to c, its values are i / max(norm / c, 1).
    const clipped = Array.from({ length: BATCH }, (_, i) => i / Math.max((i * Math.sqrt(67)) / c, 1));
    const expected = clipped.reduce((s, x) => s + x, 0) / BATCH;
    threeSteps(differentiallyPrivateAggregate({ l2NormClip: c, noiseMultiplier: 0, seed: 42 }), (u) => {
      expectAllClose(flat(u), new Array(24 + 1 + 42).fill(expected), 2e-7 * 4, 0);
    });
  });

  it('is optax\'s per_example_global_norm_clip docstring, averaged: rows [0,0,0], [0,3,4], [4,0,3], [3,4,0]', () => {
    for (const [c, sum] of [[F32_MAX, 7], [0, 0], [1.25, 1.75]]) {
      const g = tf.tensor2d([[0, 0, 0], [0, 3, 4], [4, 0, 3], [3, 4, 0]]);
      const tx = differentiallyPrivateAggregate({ l2NormClip: c, noiseMultiplier: 0 });
      const [u, s] = tx.update(g, tx.init(tf.zeros([3])));
      expectAllClose(flat(u), [sum / 4, sum / 4, sum / 4], 1e-7, 0);
      treeDispose([g, u, s]);
    }
  });

  it.each([[3, 2], [1, 5], [100, 4], [1, 90]])('adds noise of standard deviation l2NormClip * noiseMultiplier (%s, %s: optax\'s values, to a tenth)', (c, m) => {
    const tx = differentiallyPrivateAggregate({ l2NormClip: c, noiseMultiplier: m, seed: 1337 });
    const grads = [tf.ones([1, 100, 100])];
    let state = tx.init([tf.zeros([100, 100])]);
    for (let k = 0; k < 3; k++) {
      const [u, next] = tx.update(grads, state);
      const values = flat(u);
      const mean = values.reduce((s, x) => s + x, 0) / values.length;
      const std = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length);
      expect(Math.abs(std - c * m)).toBeLessThan(0.1 * c * m);
      treeDispose(u);
      state = next;
    }
    treeDispose(grads);
  });

  it('draws its noise exactly as addNoise does: one example, no clipping, equals addNoise({ eta: s^2, gamma: 0, seed }) bit for bit', () => {
    const seed = 7;
    const dp = differentiallyPrivateAggregate({ l2NormClip: 2 ** 100, noiseMultiplier: 6 * 2 ** -100, seed });
    const noise = addNoise({ eta: 36, gamma: 0, seed });
    const leaves = [[0.5, -1, 2], [], [3, 4]];
    const perEx = leaves.map((v) => tf.tensor2d([v], [1, v.length]));
    const flatGrads = leaves.map((v) => tf.tensor1d(v));
    let [sd, sn] = [dp.init(flatGrads), noise.init(flatGrads)];
    for (let k = 0; k < 3; k++) {
      const [ud, nd] = dp.update(perEx, sd);
      const [un, nn] = noise.update(flatGrads, sn);
      expectBitwiseEqual(flat(ud), flat(un));
      expect(flat(ud)).not.toEqual(leaves.flat());
      disposeReplaced([ud, un], [perEx, flatGrads]);
      [sd, sn] = [nd, nn];
    }
    treeDispose([perEx, flatGrads]);
  });

  it('is reproducible from its seed, and another seed draws other noise', () => {
    const updates = (seed: number) => {
      const tx = differentiallyPrivateAggregate({ l2NormClip: 1, noiseMultiplier: 1, seed });
      const params = makeParams();
      const grads = perExample(params);
      const [u, s] = tx.update(grads, tx.init(params), params);
      const out = flat(u);
      treeDispose([params, grads, u, s]);
      return out;
    };
    expect(updates(3)).toEqual(updates(3));
    expect(updates(3)).not.toEqual(updates(4));
  });

  it('refuses aggregated gradients, naming what it expects (optax\'s test), and changes nothing', () => {
    const tx = differentiallyPrivateAggregate({ l2NormClip: 0.1, noiseMultiplier: 1.1, seed: 2021 });
    const params = makeParams();
    const state = tx.init(params);
    const before = tf.memory().numTensors;
    // The params themselves stand for mean gradients: shape [2, 3, 4] where [8, 2, 3, 4] is expected.
    const withParams = thrown(() => tx.update(params, state, params));
    expect(withParams.message).toMatch(/differentiallyPrivateAggregate: expects per-example gradients, stacked on axis 0/);
    expect(withParams.message).toContain('updates.keyA[0] has shape [2, 3, 4] but params.keyA[0] has shape [2, 3, 4]');
    // Without params, optax's check: the scalar leaf has no axis 0.
    expect(thrown(() => tx.update(params, state)).message).toMatch(/expects per-example gradients.*leaf 0 of the updates has shape \[2, 3, 4\]|leaf 1 of the updates has shape \[\]/);
    const empty = [tf.zeros([0, 3])];
    expect(thrown(() => tx.update(empty, tx.init([tf.zeros([3])]))).message).toMatch(/hold no examples/);
    expect(tf.memory().numTensors - before).toBe(2);
    expect(state.count).toBe(0);
    treeDispose([params, empty]);
  });

  it('leaks nothing over 100 steps, and leaves without elements get empty updates', () => {
    const tx = differentiallyPrivateAggregate({ l2NormClip: 1, noiseMultiplier: 0.5 });
    let params: Params = { w: tf.zeros([3, 2]), none: tf.zeros([0]) };
    let state = tx.init(params);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 100; k++) {
      const grads = { w: tf.randomNormal([4, 3, 2], 0, 1, 'float32', k), none: tf.zeros([4, 0]) };
      const [u, next]: [Params, { count: number }] = tx.update(grads, state, params);
      const p = treeMap((x, d) => tf.add(x, d), params, u) as Params;
      treeDispose([grads, u, params]);
      [params, state] = [p, next];
    }
    expect(tf.memory().numTensors).toBe(before);
    expect((params as { none: tf.Tensor }).none.shape).toEqual([0]);
    treeDispose(params);
  });

  it.each([
    ['l2NormClip', -1, RangeError], ['l2NormClip', Infinity, RangeError], ['noiseMultiplier', NaN, RangeError],
    ['seed', 1.5, RangeError], ['seed', 2 ** 32, RangeError], ['seed', '1', TypeError],
  ] as const)('rejects %s = %s, naming the option', (option, value, kind) => {
    const error = thrown(() => differentiallyPrivateAggregate({ l2NormClip: 1, noiseMultiplier: 1, [option]: value }));
    expect(error).toBeInstanceOf(kind);
    expect(error.message).toContain(`differentiallyPrivateAggregate: option '${option}'`);
  });

  it('requires l2NormClip and noiseMultiplier, as optax', () => {
    expect(thrown(() => differentiallyPrivateAggregate({ l2NormClip: 1 } as never)).message).toMatch(/noiseMultiplier/);
    expect(thrown(() => differentiallyPrivateAggregate({ noiseMultiplier: 1 } as never)).message).toMatch(/l2NormClip/);
  });
});
