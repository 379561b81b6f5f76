import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { applyUpdates, disposeReplaced, stateFromArtifacts, stateToArtifacts, treeDispose, treeMap, type GradientTransformation, type Params } from '../../src/index.js';
import { expectBitwiseEqual, flat, makeGrads, makeParams, stateValues } from '../helpers.js';

// Checks shared by soap.test.ts and psgd-kron.test.ts: checkpoints and failed steps.

type AnyTx = GradientTransformation<any>;

/** `steps` updates from (params, state), returning the flat updates and the final trees. */
function steps(tx: AnyTx, params: Params, state: unknown, from: number, n: number) {
  const updates: number[][] = [];
  for (let k = from; k < from + n; k++) {
    const grads = makeGrads(k);
    const [u, next] = tx.update(grads, state, params);
    updates.push(flat(u));
    const newParams = applyUpdates(params, u);
    disposeReplaced([params, state, grads, u], [newParams, next]);
    params = newParams;
    state = next;
  }
  return { updates, params, state };
}

/**
 * After `before` steps, the state saved to artifacts and loaded into a fresh transformation
 * continues exactly as the original: the same updates, bit for bit, for `after` steps.
 */
export function expectCheckpointRoundTrip(make: () => AnyTx, before: number, after: number): void {
  const tx = make();
  const p0 = makeParams();
  const a = steps(tx, p0, tx.init(p0), 0, before);
  const artifacts = stateToArtifacts(a.state, { params: a.params });
  const fresh = make();
  const loaded = stateFromArtifacts(fresh, a.params, artifacts);
  expectBitwiseEqual(loaded, a.state);
  const params2 = treeMap((x) => tf.clone(x), a.params) as Params;
  const b = steps(fresh, params2, loaded, before, after);
  const c = steps(tx, a.params, a.state, before, after);
  expect(b.updates).toEqual(c.updates);
  treeDispose([b.params, b.state, c.params, c.state]);
}

/**
 * An update given a state whose factor at `path` has the wrong shape throws (naming the path),
 * creates no tensor and leaves the state's values as they were.
 */
export function expectBadFactorChangesNothing(make: () => AnyTx, corrupt: (state: any) => any, message: RegExp): void {
  const tx = make();
  const p0 = makeParams();
  const { params, state } = steps(tx, p0, tx.init(p0), 0, 2);
  const bad = corrupt(state);
  const before = stateValues(state);
  const count = tf.memory().numTensors;
  const grads = makeGrads(2);
  const counted = tf.memory().numTensors;
  expect(() => tx.update(grads, bad, params)).toThrow(message);
  expect(tf.memory().numTensors).toBe(counted);
  expect(stateValues(state)).toEqual(before);
  treeDispose([grads]);
  expect(tf.memory().numTensors).toBe(count);
  treeDispose([params, state, bad]);
}
