import { layoutOf, refreshHyperparams } from '../internal/state.js';
import type { GradientTransformation } from '../types.js';
import { describeNode, isPlainObject } from '../tree/walk.js';

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
 * This file holds the manifest: its types, its checks and its upgrade from older versions.
 * state-codec.ts turns a state into a manifest and back; weights-buffer.ts lays the tensors'
 * bytes out; state-checksums.ts seals and verifies version 3's checksums.
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
 * - 4: states may hold packed moments (`stateDtype: 'bfloat16'` or `'int8'`): int32 tensors
 *   whose element 0 is their value count, saved as they are and checked when loaded (the count
 *   must fit the tensor's length). Versions 1 to 3 hold none and load as before.
 * - 5: element 0 of a packed moment is its header, `4 n + code` (the value count `n` and the
 *   format: 1 bfloat16, 2 int8 signed, 3 int8 unsigned), so that a moment saved with another
 *   `stateDtype` is refused instead of decoded in the wrong format. A version-4 checkpoint's
 *   counts become headers when it loads, in the format the transformation keeps.
 * @group Checkpoints
 * @function
 */
export const STATE_FORMAT_VERSION = 5;

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

/** Bytes per element of each dtype a saved state may hold (its keys are the `SavedDtype`s). */
export const SAVED_DTYPE_BYTES: Record<SavedDtype, number> = { float32: 4, int32: 4, bool: 1 };

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
  return SAVED_DTYPE_BYTES[dtype] * shape.reduce((a, b) => a * b, 1);
}

export function encodeNumber(x: number): unknown {
  if (Number.isNaN(x)) return { $number: 'NaN' };
  if (x === Infinity) return { $number: 'Infinity' };
  if (x === -Infinity) return { $number: '-Infinity' };
  if (Object.is(x, -0)) return { $number: '-0' };
  return x;
}

export function decodeNumber(node: unknown): number | undefined {
  if (typeof node === 'number') return node;
  if (!isPlainObject(node) || Object.keys(node).length !== 1 || typeof node.$number !== 'string') return undefined;
  const named: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };
  return named[node.$number];
}

export function tensorRef(node: unknown): number | undefined {
  if (!isPlainObject(node) || Object.keys(node).length !== 1) return undefined;
  const i = node.$tensor;
  return typeof i === 'number' && Number.isInteger(i) && i >= 0 ? i : undefined;
}

export function isTag(node: Record<string, unknown>): boolean {
  const keys = Object.keys(node);
  return keys.length === 1 && (keys[0] === '$tensor' || keys[0] === '$number' || keys[0] === '$undefined');
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
      t.dtype in SAVED_DTYPE_BYTES &&
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
 * A manifest of an older format brought to the current one for `tx`: a version-1 state lacks the
 * hyperparameter fields (`learningRate`, `weightDecay`) that version 2 keeps, and gets them as
 * `tx` computes them from each transformation's step count (`schedule(count)`, or the constant),
 * which is what the update resumed from it would have used. Version 2 differs from 3 only by
 * the checksums, which are verified before this (and which it does not have), and 3 from 4 only
 * by what 4 may hold (packed moments), and 4 from 5 by packed moments' element 0 (which
 * `restoreState` turns into headers, knowing the formats from the template). Returns the manifest itself when it is current.
 */
export function upgradeManifest(manifest: StateManifest, tx: GradientTransformation<any>): StateManifest {
  if (manifest.formatVersion >= STATE_FORMAT_VERSION) return manifest;
  const state = manifest.formatVersion < 2 ? refreshHyperparams(layoutOf(tx), manifest.state, 'fill') : manifest.state;
  return { ...manifest, formatVersion: STATE_FORMAT_VERSION, state };
}
