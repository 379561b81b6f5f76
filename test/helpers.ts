import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import type { ExtraArgs, GradientTransformation, Params } from '../src/index.js';
import type { Stepper } from './reference.js';
import { applyUpdates, disposeReplaced, getKernelMode, setKernelMode, trainStep, treeDispose, treeLeaves } from '../src/index.js';

/** The flat float64 copy of every element of a tree's leaves, in flatten order. */
export function flat(tree: unknown): number[] {
  return treeLeaves(tree as Params).flatMap((t) => Array.from(t.dataSync()));
}

/** Asserts two number arrays agree elementwise to `rtol * |expected| + atol`. */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-7): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      expect(a, `element ${i}`).toBeNaN();
      continue;
    }
    const tol = rtol * Math.abs(e) + atol;
    if (!(Math.abs(a - e) <= tol)) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tolerance ${tol.toExponential(2)})`);
    }
  }
}

/**
 * Every number in a tree, an optimizer state or a flat array, in a fixed order: tensor
 * elements (objects by sorted key) and JS numbers (step counts) alike.
 */
export function stateValues(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (value instanceof tf.Tensor) return Array.from(value.dataSync());
  if (Array.isArray(value)) return value.flatMap(stateValues);
  if (value !== null && typeof value === 'object') {
    return Object.keys(value).sort().flatMap((k) => stateValues((value as Record<string, unknown>)[k]));
  }
  return [];
}

/**
 * Asserts that two trees, states or arrays hold identical values: float32 elements bit for bit
 * (-0 is not 0; every NaN equals every NaN, as reads canonicalise them), int32 elements exactly,
 * packed state words above 2^24 included (they are compared as the integers they are, never
 * through float32).
 */
export function expectBitwiseEqual(a: unknown, b: unknown): void {
  const va = stateValues(a);
  const vb = stateValues(b);
  expect(va.length).toBe(vb.length);
  for (let i = 0; i < va.length; i++) if (!Object.is(va[i], vb[i])) throw new Error(`element ${i} differs: ${va[i]} vs ${vb[i]}`);
}

/**
 * The test tree: two leaves of different shapes and a scalar leaf, nested. Flatten order is
 * layer.bias (3), layer.kernel (2x3), scale (scalar): 10 elements.
 */
export function makeParams(): { layer: { kernel: tf.Tensor2D; bias: tf.Tensor1D }; scale: tf.Scalar } {
  return {
    layer: {
      kernel: tf.tensor2d([
        [0.5, -1.0, 2.0],
        [1.5, 0.25, -0.75],
      ]),
      bias: tf.tensor1d([0.1, -0.2, 0.3]),
    },
    scale: tf.scalar(1.5),
  };
}

/** Deterministic gradient values for step `k` (flatten order), varied in sign and magnitude. */
export function gradValues(k: number, n = 10): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(1 + i + 0.7 * k) * ((i % 3) + 1));
}

/** Gradients for step `k` shaped like {@link makeParams}, rounded to float32. */
export function makeGrads(k: number): ReturnType<typeof makeParams> {
  const v = gradValues(k);
  return {
    layer: { bias: tf.tensor1d(v.slice(0, 3)), kernel: tf.tensor2d(v.slice(3, 9), [2, 3]) },
    scale: tf.scalar(v[9]),
  };
}

/** The float32-rounded gradient values that {@link makeGrads} holds. */
export function gradValues32(k: number): number[] {
  return Array.from(Float32Array.from(gradValues(k)));
}

/** The parameter values of {@link makeParams} in flatten order, float32-rounded. */
export const PARAM_VALUES = Array.from(Float32Array.from([0.1, -0.2, 0.3, 0.5, -1.0, 2.0, 1.5, 0.25, -0.75, 1.5]));

/**
 * Runs `steps` optimizer steps with gradients from `gradsAt` (or the parameter-dependent
 * `gradsOf`), returning the final params and state and all updates (as flat arrays).
 */
export function run<S>(
  tx: GradientTransformation<S>,
  steps: number,
  gradsAt: (k: number, params: Params) => Params = (k) => makeGrads(k),
  params: Params = makeParams(),
): { params: Params; state: S; updates: number[][] } {
  let state = tx.init(params);
  const updates: number[][] = [];
  for (let k = 0; k < steps; k++) {
    const grads = gradsAt(k, params);
    const [u, next]: [Params, S] = tx.update(grads, state, params);
    updates.push(flat(u));
    params = applyUpdates<Params>(params, u);
    state = next;
  }
  return { params, state, updates };
}

/** Counts the tensors alive after running `fn` minus before. */
export function tensorDelta(fn: () => void): number {
  const before = tf.memory().numTensors;
  fn();
  return tf.memory().numTensors - before;
}

/** Runs `fn`, which must throw; checks that no tensor was left behind and returns the error. */
export function failsCleanly(fn: () => unknown): Error {
  const before = tf.memory().numTensors;
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Error);
  expect(tf.memory().numTensors).toBe(before);
  return error as Error;
}

/** The tensors of a tree or state, in flatten order (objects by sorted key). */
export function tensorsOf(state: unknown): tf.Tensor[] {
  if (state instanceof tf.Tensor) return [state];
  if (Array.isArray(state)) return state.flatMap(tensorsOf);
  if (state !== null && typeof state === 'object') return Object.keys(state).sort().flatMap((k) => tensorsOf((state as Record<string, unknown>)[k]));
  return [];
}

/** Runs `fn` and checks that it leaves no tensor behind. */
export function noLeak(fn: () => void): void {
  const before = tf.memory().numTensors;
  fn();
  expect(tf.memory().numTensors).toBe(before);
}

/** The error `fn` throws (fails the test if it throws none). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/**
 * `n` steps of `tx` (`update`, then `applyUpdates`) from `params`, freeing as it goes: the
 * updates of every step as flat arrays, and the final state and params (the caller frees them).
 */
export function updateSteps<S>(
  tx: GradientTransformation<S>,
  n: number,
  params: Params = makeParams(),
  gradsAt: (k: number) => Params = makeGrads,
): { updates: number[][]; state: S; params: Params } {
  let state = tx.init(params);
  const updates: number[][] = [];
  for (let k = 0; k < n; k++) {
    const grads = gradsAt(k);
    const [u, next]: [Params, S] = tx.update(grads, state, params);
    updates.push(flat(u));
    const nextParams: Params = applyUpdates<Params>(params, u);
    // The new state may hold the update itself (a trace last in a chain returns its new trace).
    disposeReplaced([grads, u, params, state], [nextParams, next]);
    params = nextParams;
    state = next;
  }
  return { updates, state, params };
}

/**
 * `n` steps of `tx` from `params` and `state`, alternating `trainStep` (in place where it can)
 * and `update` + `applyUpdates` (new tensors), with the gradients `gradsAt(params, k)`: the
 * final params and state (the caller frees them; the given ones are used up).
 */
export function alternateSteps<S>(tx: GradientTransformation<S>, params: Params, state: S, n: number, gradsAt: (params: Params, k: number) => Params): { params: Params; state: S } {
  for (let k = 0; k < n; k++) {
    const grads = gradsAt(params, k);
    if (k % 2 === 0) ({ params, state } = trainStep(tx, params, state, grads));
    else {
      const [u, next]: [Params, S] = tx.update(grads, state, params);
      const newParams: Params = applyUpdates(params, u);
      disposeReplaced([params, state, u, grads] as never, [newParams, next] as never);
      params = newParams;
      state = next;
    }
  }
  return { params, state };
}

/** `n` trainSteps of `tx` from the test params, checking that the tensor count stays the same. */
export function trainWithoutLeak(tx: GradientTransformation<any>, n: number): void {
  noLeak(() => {
    let params: Params = makeParams();
    let state = tx.init(params);
    const before = tf.memory().numTensors;
    for (let k = 0; k < n; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([params, state]);
  });
}

/**
 * `steps` trainSteps of `tx` from the params `{ x: x0 }`, with gradients computed in float64 from
 * the current params by `grad` (and, with `value`, the loss passed as `extra.value`): the final
 * params as a flat array (everything else is freed).
 */
export function minimize(
  tx: GradientTransformation<any>,
  x0: number[],
  grad: (x: number[]) => number[],
  steps = 10_000,
  value?: (x: number[]) => number,
): number[] {
  let params: Params = { x: tf.tensor1d(x0) };
  let state = tx.init(params);
  for (let k = 0; k < steps; k++) {
    const x: number[] = Array.from((params as { x: tf.Tensor }).x.dataSync());
    const extra = value ? { value: value(x) } : undefined;
    ({ params, state } = trainStep(tx, params, state, { x: tf.tensor1d(grad(x)) }, { extra }));
  }
  const result = flat(params);
  treeDispose([params, state]);
  return result;
}

// optax's alias_test.py problems: a parabola from [-1, 10, 1] to [1, -1, 1], and Rosenbrock
// (a = 1, b = 100) from [0, 0] to [1, 1]; 10,000 steps, rtol = atol = 3e-2.
export const PARABOLA_TARGET = [1, -1, 1];
export const parabola = (x: number[]) => x.reduce((acc, xi, i) => acc + (xi - PARABOLA_TARGET[i]) ** 2, 0);
export const parabolaGrad = (x: number[]) => x.map((xi, i) => 2 * (xi - PARABOLA_TARGET[i]));
export const rosenbrock = ([x, y]: number[]) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
export const rosenbrockGrad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];

/** `make()` reaches the minimum of both of optax's problems (`withValue`: given the loss as `extra.value`). */
export function expectConverges(make: () => GradientTransformation<any>, withValue = false): void {
  expectAllClose(minimize(make(), [-1, 10, 1], parabolaGrad, 10_000, withValue ? parabola : undefined), PARABOLA_TARGET, 3e-2, 3e-2);
  expectAllClose(minimize(make(), [0, 0], rosenbrockGrad, 10_000, withValue ? rosenbrock : undefined), [1, 1], 3e-2, 3e-2);
}

/** Runs one update of `tx` (fresh state from `params`) and returns the flat updates; frees everything. */
export function oneStep(tx: GradientTransformation<any>, grads: Params, params: Params = grads): number[] {
  const state = tx.init(params);
  const [u, next] = tx.update(grads, state, params);
  const out = flat(u);
  disposeReplaced([u, next, state], [params, grads]);
  return out;
}

/** The flat updates of one update of `tx` (fresh state) on the vector `{ x: params }` with gradients `grads`. */
export function stepOnce(tx: GradientTransformation<any>, grads: number[], params = [0.5, -0.25, 2]): number[] {
  return oneStep(tx, { x: tf.tensor1d(grads) }, { x: tf.tensor1d(params) });
}

/**
 * Runs `tx` on one vector parameter from `x0` with the given gradients (one array per step, and
 * `extra(k)` as the extra arguments of step k), returning each step's update as a flat array.
 */
export function updatesFor(tx: GradientTransformation<any>, x0: number[], grads: number[][], extra?: (k: number) => ExtraArgs): number[][] {
  let params: Params = tf.tensor1d(x0);
  let state = tx.init(params);
  const out: number[][] = [];
  grads.forEach((g, k) => {
    const gt = tf.tensor1d(g);
    const [u, s] = tx.update(gt, state, params, extra?.(k));
    out.push(flat(u));
    const next = tf.add(params as tf.Tensor, u as tf.Tensor);
    disposeReplaced([params, state, u, gt], [next, s]);
    params = next;
    state = s;
  });
  disposeReplaced([params, state], []);
  return out;
}

/** The alias and its documented chain give bit-identical updates and states over 5 steps. */
export function expectEqualsChain(alias: GradientTransformation<any>, chained: GradientTransformation<any>): void {
  const a = run(alias, 5);
  const b = run(chained, 5);
  for (let k = 0; k < 5; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
  expectBitwiseEqual(a.state, b.state);
  disposeReplaced([a.params, a.state, b.params, b.state], []);
}

/** One test per case: making it throws a RangeError whose message matches `message`. */
export function itThrowsRangeError(cases: Array<[string, () => unknown, RegExp]>, title = '%s: RangeError'): void {
  it.each(cases)(title, (_name, make, message) => {
    const error = thrown(make);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(message);
  });
}

/** `fn` throws a RangeError naming `owner` and `option`. */
export function expectRangeError(fn: () => unknown, owner: string, option: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(RangeError);
  expect(e.message).toContain(`${owner}:`);
  expect(e.message).toContain(`'${option}'`);
}

/** Runs `fn` with the kernel mode set to `mode`, then restores the mode it found. */
export function inMode<T>(mode: 'auto' | 'composite', fn: () => T): T {
  const previous = getKernelMode();
  setKernelMode(mode);
  try {
    return fn();
  } finally {
    setKernelMode(previous);
  }
}

/** An identity transformation that records the `extra` argument of each update it sees. */
export function extraSpy(): { spy: GradientTransformation<Record<string, never>>; seen: unknown[] } {
  const seen: unknown[] = [];
  const spy: GradientTransformation<Record<string, never>> = {
    init: () => ({}),
    update: (u, s, _p, extra) => {
      seen.push(extra);
      return [u, s];
    },
  };
  return { spy, seen };
}

/** Runs `tx` for `steps` steps on the test tree and compares each update with `ref`'s. */
export function expectSteps(tx: GradientTransformation<any>, ref: Stepper, steps: number, rtol = 2e-5): void {
  const { updates, state, params } = run(tx, steps);
  let p = PARAM_VALUES.slice();
  for (let k = 0; k < steps; k++) {
    expectAllClose(updates[k], ref(gradValues32(k), p), rtol, 1e-9);
    p = p.map((x, i) => x + updates[k][i]);
  }
  disposeReplaced([state, params], []);
}

/** The updates of `gs.length` updates of `tx` on `{ w: p }` with the gradients `gs` (params fixed). */
export function updatesAt(tx: GradientTransformation<any>, p: number[], gs: number[][]): number[][] {
  const params = { w: tf.tensor1d(p) };
  let state = tx.init(params);
  const out: number[][] = [];
  for (const g of gs) {
    const grads = { w: tf.tensor1d(g) };
    const [u, next] = tx.update(grads, state, params);
    out.push(flat(u));
    disposeReplaced([grads, u, state], [params, next]);
    state = next;
  }
  disposeReplaced([params, state], []);
  return out;
}

/**
 * One update of `tx` per gradient on a single vector leaf starting at `x0` (`update`, then
 * `applyUpdates`): each update as a flat array, and the final state's numbers (`stateValues`).
 * Everything made on the way is freed.
 */
export function vectorSteps(tx: GradientTransformation<any>, x0: number[], grads: number[][]): { updates: number[][]; state: number[] } {
  let params: Params = tf.tensor1d(x0);
  let state: unknown = tx.init(params);
  const updates: number[][] = [];
  for (const g of grads) {
    const gt = tf.tensor1d(g);
    const [u, next]: [Params, unknown] = tx.update(gt, state, params);
    updates.push(flat(u));
    const p: Params = applyUpdates<Params>(params, u);
    disposeReplaced([gt, u, params, state], [p, next]);
    params = p;
    state = next;
  }
  const values = stateValues(state);
  disposeReplaced([params, state], []);
  return { updates, state: values };
}
