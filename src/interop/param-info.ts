import type { Params } from '../types.js';
import { describeNode, isPlainObject } from '../tree/walk.js';
import { trainableVariables, type LayersModelLike, type LayerWeightLike } from './layers.js';

// Which layer each trainable weight of a tfjs-layers model belongs to, read from the model
// itself (duck-typed: the library does not depend on tfjs-layers), keyed as modelParams keys
// the weights: by tf.Variable name.

/**
 * What {@link paramInfo} tells of one trainable weight of a layers model.
 * @group tfjs interop
 */
export interface ParamInfo {
  /**
   * The name of the layer the weight belongs to (`'dense_Dense1'`, or the name given to the
   * layer). Inside a nested model it is the inner layer's name; for a wrapper layer
   * (`Bidirectional`, `TimeDistributed`) the wrapper's.
   */
  readonly layerName: string;
  /** That layer's class, as `layer.getClassName()` gives it: `'Dense'`, `'Conv2D'`, `'Embedding'`, `'LSTM'`, ... */
  readonly layerClass: string;
  /**
   * The weight's own name: the last part of its name in the model (`'kernel'`, `'bias'`,
   * `'gamma'`, `'beta'`, `'embeddings'`, `'recurrent_kernel'`).
   */
  readonly weightName: string;
  /**
   * The layer's position among the layers that have trainable weights, from `0` at the input
   * end: the order of `model.layers` (topological for functional models, as tfjs-layers sorts
   * them), a nested model's layers taking their places in it one by one. Each layer has its own
   * depth (two parallel branches get two), and a shared layer, used several times, has one.
   */
  readonly depth: number;
  /** The weight's shape. */
  readonly shape: readonly number[];
}

/**
 * A function from a model's params to one value per weight: what {@link decayMask},
 * {@link muonLabels} and the labels of {@link layerwiseDecay} return. It takes any plain object
 * keyed by the model's weights' tf.Variable names: `modelParams(model)`, the tree
 * `toTfOptimizer` steps (the same names, also when a step has only some of the weights), and the
 * trees `partition` and `masked` hand their inner transformations (`null` at other leaves); it
 * returns a plain object with the same keys. A `mask` option (`boolean`) and `partition`'s labels
 * (`string`) accept it as it is.
 * @group tfjs interop
 */
export type WeightLabels<T> = (params: Params) => Record<string, T>;

/** The parts of tfjs-layers' `Layer` and `Container` that are read here. */
interface LayerLike {
  readonly name?: string;
  getClassName?(): string;
  readonly trainableWeights?: readonly LayerWeightLike[];
  /** A container's (a model's) layers. */
  readonly layers?: readonly LayerLike[];
  /** A container's output tensors. */
  readonly outputs?: readonly TensorLike[];
  readonly inboundNodes?: ReadonlyArray<{ readonly inputTensors?: readonly TensorLike[] }>;
}

/** The parts of tfjs-layers' `SymbolicTensor` that are read here. */
interface TensorLike {
  readonly sourceLayer?: LayerLike;
  readonly nodeIndex?: number;
}

/** One trainable weight: its {@link ParamInfo}, and whether its layer computes an output of the model. */
export interface WeightEntry {
  info: ParamInfo;
  /** The layer computes an output: the last layer with weights on the way from an output back to the inputs. */
  output: boolean;
}

const isContainer = (layer: LayerLike): boolean => Array.isArray(layer.layers);

/** The name of the tf.Variable a weight reads as, if it is one. */
function variableName(weight: LayerWeightLike): string | undefined {
  const read = (weight as Partial<LayerWeightLike> | null)?.read;
  if (typeof read !== 'function') return undefined;
  const name = (read.call(weight) as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * The trainable weights of `model` by key (tf.Variable name), in `trainableWeights` order, each
 * with its layer's place in the model. Errors name `owner`.
 * @internal
 */
export function describeWeights(owner: string, model: LayersModelLike): Map<string, WeightEntry> {
  const variables = trainableVariables(owner, model);
  const keys = new Set(variables.map((v) => v.variable.name));
  const layerOf = new Map<string, LayerLike>();
  const depthOf = new Map<LayerLike, number>();
  /** Gives `layer` the weights of its own not claimed yet, and a depth if it got any. */
  const claim = (layer: LayerLike): void => {
    let owns = false;
    for (const w of layer.trainableWeights ?? []) {
      const name = variableName(w);
      if (name !== undefined && keys.has(name) && !layerOf.has(name)) {
        layerOf.set(name, layer);
        owns = true;
      }
    }
    if (owns) depthOf.set(layer, depthOf.size);
  };
  const visited = new Set<LayerLike>();
  const visit = (layer: LayerLike): void => {
    if (layer === null || typeof layer !== 'object' || visited.has(layer)) return;
    visited.add(layer);
    if (isContainer(layer)) layer.layers!.forEach(visit);
    else claim(layer);
  };
  const top = model as LayerLike;
  visit(top);
  // Weights that no inner layer lists (a container of one's own) belong to the model itself.
  if (isContainer(top)) claim(top);

  const outputs = outputLayers(top, depthOf);
  const entries = new Map<string, WeightEntry>();
  for (const { weight, variable } of variables) {
    const layer = layerOf.get(variable.name)!;
    const fullName = typeof weight.originalName === 'string' ? weight.originalName : variable.name;
    const info: ParamInfo = Object.freeze({
      layerName: typeof layer.name === 'string' ? layer.name : '',
      layerClass: typeof layer.getClassName === 'function' ? layer.getClassName() : (layer.constructor?.name ?? 'Object'),
      weightName: fullName.slice(fullName.lastIndexOf('/') + 1),
      depth: depthOf.get(layer)!,
      shape: Object.freeze(variable.shape.slice()),
    });
    entries.set(variable.name, { info, output: outputs.has(layer) });
  }
  return entries;
}

/**
 * The layers with weights that compute the model's outputs: from each output tensor back through
 * the layers without weights (an activation, a flatten, a dropout) to the first with weights,
 * into nested models' own outputs. A model that is a single layer is its own output layer.
 */
function outputLayers(top: LayerLike, weighted: ReadonlyMap<LayerLike, number>): Set<LayerLike> {
  const found = new Set<LayerLike>();
  const seen = new Map<LayerLike, Set<number>>();
  const trace = (tensor: TensorLike | null | undefined): void => {
    const layer = tensor?.sourceLayer;
    if (layer === null || typeof layer !== 'object') return;
    const node = tensor!.nodeIndex ?? 0;
    const nodes = seen.get(layer) ?? new Set<number>();
    if (nodes.has(node)) return;
    seen.set(layer, nodes.add(node));
    if (isContainer(layer)) (layer.outputs ?? []).forEach(trace);
    else if (weighted.has(layer)) found.add(layer);
    else (layer.inboundNodes?.[node]?.inputTensors ?? []).forEach(trace);
  };
  if (!isContainer(top)) {
    if (weighted.has(top)) found.add(top);
  } else {
    (top.outputs ?? []).forEach(trace);
  }
  return found;
}

/**
 * Describes each trainable weight of a tfjs-layers model: a plain object keyed as
 * {@link modelParams}`(model)` keys its params, by the weights' tf.Variable names, which are
 * also the names `toTfOptimizer`'s steps key the variables and the state by (both read
 * `variable.name`, with tfjs-layers' `_1` suffix for a second copy of a model), of
 * `{ layerName, layerClass, weightName, depth, shape }` (see {@link ParamInfo}):
 *
 * ```ts
 * paramInfo(model)['dense_Dense1/kernel'];
 * // { layerName: 'dense_Dense1', layerClass: 'Dense', weightName: 'kernel', depth: 0, shape: [4, 8] }
 * ```
 *
 * Weights are found in their layers through nested models (a `Sequential` inside a functional
 * model); a weight no inner layer lists is the model's own. Only trainable weights are listed
 * (not a `BatchNormalization`'s moving statistics, nor the weights of a frozen layer), so a
 * frozen layer has no depth. The result describes the model as it is when called.
 * @group tfjs interop
 */
export function paramInfo(model: LayersModelLike): Record<string, ParamInfo> {
  const out: Record<string, ParamInfo> = {};
  for (const [key, { info }] of describeWeights('paramInfo', model)) out[key] = info;
  return out;
}

/**
 * A {@link WeightLabels} of `model`'s weights, `valueOf` each one's entry, computed now: a key
 * that is not one of those weights is an `Error` naming it when the function is called.
 * @internal
 */
export function labelsByKey<T>(owner: string, model: LayersModelLike, valueOf: (entry: WeightEntry) => T): WeightLabels<T> {
  const table = new Map<string, T>();
  for (const [key, entry] of describeWeights(owner, model)) table.set(key, valueOf(entry));
  return (params: Params) => {
    if (!isPlainObject(params)) {
      throw new TypeError(
        `${owner}: expected the model's params keyed by tf.Variable name (modelParams(model), or the variables toTfOptimizer steps), got ${describeNode(params)}`,
      );
    }
    const out: Record<string, T> = {};
    for (const key of Object.keys(params)) {
      if (!table.has(key)) throw unknownKey(owner, key, [...table.keys()]);
      out[key] = table.get(key)!;
    }
    return out;
  };
}

function unknownKey(owner: string, key: string, known: string[]): Error {
  const shown = known.slice(0, 6).map((k) => `'${k}'`).join(', ') + (known.length > 6 ? ', ...' : '');
  return new Error(
    `${owner}: the params have the key '${key}', which is not a trainable weight of the model ${owner} was made for ` +
      `(its ${known.length} weights, keyed by tf.Variable name as modelParams(model) keys them: ${shown || 'none'}); ` +
      `a weight added or unfrozen since needs a new ${owner}(model)`,
  );
}
