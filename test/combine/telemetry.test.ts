// snapshot, monitor and measureWithEma against optax's own docstring examples, and the reading
// of measurements back from the device.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  applyIfFinite,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeReplaced,
  flatten,
  getMeasurement,
  getKernelMode,
  globalNorm,
  kernelPath,
  measureWithEma,
  monitor,
  sgd,
  setKernelMode,
  snapshot,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  treeDispose,
  treeLeaves,
  type EmptyState,
  type GradientTransformation,
  type Params,
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

  it('monitor holds NaN before the first update, in the shapes its measurements will have; a checkpoint round-trips', async () => {
    const tx = chain(monitor({ norm: globalNorm, sq: (u) => tf.square((u as { w: tf.Tensor }).w) }), sgd(0.1));
    let params: Params = { w: tf.ones([2]) };
    let state = tx.init(params);
    expect(getMeasurement(state, 'norm')).toBeNaN();
    expect(getMeasurement(state, 'sq')).toEqual([NaN, NaN]);
    ({ params, state } = trainStep(tx, params, state, { w: tf.tensor1d([3, 4]) }));
    expect(getMeasurement(state, 'norm')).toBeCloseTo(5, 6);
    const back = await stateFromArtifacts(tx, params, await stateToArtifacts(state));
    expect(getMeasurement(back, 'sq')).toEqual([9, 16]);
    treeDispose([params, state as never, back as never]);
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
    // The measure works when init shapes its placeholder, and throws at the update.
    let calls = 0;
    const tx = monitor({ ok: globalNorm, bad: () => { if (++calls > 1) throw new Error('boom'); return tf.scalar(0); } });
    const g = tf.tensor1d([1]);
    const state = tx.init(g);
    const before = tf.memory().numTensors;
    expect(() => tx.update(g, state)).toThrow('boom');
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([g, state as never]);
  });
});

describe('telemetry in a fused chain', () => {
  const make = () =>
    chain(
      monitor({ gradNorm: globalNorm, bigEma: measureWithEma((u) => tf.greater(globalNorm(u), 3), { decay: 0.5 }) }),
      clipByGlobalNorm(3),
      adamw(0.05, { weightDecay: 0.01 }),
    );
  // Norms of about 4.4 to 7.8, scaled down to below the clip's 3 every third step.
  const grads = (k: number) => {
    const f = k % 3 === 1 ? 0.2 : 1;
    return { a: tf.tensor2d([[f * (1 + k), -2 * f], [0.5 * f, f * (3 - k)]]), b: tf.tensor1d([f * k * 0.7, -f, 2 * f]) };
  };

  it('a monitor at the head keeps the chain fused, and fused equals composite (update and trainStep)', () => {
    if (getKernelMode() === 'auto') {
      expect(kernelPath(make())).not.toBe('composite');
      // A monitor after the clip sees clipped updates: the chain runs as its parts.
      expect(kernelPath(chain(clipByGlobalNorm(3), monitor({ n: globalNorm }), adamw(0.05)))).toBe('composite');
    }
    const before = tf.memory().numTensors;
    const runs = (['auto', 'composite'] as const).map((mode) => {
      setKernelMode(mode);
      try {
        const tx = make();
        let params: Params = { a: tf.zeros([2, 2]), b: tf.ones([3]) };
        let state = tx.init(params);
        const seen: number[][] = [];
        for (let k = 0; k < 6; k++) {
          const g = grads(k);
          if (k % 2 === 0) {
            ({ params, state } = trainStep(tx, params, state, g));
          } else {
            const [u, s]: [Params, typeof state] = tx.update(g, state, params);
            const p: Params = applyUpdates(params, u);
            disposeReplaced([params, state, u, g], [p, s]);
            params = p;
            state = s;
          }
          seen.push([getMeasurement(state, 'gradNorm') as number, getMeasurement(state, 'bigEma') as number]);
        }
        const values = treeLeaves(params).map((t) => Array.from(t.dataSync()));
        treeDispose([params, state as never]);
        return { seen, values };
      } finally {
        setKernelMode('auto');
      }
    });
    const [fused, composite] = runs;
    fused.seen.forEach((row, k) => {
      // The fused norm is the square root of a float64 sum; the composite one a float32 computation.
      expect(row[0]).toBeCloseTo(composite.seen[k][0], 5);
      expect(row[1]).toBe(composite.seen[k][1]);
    });
    fused.values.forEach((leaf, j) => leaf.forEach((x, i) => expect(x).toBeCloseTo(composite.values[j][i], 6)));
    // The clip did act on some steps (the norm above 3), and did not on others.
    expect(fused.seen.some((r) => r[0] > 3) && fused.seen.some((r) => r[0] < 3)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a failed fused step (a bad gradient shape) leaves the state and the monitor as they were', () => {
    const tx = make();
    const params: Params = { a: tf.zeros([2, 2]), b: tf.ones([3]) };
    const state = tx.init(params);
    const bad = { a: tf.zeros([2, 2]), b: tf.ones([4]) };
    const before = tf.memory().numTensors;
    expect(() => trainStep(tx, params, state, bad)).toThrow(/shape/);
    expect(() => tx.update(bad, state, params)).toThrow(/shape/);
    expect(tf.memory().numTensors).toBe(before);
    expect(getMeasurement(state, 'gradNorm')).toBeNaN();
    treeDispose([params, state as never, bad]);
  });
});

describe('telemetry: what a review found', () => {
  it('an identity measure copies: the next step does not free the caller\'s gradients', () => {
    const tx = chain(monitor({ g: (u) => u }), adamw(0.1));
    let params: Params = { w: tf.ones([2]) };
    let state = tx.init(params);
    const g1 = { w: tf.tensor1d([1, 2]) };
    const g2 = { w: tf.tensor1d([3, 4]) };
    ({ params, state } = trainStep(tx, params, state, g1, { keepGrads: true }));
    ({ params, state } = trainStep(tx, params, state, g2, { keepGrads: true }));
    expect(g1.w.isDisposed || g2.w.isDisposed).toBe(false);
    expect(getMeasurement(state, 'g')).toEqual([3, 4]);
    treeDispose([params, state as never, g1, g2]);
  });

  it('a bool measurement saves and loads (its placeholder has its dtype)', async () => {
    const tx = chain(monitor({ big: (u) => tf.greater(globalNorm(u), 1) }), clipByGlobalNorm(1), adamw(0.01));
    let params: Params = { w: tf.ones([2]) };
    let state = tx.init(params);
    expect(getMeasurement(state, 'big')).toBe(0);
    ({ params, state } = trainStep(tx, params, state, { w: tf.tensor1d([3, 4]) }));
    const back = await stateFromArtifacts(tx, params, await stateToArtifacts(state));
    expect(getMeasurement(back, 'big')).toBe(1);
    treeDispose([params, state as never, back as never]);
  });

  it('extra reaches a measure through the fused step of a wrapper', () => {
    const lossMeasure: GradientTransformation<EmptyState> = { init: () => ({}), update: (_u, s, _p, extra) => [tf.scalar(extra?.value as number ?? -1) as never, s] };
    const tx = applyIfFinite(chain(monitor({ loss: lossMeasure }), clipByGlobalNorm(1), adamw(0.01)), { maxConsecutiveErrors: 3 });
    let params: Params = { w: tf.ones([2]) };
    let state = tx.init(params);
    ({ params, state } = trainStep(tx, params, state, { w: tf.tensor1d([1, 2]) }, { extra: { value: 1.5 } }));
    expect(getMeasurement(state, 'loss')).toBe(1.5);
    treeDispose([params, state as never]);
  });

  it('flatten of a monitored chain measures the flat vector, as its composite path does', () => {
    const tx = flatten(chain(monitor({ m: (u) => tf.max(tf.abs(u as tf.Tensor)) }), adam(0.01)));
    let params: Params = { w: tf.ones([2]), b: tf.zeros([1]) };
    let state = tx.init(params);
    ({ params, state } = trainStep(tx, params, state, { w: tf.tensor1d([1, -4]), b: tf.tensor1d([2]) }));
    expect(getMeasurement(state, 'm')).toBe(4);
    treeDispose([params, state as never]);
  });

  it('measureWithEma averages tree measurements leaf by leaf, and its errors name it', () => {
    expect(() => measureWithEma(globalNorm, {} as never)).toThrow(/^measureWithEma: /);
    const tx = monitor({ both: measureWithEma((u) => ({ n: globalNorm(u), big: tf.greater(globalNorm(u), 1) }), { decay: 0.5, debias: false }) });
    const g = tf.tensor1d([3, 4]);
    const [, state] = tx.update(g, tx.init(g));
    expect(getMeasurement(state, 'both')).toEqual([0.5, 2.5]);
    treeDispose([g, state as never]);
  });
});
