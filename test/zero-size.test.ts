import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import {
  adabelief,
  adam,
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeReplaced,
  multiTransform,
  prodigy,
  rmsprop,
  scaleByBelief,
  scaleByFactoredRms,
  scheduleFreeAdamw,
  sgd,
  treeMap,
  type GradientTransformation,
  type Params,
} from '../src/index.js';
import { collectTensors } from '../src/tree/memory.js';
import { CASES as SCENARIOS, type ExtraKind } from './browser/scenarios.js';
import { expectBitwiseEqual, stateValues } from './helpers.js';
// The exports that are not a transformation or optimizer: one list, the property suite's.
import { extraFor, OTHER_EXPORTS } from './properties/registry.js';

// Every transformation, optimizer and wrapper on a tree holding empty leaves (shapes [0] and [0, 3])
// beside a scalar and a vector: the empty leaves keep their shapes, and the other leaves get
// exactly what they get in a tree without the empty ones. Runs on whichever backend and kernel
// path the suite runs on (scripts/test-paths.mjs reruns this file on cpu and composite).

type AnyTx = GradientTransformation<any>;

/** `tx` given the extra arguments `kind` asks for (a loss, a line search's), as the property suites make them. */
function withExtra(tx: AnyTx, kind: ExtraKind | undefined): AnyTx {
  if (kind === undefined) return tx;
  let step = 0;
  return {
    init: tx.init,
    update: (u, s, p) => {
      const { extra, dispose } = extraFor(kind, u, p as Params, step++);
      try {
        return tx.update(u, s, p, extra);
      } finally {
        dispose();
      }
    },
  };
}

/** Cases whose updates are zeros on some of the three steps (accumulating, skipping): those that name one of these. */
const SOME_ZEROS = new Set(['multiSteps', 'applyEvery', 'setToZero', 'adopt', 'scaleByAdopt', 'soap', 'scaleBySoap']);
const someZeros = (name: string) => name.split(/\W+/).some((word) => SOME_ZEROS.has(word));
/** Cases whose learning rate is 0 at some of the three steps (a warmup from 0, restarts): not every update is zeros. */
const RATE_ZERO_AT_TIMES = new Set(['scheduleFreeAdamw', 'chain(clipByGlobalNorm, adamw warmup cosine)', 'injectHyperparams(chain(clip, sgd))']);

/**
 * Cases whose state holds one scalar per leaf (NovoGrad's second moment), so an empty leaf has a
 * state entry with a value: those entries (`a`, `b` beside `c`, `d`) must be 0, and the rest of
 * the state must equal the state without empty leaves.
 */
const PER_LEAF_SCALARS = new Set(['scaleByNovograd', 'novograd']);

/** `value` without the empty leaves' entries; their values are pushed to `dropped`. */
function withoutEmptyEntries(value: unknown, dropped: number[]): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutEmptyEntries(v, dropped));
  if (value === null || typeof value !== 'object' || value instanceof tf.Tensor) return value;
  const obj = value as Record<string, unknown>;
  const leafKeys = 'a' in obj && 'b' in obj && 'c' in obj && 'd' in obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (leafKeys && (k === 'a' || k === 'b')) dropped.push(...stateValues(v));
    else out[k] = withoutEmptyEntries(v, dropped);
  }
  return out;
}

/**
 * The browser suite's cases (test/browser/scenarios.ts: every export, chains and nested wrappers),
 * made here with src, and configurations they do not have.
 */
const CASES: Array<[name: string, make: () => AnyTx]> = [
  ...SCENARIOS.map((c): [string, () => AnyTx] => [c.name, () => withExtra(c.make(api), c.extra)]),
  ['rmsprop centered momentum, bias corrected', () => rmsprop(0.01, { centered: true, momentum: 0.5, biasCorrection: true })],
  ['chain(clipByGlobalNorm, adamw)', () => chain(clipByGlobalNorm(1), adamw(0.01))],
  ['multiTransform(adam, sgd)', () => multiTransform({ big: adam(0.01), small: sgd(0.1) }, (p: Params) => treeMap((x) => (x.rank === 0 ? 'small' : 'big'), p) as never)],
  ['scaleByBelief without nesterov', () => scaleByBelief()],
  ['adabelief without weight decay', () => adabelief(0.01)],
  ['prodigy safeguardWarmup, masked decay', () => prodigy(0.5, { safeguardWarmup: true, weightDecay: 0.1, mask: (p: Params) => treeMap((x) => x.rank !== 0, p) as never })],
  ['scaleByFactoredRms unfactored', () => scaleByFactoredRms()],
  ['scheduleFreeAdamw without warmup', () => scheduleFreeAdamw(0.01, { weightDecay: 0.1 })],
];

/**
 * Step `k`'s tree: `c` a scalar and `d` a vector, varied in sign and size (large enough for
 * clip and clipByGlobalNorm to act), and with `empty`, leaves `a` of shape [0] and `b` of
 * shape [0, 3].
 */
function makeTree(k: number, empty: boolean): Params {
  const c = tf.scalar(3 * Math.cos(1 + k));
  const d = tf.tensor1d([-1 + 0.6 * k, 0.5 * Math.sin(2 + k)]);
  return empty ? { a: tf.zeros([0]), b: tf.zeros([0, 3]), c, d } : { c, d };
}

/**
 * A tree's or state's structure with the shapes of its tensors (numbers, such as counts, as `#`;
 * flags, such as DoG's `isInitStep`, as `?`).
 */
function shapes(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v instanceof tf.Tensor ? v.shape : typeof v === 'number' ? '#' : typeof v === 'boolean' ? '?' : v));
}

/**
 * Three steps of `make()` from the params `makeTree(-1, empty)`: every update's values, the final
 * state's values, and per step whether the update and the new state have the gradients' and
 * the initial state's shapes. Checks that each update creates only the tensors it returns and
 * that, with everything disposed, no tensor is left.
 */
function trajectory(make: () => AnyTx, empty: boolean, perLeafScalars = false) {
  const start = tf.memory().numTensors;
  const tx = make();
  let params = makeTree(-1, empty);
  let state = tx.init(params);
  const stateShapes = shapes(state);
  const updates: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const grads = makeTree(k, empty);
    const inputs = collectTensors([params, state, grads]);
    const before = tf.memory().numTensors;
    const [u, s] = tx.update(grads, state, params);
    const created = [...collectTensors([u, s])].filter((t) => !inputs.has(t)).length;
    expect(tf.memory().numTensors - before, `tensors created by update ${k}`).toBe(created);
    expect(shapes(u), `update ${k}`).toBe(shapes(grads));
    expect(shapes(s), `state after update ${k}`).toBe(stateShapes);
    updates.push(stateValues(u));
    const next = applyUpdates<Params>(params, u);
    disposeReplaced([params, state, grads, u], [next, s]);
    params = next;
    state = s;
  }
  const dropped: number[] = [];
  const finalState = stateValues(perLeafScalars ? withoutEmptyEntries(state, dropped) : state);
  expect(dropped.every((x) => x === 0), 'state entries of the empty leaves are 0').toBe(true);
  disposeReplaced([params, state], []);
  expect(tf.memory().numTensors, 'tensors left after disposing everything').toBe(start);
  return { updates, state: finalState };
}

describe('zero-size leaves', () => {
  it("the browser suite's cases cover every exported transformation, optimizer and wrapper", () => {
    const covered = new Set(SCENARIOS.map((c) => c.name.split(/[ (]/)[0]));
    const missing = Object.keys(api).filter((name) => !covered.has(name) && !OTHER_EXPORTS.has(name));
    expect(missing).toEqual([]);
  });

  it.each(CASES)('%s keeps their shapes, gives the other leaves what it gives them alone, and leaks nothing', (_name, make) => {
    const withEmpty = trajectory(make, true, PER_LEAF_SCALARS.has(_name.split(/[ (]/)[0]));
    const without = trajectory(make, false);
    withEmpty.updates.forEach((u, k) => {
      expect(u.length).toBe(3);
      if (!someZeros(_name) && !RATE_ZERO_AT_TIMES.has(_name)) expect(u.some((x) => x !== 0), `update ${k} is not all zeros`).toBe(true);
      expectBitwiseEqual(u, without.updates[k]);
    });
    if (RATE_ZERO_AT_TIMES.has(_name)) expect(withEmpty.updates.some((u) => u.some((x) => x !== 0)), 'some update is not all zeros').toBe(true);
    // zeroNans keeps one flag per leaf, empty leaves included: those come first (keys a, b).
    const state = _name === 'zeroNans' ? withEmpty.state.slice(2) : withEmpty.state;
    expectBitwiseEqual(state, without.state);
  });
});
