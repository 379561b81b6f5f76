import * as tf from '@tensorflow/tfjs-core';
import { describeHeader, recordedPackedHeader } from '../internal/packed-headers.js';
import { packedHeader, packedWords, readPackedHeader } from '../internal/state-dtype.js';
import { VERSION } from '../version.js';
import type { StateLayout } from '../internal/state.js';
import { describeNode, enterContainer, formatPath, isPlainObject, isTensor, sortedKeys, type TreePath } from '../tree/walk.js';
import {
  decodeNumber,
  encodeNumber,
  isTag,
  SAVED_DTYPE_BYTES,
  STATE_FORMAT,
  STATE_FORMAT_VERSION,
  StateFormatError,
  tensorRef,
  type ManifestTensor,
  type SavedDtype,
  type SavedValues,
  type StateManifest,
} from './state-manifest.js';
import { describeParams } from './saved-params.js';
import { checkStateValues } from './state-value-checks.js';

// A state turned into its manifest and tensors (encodeState), and rebuilt from them
// (restoreState). The format itself is described in state-manifest.ts.

/**
 * The manifest of `state` and its tensors in manifest order. Throws a `StateFormatError` naming
 * the path for anything a state must not hold (functions, class instances, disposed tensors,
 * dtypes other than float32, int32 and bool).
 */
export function encodeState(owner: string, state: unknown, params?: unknown): { manifest: StateManifest; tensors: tf.Tensor[] } {
  const tensors: tf.Tensor[] = [];
  const entries: ManifestTensor[] = [];
  // The containers above the one visited: a cycle or a runaway nesting is an error, not a stack overflow.
  const ancestors: object[] = [];
  const visit = (node: unknown, path: Array<string | number>): unknown => {
    if (isTensor(node)) {
      if (node.isDisposed) throw new StateFormatError(`${owner}: ${formatPath(path, 'state')} is a disposed tensor`);
      if (!(node.dtype in SAVED_DTYPE_BYTES)) {
        throw new StateFormatError(`${owner}: ${formatPath(path, 'state')} has dtype ${node.dtype}; only float32, int32 and bool tensors can be saved`);
      }
      entries.push({ name: formatPath(path), path: [...path], dtype: node.dtype as SavedDtype, shape: [...node.shape] });
      tensors.push(node);
      return { $tensor: tensors.length - 1 };
    }
    if (typeof node === 'number') return encodeNumber(node);
    if (node === undefined) return { $undefined: true };
    if (node === null || typeof node === 'boolean' || typeof node === 'string') return node;
    if (Array.isArray(node)) {
      enterContainer(ancestors, node, path, 'state', owner);
      const out = node.map((child, k) => visit(child, [...path, k]));
      ancestors.pop();
      return out;
    }
    if (isPlainObject(node)) {
      if (isTag(node)) {
        throw new StateFormatError(`${owner}: ${formatPath(path, 'state')} is an object whose only key is '${Object.keys(node)[0]}', which the state format reserves`);
      }
      enterContainer(ancestors, node, path, 'state', owner);
      const out: Record<string, unknown> = {};
      for (const key of sortedKeys(node)) out[key] = visit(node[key], [...path, key]);
      ancestors.pop();
      return out;
    }
    throw new StateFormatError(
      `${owner}: ${formatPath(path, 'state')} is ${describeNode(node)}; a state holds only tensors, numbers, booleans, strings, null, arrays and plain objects`,
    );
  };
  const skeleton = visit(state, []);
  const manifest: StateManifest = {
    format: STATE_FORMAT,
    formatVersion: STATE_FORMAT_VERSION,
    generatedBy: `tfjs-optax ${VERSION}`,
    state: skeleton,
    tensors: entries,
  };
  if (params !== undefined) manifest.params = describeParams(owner, params);
  return { manifest, tensors };
}

/** Options of {@link restoreState}. */
export interface RestoreOptions {
  /**
   * Lets an object key of the state match a saved key that differs only by tfjs's uniquifying
   * `_<n>` suffix (`dense_Dense1/kernel_1` for `dense_Dense1/kernel`): variable names of a model
   * loaded twice in one process. Saved keys the state does not have are then ignored (state of
   * variables not in use).
   */
  matchVariableNames?: boolean;
  /**
   * The layout the transformation declares for its state (`layoutOf(tx)`): the values it
   * describes are checked before any tensor is made (see {@link checkStateValues}).
   */
  layout?: StateLayout | null;
  /**
   * The format version the checkpoint was written with: in version 4, element 0 of a packed
   * moment is its value count alone, which loading turns into the header the template's leaf has
   * (the format comes from the transformation: version 4 did not record it).
   */
  savedVersion?: number;
}

const SUFFIX = /_\d+$/;

/**
 * Rebuilds a state from its manifest and tensor values, shaped by `template` (what `tx.init`
 * gives for the current parameters): every array, object key, tensor dtype and shape of the
 * template must be in the checkpoint. The whole checkpoint is checked before any tensor is
 * made, so an error (a `StateFormatError` naming the path, what was expected and what the
 * checkpoint has) creates nothing. The template is not disposed.
 */
export function restoreState(
  owner: string,
  template: unknown,
  manifest: StateManifest,
  loadedValues: readonly SavedValues[],
  { matchVariableNames = false, layout = null, savedVersion = STATE_FORMAT_VERSION }: RestoreOptions = {},
): unknown {
  // Version-4 packed leaves get their header here (copies; the loaded arrays are not changed).
  const values = loadedValues.slice();
  const renames = new Map<object, Map<string, string>>();
  const fail = (path: TreePath, expected: string, got: string): never => {
    throw new StateFormatError(
      `${owner}: the checkpoint does not fit this state at ${formatPath(path, 'state')}: expected ${expected}, the checkpoint has ${got}`,
    );
  };
  const describeSaved = (node: unknown): string => {
    const ref = tensorRef(node);
    if (ref !== undefined) {
      const t = manifest.tensors[ref];
      return t ? `a ${t.dtype} tensor of shape [${t.shape.join(', ')}]` : `a reference to tensor ${ref}, which the manifest lacks`;
    }
    const x = decodeNumber(node);
    if (x !== undefined) return `the number ${x}`;
    if (isPlainObject(node) && Object.keys(node).length === 1 && node.$undefined === true) return 'undefined';
    return describeNode(node);
  };
  const keyMap = (tKeys: string[], saved: Record<string, unknown>, path: TreePath): Map<string, string> | null => {
    const sKeys = sortedKeys(saved);
    if (tKeys.length === sKeys.length && tKeys.every((k, i) => k === sKeys[i])) return null;
    const map = new Map<string, string>();
    const used = new Set<string>();
    const exact = new Set(tKeys);
    const missing: string[] = [];
    for (const k of tKeys) {
      let match: string | undefined = k in saved ? k : undefined;
      if (match === undefined && matchVariableNames) {
        const base = k.replace(SUFFIX, '');
        const candidates = sKeys.filter((s) => !exact.has(s) && !used.has(s) && s.replace(SUFFIX, '') === base);
        if (candidates.length === 1) match = candidates[0];
      }
      if (match === undefined) missing.push(k);
      else {
        map.set(k, match);
        used.add(match);
      }
    }
    const extra = sKeys.filter((s) => !used.has(s));
    // Saved entries of other variables are ignored when matching variable names (the variables
    // in use can be a subset); a checkpoint must otherwise hold exactly the state's keys.
    if (missing.length > 0 || (extra.length > 0 && !matchVariableNames)) {
      fail(
        path,
        `keys {${tKeys.join(', ')}}`,
        `{${sKeys.join(', ')}}: ` +
          [missing.length ? `no ${missing.map((k) => `'${k}'`).join(', ')}` : '', extra.length ? `unexpected ${extra.map((k) => `'${k}'`).join(', ')}` : '']
            .filter(Boolean)
            .join('; ') +
          ' (state for other parameters, or of another optimizer)',
      );
    }
    return map;
  };
  const check = (t: unknown, s: unknown, path: Array<string | number>): void => {
    if (isTensor(t)) {
      const ref = tensorRef(s);
      const entry = ref === undefined ? undefined : manifest.tensors[ref];
      if (entry === undefined || values[ref!] === undefined) return fail(path, `a ${t.dtype} tensor of shape [${t.shape.join(', ')}]`, describeSaved(s));
      // A packed moment the library made (its header recorded): the saved one must hold the same
      // format and count, in either layout (webgl's 24-bit one, or the 32-bit one elsewhere: the
      // first step converts it). In version 4, element 0 was the count alone (32-bit layout).
      const header = recordedPackedHeader(t);
      if (header !== undefined && entry.dtype === 'int32' && entry.shape.length === 1 && values[ref!].length > 0) {
        const want = readPackedHeader(header)!;
        let saved = values[ref!][0];
        if (savedVersion === 4 && saved === want.n) {
          const copy = new Int32Array(values[ref!]);
          copy[0] = packedHeader(want.format, want.n, 32);
          values[ref!] = copy;
          saved = copy[0];
        }
        const got = readPackedHeader(saved);
        if (got === undefined || got.format !== want.format || got.n !== want.n || values[ref!].length !== packedWords(got.format, got.n, got.layout)) {
          const found = got === undefined ? describeHeader(saved) : `${describeHeader(saved)} in ${values[ref!].length} elements`;
          fail(path, describeHeader(header), `${found} (a state saved with another stateDtype, or for other params)`);
        }
        return;
      }
      if (entry.dtype !== t.dtype || entry.shape.length !== t.shape.length || entry.shape.some((d, i) => d !== t.shape[i])) {
        fail(path, `a ${t.dtype} tensor of shape [${t.shape.join(', ')}]`, `a ${entry.dtype} tensor of shape [${entry.shape.join(', ')}]`);
      }
      return;
    }
    if (typeof t === 'number') {
      if (decodeNumber(s) === undefined) fail(path, 'a number', describeSaved(s));
      return;
    }
    if (t === undefined) {
      if (!(s === null || (isPlainObject(s) && s.$undefined === true))) fail(path, 'undefined', describeSaved(s));
      return;
    }
    if (t === null || typeof t === 'boolean' || typeof t === 'string') {
      if (typeof s !== typeof t || (t === null && s !== null)) fail(path, describeNode(t), describeSaved(s));
      return;
    }
    if (Array.isArray(t)) {
      if (!Array.isArray(s) || s.length !== t.length) return fail(path, describeNode(t), describeSaved(s));
      t.forEach((child, k) => check(child, s[k], [...path, k]));
      return;
    }
    if (isPlainObject(t)) {
      if (!isPlainObject(s) || isTag(s)) return fail(path, describeNode(t), describeSaved(s));
      const keys = sortedKeys(t);
      const map = keyMap(keys, s, path);
      if (map) renames.set(t, map);
      for (const k of keys) check(t[k], s[map?.get(k) ?? k], [...path, k]);
      return;
    }
    fail(path, 'a value a state can hold', describeNode(t));
  };

  const build = (t: unknown, s: unknown): unknown => {
    if (isTensor(t)) {
      const ref = tensorRef(s)!;
      const entry = manifest.tensors[ref];
      return tf.tensor(values[ref], entry.shape, entry.dtype);
    }
    if (typeof t === 'number') return decodeNumber(s);
    if (t === undefined) return undefined;
    if (t === null || typeof t === 'boolean' || typeof t === 'string') return s;
    if (Array.isArray(t)) return t.map((child, k) => build(child, (s as unknown[])[k]));
    const obj = t as Record<string, unknown>;
    const saved = s as Record<string, unknown>;
    const map = renames.get(obj);
    const out: Record<string, unknown> = Object.getPrototypeOf(obj) === null ? Object.create(null) : {};
    for (const k of sortedKeys(obj)) out[k] = build(obj[k], saved[map?.get(k) ?? k]);
    return out;
  };

  check(template, manifest.state, []);
  checkStateValues(owner, layout, manifest, values);
  return build(template, manifest.state);
}
