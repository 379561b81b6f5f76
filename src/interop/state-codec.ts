import * as tf from '@tensorflow/tfjs-core';
import { VERSION } from '../version.js';
import { forEachField, layoutOf, refreshHyperparams, type StateLayout, type ValueField } from '../internal/state.js';
import type { GradientTransformation } from '../types.js';
import { describeNode, enterContainer, formatPath, isPlainObject, isTensor, sortedKeys, type TreePath } from '../tree/walk.js';
import { bytesOf, crc32Hex, jsonCrc32 } from './crc32.js';

/**
 * The serialized form of an optimizer state, shared by checkpoints (`saveState`) and the
 * tf.Optimizer adapter's `getWeights`: a JSON manifest holding the state's structure and its JS
 * numbers, plus the tensors' bytes in manifest order.
 *
 * The manifest's `state` mirrors the state: arrays and plain objects as they are, JS numbers as
 * JSON numbers (which round-trip float64 exactly), and tagged objects for what JSON cannot hold:
 * `{ "$tensor": i }` (the i-th entry of `tensors`), `{ "$number": "NaN" | "Infinity" |
 * "-Infinity" | "-0" }` and `{ "$undefined": true }`.
 *
 * Checksums (version 3): every checkpoint `stateToArtifacts` writes carries the CRC-32 (as zlib
 * computes it, see crc32.ts) of each tensor's bytes in its `tensors` entry (`checksum`), and the
 * CRC-32 of the manifest itself, all but its `checksum` field, as canonical JSON (keys sorted,
 * UTF-8) in `checksum: { algorithm: 'crc32', manifest }`. Loading recomputes both before it
 * reads anything else; a manifest without them (versions 1 and 2, the tf.Optimizer adapter's
 * weights) loads without this check.
 */

/**
 * The `format` of every manifest.
 * @group Checkpoints
 */
export const STATE_FORMAT = 'tfjs-optax-state';
/**
 * The manifest layout written by this version; loading accepts this and older ones.
 * - 1 (tfjs-optax 0.1): the first.
 * - 2: learning-rate and weight-decay states hold the value the next update uses
 *   (`{ count, learningRate }`, `{ count, weightDecay }`); a version-1 checkpoint gets these
 *   fields computed from its counts when it is loaded (see `upgradeManifest` in the source).
 * - 3: CRC-32 checksums of each tensor's bytes (`tensors[i].checksum`) and of the manifest
 *   (`checksum`), verified when loading; no other key may appear. Versions 1 and 2 have none
 *   and load as before.
 * @group Checkpoints
 * @function
 */
export const STATE_FORMAT_VERSION = 3;

/**
 * One tensor of a state, as the manifest lists it.
 * @inline
 */
export interface ManifestTensor {
  /** The tensor's path in the state, formatted (`[1][0].mu.dense.kernel`). */
  name: string;
  /** The same path as keys and indices. */
  path: Array<string | number>;
  /** The tensor's dtype: only `float32`, `int32` and `bool` tensors can be saved. */
  dtype: SavedDtype;
  /** The tensor's shape (`[]` for a scalar). */
  shape: number[];
  /** The CRC-32 of the tensor's bytes in the weights buffer, eight hex digits (version 3). */
  checksum?: string;
}

/**
 * The checksum of a manifest (version 3).
 * @inline
 */
export interface ManifestChecksum {
  /** Always `'crc32'`: CRC-32 as zlib computes it. */
  algorithm: 'crc32';
  /** The CRC-32 of the manifest without this field, as canonical JSON (keys sorted) in UTF-8: eight hex digits. */
  manifest: string;
}

/**
 * One parameter leaf the state was saved for (when `saveState` was given the params).
 * @inline
 */
export interface ManifestParam {
  /** The leaf's path in the params tree, formatted (`dense.kernel`, `layers[2].bias`). */
  name: string;
  /** The same path as keys and indices. */
  path: Array<string | number>;
  /** The leaf's dtype, as tfjs names it (`float32`, ...). */
  dtype: string;
  /** The leaf's shape. */
  shape: number[];
}

/**
 * The JSON manifest of a serialized state.
 * @group Checkpoints
 */
export interface StateManifest {
  /** Always {@link STATE_FORMAT} (`'tfjs-optax-state'`): marks the artifacts as an optimizer state, not a model. */
  format: typeof STATE_FORMAT;
  /**
   * The layout version it was written with ({@link STATE_FORMAT_VERSION} when saved by this
   * version); older versions are upgraded when loaded, newer ones are refused.
   */
  formatVersion: number;
  /** The library and version that wrote it, e.g. `'tfjs-optax 0.1.0'`; informational only. */
  generatedBy: string;
  /** The state's structure and numbers, tensors replaced by `{ "$tensor": i }`. */
  state: unknown;
  /**
   * One entry per tensor of the state, in the order of `{ "$tensor": i }` and of the bytes in
   * the weights buffer (the state walked arrays by index and objects by sorted key).
   */
  tensors: ManifestTensor[];
  /** The parameter leaves the state belongs to, when they were given. */
  params?: ManifestParam[];
  /** The tf.Optimizer adapter's iteration count (its `getWeights` only). */
  iterations?: number;
  /** The manifest's checksum; its tensors' are in their entries (version 3, from `stateToArtifacts`). */
  checksum?: ManifestChecksum;
}

const MANIFEST_KEYS = new Set(['format', 'formatVersion', 'generatedBy', 'state', 'tensors', 'params', 'iterations', 'checksum']);
const TENSOR_KEYS = new Set(['name', 'path', 'dtype', 'shape', 'checksum']);
const HEX32 = /^[0-9a-f]{8}$/;

/**
 * The dtypes a saved state's tensors may have.
 * @inline
 */
export type SavedDtype = 'float32' | 'int32' | 'bool';

const BYTES: Record<SavedDtype, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * A state that could not be serialized or restored; the message names the path.
 * @group Checkpoints
 */
export class StateFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFormatError';
  }
}

/** Bytes taken by a tensor of this dtype and shape in the weights buffer. */
export function byteLengthOf(dtype: SavedDtype, shape: readonly number[]): number {
  return BYTES[dtype] * shape.reduce((a, b) => a * b, 1);
}

function encodeNumber(x: number): unknown {
  if (Number.isNaN(x)) return { $number: 'NaN' };
  if (x === Infinity) return { $number: 'Infinity' };
  if (x === -Infinity) return { $number: '-Infinity' };
  if (Object.is(x, -0)) return { $number: '-0' };
  return x;
}

function decodeNumber(node: unknown): number | undefined {
  if (typeof node === 'number') return node;
  if (!isPlainObject(node) || Object.keys(node).length !== 1 || typeof node.$number !== 'string') return undefined;
  const named: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };
  return named[node.$number];
}

function tensorRef(node: unknown): number | undefined {
  if (!isPlainObject(node) || Object.keys(node).length !== 1) return undefined;
  const i = node.$tensor;
  return typeof i === 'number' && Number.isInteger(i) && i >= 0 ? i : undefined;
}

function isTag(node: Record<string, unknown>): boolean {
  const keys = Object.keys(node);
  return keys.length === 1 && (keys[0] === '$tensor' || keys[0] === '$number' || keys[0] === '$undefined');
}

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
      if (!(node.dtype in BYTES)) {
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

/** The parameter leaves of a tree as the manifest records them. */
export function describeParams(owner: string, params: unknown): ManifestParam[] {
  const out: ManifestParam[] = [];
  const visit = (node: unknown, path: Array<string | number>): void => {
    if (isTensor(node)) {
      out.push({ name: formatPath(path), path: [...path], dtype: node.dtype, shape: [...node.shape] });
    } else if (Array.isArray(node)) {
      node.forEach((child, k) => visit(child, [...path, k]));
    } else if (isPlainObject(node)) {
      for (const key of sortedKeys(node)) visit(node[key], [...path, key]);
    } else if (node !== null && node !== undefined) {
      throw new StateFormatError(`${owner}: ${formatPath(path, 'params')} is ${describeNode(node)}, not a tensor or a subtree`);
    }
  };
  visit(params, []);
  return out;
}

/** Checks a manifest's format fields and the shape of its lists; returns it typed. */
export function checkManifest(owner: string, value: unknown): StateManifest {
  if (!isPlainObject(value)) throw new StateFormatError(`${owner}: the checkpoint manifest is ${describeNode(value)}, not an object`);
  if (value.format !== STATE_FORMAT) {
    throw new StateFormatError(`${owner}: not a tfjs-optax state checkpoint: format is ${JSON.stringify(value.format)}, expected '${STATE_FORMAT}'`);
  }
  const version = value.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new StateFormatError(`${owner}: the checkpoint's formatVersion is ${JSON.stringify(version)}, expected a positive integer`);
  }
  if (version > STATE_FORMAT_VERSION) {
    throw new StateFormatError(
      `${owner}: the checkpoint has formatVersion ${version}, newer than the ${STATE_FORMAT_VERSION} this version of tfjs-optax reads; upgrade tfjs-optax`,
    );
  }
  if (!Array.isArray(value.tensors)) throw new StateFormatError(`${owner}: the checkpoint manifest has no tensors list`);
  // From version 3 on, the keys are known: a damaged key must not hide a checksum.
  const strict = version >= 3;
  if (strict) {
    const unknown = Object.keys(value).filter((k) => !MANIFEST_KEYS.has(k));
    if (unknown.length > 0) {
      throw new StateFormatError(
        `${owner}: the checkpoint manifest has unknown ${unknown.map((k) => `'${k}'`).join(', ')} (expected only ${[...MANIFEST_KEYS].join(', ')}): a damaged or foreign manifest`,
      );
    }
  }
  value.tensors.forEach((t: unknown, i: number) => {
    const ok =
      isPlainObject(t) &&
      typeof t.dtype === 'string' &&
      t.dtype in BYTES &&
      Array.isArray(t.shape) &&
      t.shape.every((d: unknown) => typeof d === 'number' && Number.isInteger(d) && d >= 0) &&
      (t.checksum === undefined || (typeof t.checksum === 'string' && HEX32.test(t.checksum))) &&
      (!strict || Object.keys(t).every((k) => TENSOR_KEYS.has(k)));
    if (!ok) throw new StateFormatError(`${owner}: the checkpoint manifest's tensors[${i}] is malformed: ${JSON.stringify(t)}`);
  });
  const sum = value.checksum;
  if (sum !== undefined && !(isPlainObject(sum) && sum.algorithm === 'crc32' && typeof sum.manifest === 'string' && HEX32.test(sum.manifest))) {
    throw new StateFormatError(
      `${owner}: the checkpoint manifest's checksum is ${JSON.stringify(sum)}, expected { algorithm: 'crc32', manifest: <8 hex digits> }`,
    );
  }
  return value as unknown as StateManifest;
}

/** The values of one saved tensor, in its dtype's typed array. */
export type SavedValues = Float32Array | Int32Array | Uint8Array;

/**
 * Splits one weights buffer into the manifest's tensors, after checking its length (a
 * truncated or mis-sized buffer is an error that says both sizes).
 */
export function splitWeights(owner: string, manifest: StateManifest, buffer: ArrayBuffer): SavedValues[] {
  const expected = manifest.tensors.reduce((n, t) => n + byteLengthOf(t.dtype, t.shape), 0);
  if (buffer.byteLength !== expected) {
    throw new StateFormatError(
      `${owner}: the weights buffer has ${buffer.byteLength} bytes, but the manifest's ${manifest.tensors.length} tensors take ${expected} ` +
        `(a truncated file, or weights from another checkpoint)`,
    );
  }
  let offset = 0;
  return manifest.tensors.map((t) => {
    const bytes = byteLengthOf(t.dtype, t.shape);
    const slice = buffer.slice(offset, offset + bytes);
    offset += bytes;
    return t.dtype === 'float32' ? new Float32Array(slice) : t.dtype === 'int32' ? new Int32Array(slice) : new Uint8Array(slice);
  });
}

/**
 * `manifest` with its checksums (version 3): each tensor's CRC-32 over its bytes in `weights`
 * (the buffer {@link joinWeights} made of them), then the manifest's own.
 */
export function sealManifest(manifest: StateManifest, weights: ArrayBuffer): StateManifest {
  let offset = 0;
  const tensors = manifest.tensors.map((t) => {
    const bytes = byteLengthOf(t.dtype, t.shape);
    const checksum = crc32Hex(new Uint8Array(weights, offset, bytes));
    offset += bytes;
    return { ...t, checksum };
  });
  const { checksum: _old, ...body } = { ...manifest, tensors };
  return { ...body, checksum: { algorithm: 'crc32', manifest: jsonCrc32(body) } };
}

/**
 * Verifies the manifest's own checksum, if it has one: a damaged tensor table, structure or
 * count is a `StateFormatError` before anything reads them.
 */
export function checkManifestChecksum(owner: string, manifest: StateManifest): void {
  if (manifest.checksum === undefined) return;
  const { checksum, ...body } = manifest;
  const now = jsonCrc32(body);
  if (now !== checksum.manifest) {
    throw new StateFormatError(
      `${owner}: the checkpoint manifest does not match its checksum (CRC-32 ${checksum.manifest} saved, ${now} now): ` +
        `it was changed or damaged after it was saved`,
    );
  }
}

/** Verifies each tensor's bytes against its checksum, where the manifest has one. */
export function checkTensorChecksums(owner: string, manifest: StateManifest, values: readonly SavedValues[]): void {
  manifest.tensors.forEach((t, i) => {
    if (t.checksum === undefined) return;
    const now = crc32Hex(bytesOf(values[i]));
    if (now !== t.checksum) {
      throw new StateFormatError(
        `${owner}: the values of ${Array.isArray(t.path) ? formatPath(t.path, 'state') : `'${t.name}'`} do not match their checksum (CRC-32 ${t.checksum} saved, ${now} now): ` +
          `the weights were changed or damaged after they were saved`,
      );
    }
  });
}

/** The bytes of several buffers, one after the other, in a new buffer. */
export function concatBytes(parts: ReadonlyArray<Uint8Array | ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const views = parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p)));
  const out = new Uint8Array(views.reduce((n, v) => n + v.byteLength, 0));
  let offset = 0;
  for (const v of views) {
    out.set(v, offset);
    offset += v.byteLength;
  }
  return out;
}

/** Concatenates the tensors' bytes in manifest order (the one weights buffer). */
export function joinWeights(tensors: readonly tf.Tensor[]): ArrayBuffer {
  return concatBytes(
    tensors.map((t) => {
      const data = t.dataSync();
      const view = t.dtype === 'bool' ? Uint8Array.from(data as Uint8Array) : data;
      return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    }),
  ).buffer;
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
}

const SUFFIX = /_\d+$/;

/**
 * A manifest of an older format brought to the current one for `tx`: a version-1 state lacks the
 * hyperparameter fields (`learningRate`, `weightDecay`) that version 2 keeps, and gets them as
 * `tx` computes them from each transformation's step count (`schedule(count)`, or the constant),
 * which is what the update resumed from it would have used. Version 2 differs from 3 only by
 * the checksums, which are verified before this (and which it does not have). Returns the
 * manifest itself when it is current.
 */
export function upgradeManifest(manifest: StateManifest, tx: GradientTransformation<any>): StateManifest {
  if (manifest.formatVersion >= STATE_FORMAT_VERSION) return manifest;
  const state = manifest.formatVersion < 2 ? refreshHyperparams(layoutOf(tx), manifest.state, 'fill') : manifest.state;
  return { ...manifest, formatVersion: STATE_FORMAT_VERSION, state };
}

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
  values: readonly SavedValues[],
  { matchVariableNames = false, layout = null }: RestoreOptions = {},
): unknown {
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

/**
 * Checks the values of a saved state that its transformation's layout describes, before any
 * tensor is made: step counts are whole numbers >= 0, hyperparameters finite and in their
 * domain (`>= min`), and every float32 value of a `'nonNegativeTree'` field (a second moment)
 * finite and >= 0: one pass over the loaded typed arrays, about 1 ms per million values. A value
 * outside is a `StateFormatError` naming its path, what was expected and what was found.
 * Fields of other kinds (first moments, which a diverged run may hold as NaN; tensors of other
 * dtypes, such as packed moments) are not checked.
 */
export function checkStateValues(owner: string, layout: StateLayout | null, manifest: StateManifest, values: readonly SavedValues[]): void {
  if (layout === null) return;
  const fail = (path: TreePath, expected: string, found: string): never => {
    throw new StateFormatError(
      `${owner}: the checkpoint holds a value this state cannot hold at ${formatPath(path, 'state')}: expected ${expected}, found ${found}`,
    );
  };
  forEachField(layout, manifest.state, (kind: ValueField, saved, path) => {
    if (kind === 'count') {
      const x = decodeNumber(saved);
      if (x !== undefined && !(Number.isInteger(x) && x >= 0)) fail(path, 'a whole number >= 0 (a step count)', String(x));
    } else if (kind === 'nonNegativeTree') {
      forEachTensorRef(saved, [...path], (ref, leafPath) => {
        const entry = manifest.tensors[ref];
        const data = values[ref];
        if (entry === undefined || entry.dtype !== 'float32' || !(data instanceof Float32Array)) return;
        const i = firstNegativeOrNonFinite(data);
        if (i < 0) return;
        let bad = 0;
        for (let k = i; k < data.length; k++) if (!(data[k] >= 0 && data[k] !== Infinity)) bad++;
        const at = entry.shape.length === 0 ? '' : ` at index [${unravel(i, entry.shape).join(', ')}]`;
        fail(leafPath, 'every value finite and >= 0 (a second moment)', `${data[i]}${at} (${bad} of ${data.length} values are not)`);
      });
    } else if (typeof kind === 'object' && kind.kind === 'hyper') {
      const x = decodeNumber(saved);
      if (x !== undefined && !(Number.isFinite(x) && x >= kind.min)) {
        fail(path, kind.min === -Infinity ? 'a finite number (a hyperparameter)' : `a finite number >= ${kind.min} (a hyperparameter)`, String(x));
      }
    }
  });
}

/** The index of the first value that is negative, NaN or infinite, or -1. */
function firstNegativeOrNonFinite(data: Float32Array): number {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    // False for NaN too.
    if (!(v >= 0 && v !== Infinity)) return i;
  }
  return -1;
}

/** A flat index as the indices of each dimension of `shape`. */
function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return out;
}

/** Calls `visit` with every `{ "$tensor": i }` under a saved node and its path. */
function forEachTensorRef(node: unknown, path: Array<string | number>, visit: (ref: number, path: TreePath) => void): void {
  const ref = tensorRef(node);
  if (ref !== undefined) visit(ref, path);
  else if (Array.isArray(node)) node.forEach((child, k) => forEachTensorRef(child, [...path, k], visit));
  else if (isPlainObject(node) && !isTag(node)) for (const key of sortedKeys(node)) forEachTensorRef(node[key], [...path, key], visit);
}

/**
 * Checks that the params a checkpoint was saved for (if it recorded them) are the params given
 * now: same paths, dtypes and shapes.
 */
export function checkSavedParams(owner: string, manifest: StateManifest, params: unknown): void {
  if (manifest.params === undefined) return;
  const now = describeParams(owner, params);
  const saved = new Map(manifest.params.map((p) => [p.name, p]));
  for (const p of now) {
    const s = saved.get(p.name);
    if (s === undefined) {
      const known = manifest.params.map((q) => q.name);
      throw new StateFormatError(
        `${owner}: the checkpoint was saved for other params: ${formatPath(p.path, 'params')} is not among its ${known.length} leaves (${known.slice(0, 8).join(', ')}${known.length > 8 ? ', ...' : ''})`,
      );
    }
    if (s.dtype !== p.dtype || s.shape.length !== p.shape.length || s.shape.some((d, i) => d !== p.shape[i])) {
      throw new StateFormatError(
        `${owner}: the checkpoint was saved for other params: ${formatPath(p.path, 'params')} is ${p.dtype} [${p.shape.join(', ')}] now, ${s.dtype} [${s.shape.join(', ')}] in the checkpoint`,
      );
    }
    saved.delete(p.name);
  }
  if (saved.size > 0) {
    throw new StateFormatError(
      `${owner}: the checkpoint was saved for other params: it has ${[...saved.values()].slice(0, 8).map((q) => formatPath(q.path, 'params')).join(', ')}, which the params given lack`,
    );
  }
}
