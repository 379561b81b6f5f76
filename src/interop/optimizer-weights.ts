import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation } from '../types.js';
import { layoutOf } from '../internal/state.js';
import { disposeReplaced } from '../tree/memory.js';
import { checkManifest, upgradeManifest, StateFormatError, type SavedValues, type StateManifest } from './state-manifest.js';
import { restoreState } from './state-codec.js';
import type { SavedWeight } from './loaded-optimizer.js';
import type { NamedTree } from './named-variables.js';

// An OptaxOptimizer's state as tfjs weights (getWeights, setWeights, a model saved with its
// optimizer): the state's tensors named by their path, and one int32 weight holding the JSON
// manifest (see state-manifest.ts).

/** The weight that carries the state's manifest in `getWeights`, after the optimizer's name. */
export const MANIFEST_SUFFIX = '/tfjs-optax-manifest';

/** A state loaded by `setWeights`, kept as plain arrays until the variables are known. */
export interface PendingState {
  manifest: StateManifest;
  values: SavedValues[];
}

/**
 * Saved weights (from `setWeights`, or from a loaded model's optimizer) read back: the manifest
 * weight found and parsed, every tensor it lists checked against it, and the state kept as plain
 * arrays (`null` when none was saved) with the iteration count.
 */
export function readStateWeights(owner: string, weightValues: readonly SavedWeight[]): { loaded: PendingState | null; iterations: number } {
  const manifests = weightValues.filter((w) => w.name.endsWith(MANIFEST_SUFFIX));
  if (manifests.length !== 1) {
    throw new StateFormatError(
      `${owner}: expected exactly one '<name>${MANIFEST_SUFFIX}' weight (weights written by a tfjs-optax optimizer's getWeights), found ${manifests.length} among ` +
        `${weightValues.length} weights (${weightValues.slice(0, 4).map((w) => `'${w.name}'`).join(', ')}${weightValues.length > 4 ? ', ...' : ''})`,
    );
  }
  const prefix = manifests[0].name.slice(0, -MANIFEST_SUFFIX.length);
  const manifest = decodeManifest(owner, manifests[0].values);
  const byName = new Map(weightValues.map((w) => [w.name, w]));
  const values: SavedValues[] = [];
  for (const entry of manifest.tensors) {
    const t = byName.get(`${prefix}/${entry.name}`);
    if (t === undefined) throw new StateFormatError(`${owner}: the weight '${prefix}/${entry.name}' listed in the manifest is missing`);
    if (t.dtype !== entry.dtype || t.shape.length !== entry.shape.length || t.shape.some((d, i) => d !== entry.shape[i])) {
      throw new StateFormatError(
        `${owner}: the weight '${prefix}/${entry.name}' is ${t.dtype} [${t.shape.join(', ')}], the manifest says ${entry.dtype} [${entry.shape.join(', ')}]`,
      );
    }
    values.push(t.values);
  }
  const iterations = typeof manifest.iterations === 'number' ? manifest.iterations : 0;
  const loaded: PendingState | null = manifest.state === null && values.length === 0 ? null : { manifest, values };
  return { loaded, iterations };
}

/** The loaded state rebuilt for `tx` and these variables (or a `StateFormatError`, nothing made). */
export function restorePending(owner: string, tx: GradientTransformation<unknown>, pending: PendingState, params: NamedTree): unknown {
  const template = tx.init(params);
  try {
    return restoreState(owner, template, upgradeManifest(pending.manifest, tx), pending.values, { matchVariableNames: true, layout: layoutOf(tx), savedVersion: pending.manifest.formatVersion });
  } finally {
    disposeReplaced(template, params);
  }
}

/** The manifest as UTF-8 bytes, four to an int32 element, padded with spaces (JSON ignores them). */
export function encodeManifest(manifest: StateManifest): tf.Tensor {
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4).fill(0x20);
  padded.set(bytes);
  return tf.tensor1d(new Int32Array(padded.buffer), 'int32');
}

/** The manifest back from the int32 weight `encodeManifest` made, checked. */
function decodeManifest(owner: string, data: ArrayLike<number>): StateManifest {
  const words = Int32Array.from(data as ArrayLike<number>);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(new Uint8Array(words.buffer)));
  } catch (e) {
    throw new StateFormatError(`${owner}: the manifest weight does not hold valid JSON (${(e as Error).message})`);
  }
  return checkManifest(owner, parsed);
}
