import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { collectTensors, disposeReplaced } from '../tree/memory.js';
import { describeNode } from '../tree/walk.js';
import { checkOptions, checkTransformation } from '../internal/options.js';
import { layoutOf } from '../internal/state.js';
import { fileHandler } from './file-handler.js';
import { checkManifest, STATE_FORMAT, StateFormatError, upgradeManifest, type StateManifest } from './state-manifest.js';
import { encodeState, restoreState } from './state-codec.js';
import { checkManifestChecksum, checkTensorChecksums, sealManifest } from './state-checksums.js';
import { concatBytes, joinWeights, splitWeights } from './weights-buffer.js';
import { checkSavedParams } from './saved-params.js';

/**
 * Options of {@link saveState} and {@link stateToArtifacts}.
 * @group Checkpoints
 */
export interface SaveStateOptions {
  /**
   * The parameters the state belongs to. Their paths, dtypes and shapes are recorded, so that
   * loading for other parameters fails with an error naming the first leaf that differs.
   */
  params?: Params;
}

/**
 * A state as `tf.io.ModelArtifacts`, the form every tfjs `IOHandler` saves: `modelTopology` is
 * the JSON manifest (`format: 'tfjs-optax-state'`, `formatVersion`, the state's structure with
 * its JS numbers, each tensor's path, dtype, shape and CRC-32 checksum, the params' paths if
 * given, and the manifest's own CRC-32), `weightSpecs` lists the tensors and `weightData` holds
 * their bytes in one buffer. The checksums travel inside the artifacts, so every handler
 * (`indexeddb://`, `localstorage://`, files) keeps them. Nothing is disposed; the bytes are
 * copied.
 *
 * @throws StateFormatError naming the path, for anything a state must not hold.
 * @group Checkpoints
 */
export function stateToArtifacts(state: unknown, options: SaveStateOptions = {}): tf.io.ModelArtifacts {
  checkOptions('stateToArtifacts', options, ['params']);
  const encoded = encodeState('stateToArtifacts', state, options.params);
  const weightData = joinWeights(encoded.tensors);
  const manifest = sealManifest(encoded.manifest, weightData);
  return {
    format: STATE_FORMAT,
    generatedBy: manifest.generatedBy,
    convertedBy: null,
    modelTopology: manifest as unknown as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: manifest.tensors.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype })),
    weightData,
  };
}

/**
 * The state saved in `artifacts`, rebuilt for `tx` and `params`. In order: the manifest must
 * match its checksum and each tensor's bytes theirs (CRC-32; checkpoints of format versions 1
 * and 2 have none), the weights buffer must have the size the manifest says, the checkpoint
 * must have exactly the structure of `tx.init(params)` (the same arrays and keys, tensors of
 * the same dtypes and shapes), the recorded params (if any) must be `params`, and the values
 * must be ones the state can hold: step counts whole numbers >= 0, hyperparameters (learning
 * rates, ...) finite and in their domain, second moments (Adam's `nu` and the like) finite and
 * >= 0. Anything else is a `StateFormatError` that says where and what (path, expected,
 * found), thrown before any tensor is made. The returned state's tensors are new; nothing
 * given is changed.
 * @group Checkpoints
 */
export function stateFromArtifacts<S>(tx: GradientTransformation<S>, params: Params, artifacts: tf.io.ModelArtifacts): S {
  const owner = 'stateFromArtifacts';
  return restoreFromArtifacts(owner, tx, params, artifacts);
}

function restoreFromArtifacts<S>(owner: string, tx: GradientTransformation<S>, params: Params, artifacts: tf.io.ModelArtifacts): S {
  checkTransformation(owner, tx);
  if (artifacts === null || typeof artifacts !== 'object') {
    throw new TypeError(`${owner}: expected tf.io.ModelArtifacts, got ${describeNode(artifacts)}`);
  }
  if (artifacts.format !== undefined && artifacts.format !== STATE_FORMAT) {
    throw new StateFormatError(
      `${owner}: not a tfjs-optax state checkpoint: format is ${JSON.stringify(artifacts.format)}, expected '${STATE_FORMAT}' (a model saved with model.save? load it with tf.loadLayersModel)`,
    );
  }
  const saved = checkManifest(owner, artifacts.modelTopology);
  checkManifestChecksum(owner, saved);
  checkWeightSpecs(owner, saved, artifacts.weightSpecs);
  const values = splitWeights(owner, saved, weightBuffer(owner, artifacts.weightData));
  checkTensorChecksums(owner, saved, values);
  const manifest = upgradeManifest(saved, tx);
  checkSavedParams(owner, manifest, params);
  const template = tx.init(params);
  try {
    return restoreState(owner, template, manifest, values, { layout: layoutOf(tx), savedVersion: saved.formatVersion }) as S;
  } finally {
    disposeReplaced(template, params);
  }
}

/**
 * Saves an optimizer state through any tfjs `IOHandler` or URL scheme tfjs knows
 * (`indexeddb://`, `localstorage://`, `downloads://`, `http(s)://`, and `file://` with
 * tfjs-node). In Node without tfjs-node, `file://path/to/dir` uses {@link fileHandler}, which
 * writes `state.json` and a uniquely named `state.<id>.weights.bin` there, atomically. The
 * checkpoint carries checksums whatever the handler (see {@link stateToArtifacts}). Returns the
 * handler's `SaveResult`.
 *
 * ```ts
 * await saveState(state, 'file://./checkpoints/step-1000', { params });
 * const state2 = await loadState(tx, params, 'file://./checkpoints/step-1000');
 * ```
 * @group Checkpoints
 */
export async function saveState(
  state: unknown,
  handlerOrUrl: tf.io.IOHandler | string,
  options: SaveStateOptions = {},
): Promise<tf.io.SaveResult> {
  const handler = resolveHandler('saveState', handlerOrUrl, 'save');
  // Read every tensor asynchronously first, so that stateToArtifacts' synchronous reads find the
  // values cached: on webgpu a synchronous read is slow, and in headless Chromium on SwiftShader
  // it returns zeros and destroys the device.
  await Promise.all([...collectTensors(state)].filter((t) => !t.isDisposed).map((t) => t.data()));
  const artifacts = stateToArtifacts(state, options);
  return handler.save!(artifacts);
}

/**
 * Loads a state saved with {@link saveState} for `tx` and `params`, checked as
 * {@link stateFromArtifacts} checks it. `handlerOrUrl` is any tfjs `IOHandler` or URL tfjs
 * knows; `file://` works in Node without tfjs-node (see {@link fileHandler}).
 * @group Checkpoints
 */
export async function loadState<S>(tx: GradientTransformation<S>, params: Params, handlerOrUrl: tf.io.IOHandler | string): Promise<S> {
  checkTransformation('loadState', tx);
  const handler = resolveHandler('loadState', handlerOrUrl, 'load');
  const artifacts = await handler.load!();
  return restoreFromArtifacts('loadState', tx, params, artifacts);
}

function resolveHandler(owner: string, handlerOrUrl: tf.io.IOHandler | string, method: 'save' | 'load'): tf.io.IOHandler {
  if (typeof handlerOrUrl === 'string') {
    const found = method === 'save' ? tf.io.getSaveHandlers(handlerOrUrl) : tf.io.getLoadHandlers(handlerOrUrl);
    if (found.length > 1) throw new Error(`${owner}: more than one tfjs IOHandler claims '${handlerOrUrl}'`);
    if (found.length === 1) return found[0];
    if (handlerOrUrl.startsWith('file://')) return fileHandler(handlerOrUrl.slice('file://'.length));
    throw new Error(
      `${owner}: no tfjs IOHandler for '${handlerOrUrl}' here (schemes: indexeddb://, localstorage://, downloads:// in browsers, ` +
        `http(s)://, file:// in Node); pass an IOHandler instead`,
    );
  }
  if (handlerOrUrl === null || typeof handlerOrUrl !== 'object' || typeof handlerOrUrl[method] !== 'function') {
    throw new TypeError(`${owner}: expected a URL or a tf.io.IOHandler with a ${method}() method, got ${describeNode(handlerOrUrl)}`);
  }
  return handlerOrUrl;
}

/** The weights as one `ArrayBuffer` (tfjs may give a list of buffers). */
function weightBuffer(owner: string, data: tf.io.ModelArtifacts['weightData']): ArrayBuffer {
  if (data === undefined || data === null) throw new StateFormatError(`${owner}: the checkpoint has no weights buffer`);
  if (data instanceof ArrayBuffer) return data;
  if (Array.isArray(data)) return concatBytes(data as ArrayBuffer[]).buffer;
  throw new StateFormatError(`${owner}: the checkpoint's weightData is ${describeNode(data)}, not an ArrayBuffer`);
}

/** The weight specs, when present, must list the manifest's tensors. */
function checkWeightSpecs(owner: string, manifest: StateManifest, specs: tf.io.WeightsManifestEntry[] | undefined): void {
  if (specs === undefined) return;
  if (!Array.isArray(specs) || specs.length !== manifest.tensors.length) {
    throw new StateFormatError(
      `${owner}: the checkpoint lists ${Array.isArray(specs) ? specs.length : 'no'} weight specs for the manifest's ${manifest.tensors.length} tensors`,
    );
  }
  specs.forEach((spec, i) => {
    const t = manifest.tensors[i];
    const same = spec.name === t.name && spec.dtype === t.dtype && spec.shape.length === t.shape.length && spec.shape.every((d, k) => d === t.shape[k]);
    if (!same) {
      throw new StateFormatError(
        `${owner}: weight spec ${i} ('${spec.name}', ${spec.dtype} [${spec.shape.join(', ')}]) does not match the manifest's ` +
          `'${t.name}' (${t.dtype} [${t.shape.join(', ')}])`,
      );
    }
    if (spec.quantization !== undefined) throw new StateFormatError(`${owner}: weight '${spec.name}' is quantized; optimizer state must be saved exactly`);
  });
}
