import { checkNumber, checkOptions, checkRequired } from '../internal/options.js';
import { describeNode } from '../tree/walk.js';
import type { LayersModelLike } from './layers.js';
import { labelsByKey, type ParamInfo, type WeightLabels } from './param-info.js';

// Parameter groups of a layers model, as the masks and labels that `adamw`, `masked`, `muon`
// and `partition` take: weight decay, layer-wise rate decay, Muon's matrices.

/**
 * A kind of weight that {@link decayMask} leaves undecayed.
 * @group tfjs interop
 */
export type DecayExclusion = 'bias' | 'normalization' | 'embedding';

const EXCLUSIONS: readonly DecayExclusion[] = ['bias', 'normalization', 'embedding'];

/**
 * Options of {@link decayMask}.
 * @group tfjs interop
 */
export interface DecayMaskOptions {
  /**
   * The kinds of weights not to decay: `'bias'` (every weight named `bias`, or ending in
   * `_bias`: of `Dense`, `Conv2D`, `LSTM`, ...), `'normalization'` (every weight of a layer whose
   * class ends in `Normalization`: the `gamma` and `beta` of `LayerNormalization` and
   * `BatchNormalization`) and `'embedding'` (every weight of a layer whose class ends in
   * `Embedding`: `Embedding`'s `embeddings`). Default all three; `[]` decays every weight.
   */
  exclude?: readonly DecayExclusion[];
}

const isBias = (info: ParamInfo): boolean => info.weightName === 'bias' || info.weightName.endsWith('_bias');
const isNormalization = (info: ParamInfo): boolean => info.layerClass.endsWith('Normalization');
const isEmbedding = (info: ParamInfo): boolean => info.layerClass.endsWith('Embedding');

const EXCLUDED: Readonly<Record<DecayExclusion, (info: ParamInfo) => boolean>> = {
  bias: isBias,
  normalization: isNormalization,
  embedding: isEmbedding,
};

function checkExclude(owner: string, exclude: unknown): readonly DecayExclusion[] {
  const expected = `${EXCLUSIONS.slice(0, -1).map((e) => `'${e}'`).join(', ')} or '${EXCLUSIONS.at(-1)}'`;
  if (!Array.isArray(exclude)) {
    throw new TypeError(`${owner}: option 'exclude' must be an array of ${expected}, got ${describeNode(exclude)}`);
  }
  exclude.forEach((e: unknown, i) => {
    if (typeof e !== 'string') throw new TypeError(`${owner}: option 'exclude' has ${describeNode(e)} at [${i}], expected ${expected}`);
    if (!EXCLUSIONS.includes(e as DecayExclusion)) throw new RangeError(`${owner}: option 'exclude' has ${JSON.stringify(e)} at [${i}], expected ${expected}`);
  });
  return exclude as DecayExclusion[];
}

/**
 * The weight-decay mask of a layers model, for the `mask` option of `adamw`, `addDecayedWeights`,
 * `lamb`, `muon` ...: `true` (decay) for every trainable weight but biases, normalisation scales
 * and offsets, and embeddings (the kinds in `exclude`; see {@link DecayMaskOptions}), the usual
 * practice for transformers (BERT, GPT-2, timm's `param_groups_weight_decay` for biases and
 * norms), where decaying those hurts more than it regularises.
 *
 * ```ts
 * const tx = adamw(1e-3, { weightDecay: 0.05, mask: decayMask(model) });
 * model.compile({ optimizer: toTfOptimizer(tx), loss: 'categoricalCrossentropy' }); // or trainStep(tx, modelParams(model), ...)
 * decayMask(model)(modelParams(model)); // { 'dense_Dense1/kernel': true, 'dense_Dense1/bias': false, ... }
 * ```
 *
 * The mask is a function of the params (a {@link WeightLabels}), keyed as {@link paramInfo}: it
 * fits `modelParams(model)` in a training loop and the variables `toTfOptimizer` steps in
 * `model.fit` (also a step that has only some of them), and keeps the fused kernel. It is made
 * for the model's trainable weights when called; a key that is not one of them is an error
 * naming it. A bad `exclude` is a `TypeError` (not an array, an entry not a string) or a
 * `RangeError` (an entry not in the list), naming the option and the value.
 * @group tfjs interop
 */
export function decayMask(model: LayersModelLike, options: DecayMaskOptions = {}): WeightLabels<boolean> {
  const owner = 'decayMask';
  checkOptions(owner, options, ['exclude']);
  const exclude = checkExclude(owner, options.exclude ?? EXCLUSIONS);
  const tests = exclude.map((e) => EXCLUDED[e]);
  return labelsByKey(owner, model, ({ info }) => !tests.some((excluded) => excluded(info)));
}

/**
 * Options of {@link layerwiseDecay}.
 * @group tfjs interop
 */
export interface LayerwiseDecayOptions {
  /** The factor per layer from the output down, in (0, 1] (`1`: every layer gets the full rate). Required. */
  decay: number;
}

/**
 * What {@link layerwiseDecay} returns: the labels and each label's factor of the learning rate,
 * for `partition`.
 * @group tfjs interop
 */
export interface LayerwiseDecayGroups {
  /**
   * Each weight's group, `'depth<d>'` for the depth `d` of its layer ({@link ParamInfo.depth}):
   * `partition`'s labels.
   */
  readonly labels: WeightLabels<string>;
  /** Each group's factor, `decay ** (D - d)`, by label, from `'depth0'` to `'depth<D>'` (the output end, `1`). */
  readonly factors: Readonly<Record<string, number>>;
}

/**
 * Layer-wise learning-rate decay (as timm's `param_groups_layer_decay`, the practice of
 * fine-tuning BEiT, ViT and ELECTRA): the layer at depth `d` (see {@link ParamInfo.depth}) of a
 * model whose last depth is `D` trains at `lr * decay ** (D - d)`, so the layers near the output
 * learn at the full rate and those near the input more slowly. It returns labels and factors
 * for `partition`, one transformation per layer:
 *
 * ```ts
 * const { labels, factors } = layerwiseDecay(model, { decay: 0.75 });
 * const groups = Object.fromEntries(Object.entries(factors).map(([label, f]) => [label, adamw(1e-3 * f, { mask: decayMask(model) })]));
 * const tx = partition(groups, labels); // factors: { depth0: 0.5625, depth1: 0.75, depth2: 1 } for three layers
 * ```
 *
 * `factors` are JS numbers (float64). Each layer with trainable weights is one depth, so a
 * model with many layers per block (a transformer's projections and norms) wants a `decay`
 * nearer 1 than timm's per-block values. `labels` is a {@link WeightLabels}, keyed as
 * {@link paramInfo}, made for the model's weights when called; as `partition` requires, every
 * group must have a weight in each step (`model.fit` steps them all). A `decay` outside (0, 1]
 * is a `RangeError` naming it.
 * @group tfjs interop
 */
export function layerwiseDecay(model: LayersModelLike, options: LayerwiseDecayOptions): LayerwiseDecayGroups {
  const owner = 'layerwiseDecay';
  checkRequired(owner, options, ['decay'], ['decay']);
  const decay = checkNumber(owner, 'decay', options.decay, { min: 0, minInclusive: false, max: 1 });
  // labelsByKey reads every weight now, so `last` is the last depth once it returns.
  let last = -1;
  const labels = labelsByKey(owner, model, ({ info }) => {
    last = Math.max(last, info.depth);
    return `depth${info.depth}`;
  });
  const factors: Record<string, number> = {};
  for (let d = 0; d <= last; d++) factors[`depth${d}`] = decay ** (last - d);
  return { labels, factors };
}

/**
 * The labels that split a layers model's weights between Muon and AdamW, for `partition`:
 * `'muon'` for the matrices of the hidden layers (every rank-2 weight: the kernels of `Dense`
 * layers, the kernels and recurrent kernels of `LSTM` and `GRU`), `'adam'` for the rest: the
 * output layers (those computing the model's outputs, past any layer without weights), embeddings
 * (layers whose class ends in `Embedding`), biases, normalisation weights, and weights of another
 * rank, such as convolution kernels. That is Muon's own advice (Jordan et al. 2024: embeddings,
 * the classifier head and gains and biases go to AdamW), which Keras's `Muon` follows through
 * `exclude_embeddings` and `exclude_layers`. Keras also runs Muon on 3-D and 4-D kernels,
 * reshaped to matrices; this library's {@link muon} orthogonalises rank-2 leaves only and gives
 * the others its AdamW, so they are labelled `'adam'` here, where that AdamW can be tuned.
 *
 * ```ts
 * const tx = partition({ muon: muon(0.02, { weightDecay: 0.01 }), adam: adamw(3e-4, { mask: decayMask(model) }) }, muonLabels(model));
 * ```
 *
 * `muon` on its own sends every rank-2 leaf to Muon, the output layer's kernel and embeddings
 * too; behind these labels its matrices are the hidden ones, and the AdamW part is a plain
 * `adamw`, which runs its fused kernel. The labels are a {@link WeightLabels}, keyed as
 * {@link paramInfo}, made for the model's weights when called; `partition` rejects a model
 * with no hidden matrix (no `'muon'` leaf), saying so.
 * @group tfjs interop
 */
export function muonLabels(model: LayersModelLike): WeightLabels<'muon' | 'adam'> {
  return labelsByKey('muonLabels', model, ({ info, output }) =>
    info.shape.length === 2 && !output && !isEmbedding(info) && !isNormalization(info) ? 'muon' : 'adam',
  );
}
