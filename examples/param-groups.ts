// Parameter groups of a layers model: which weights to decay, a learning rate per layer, and
// Muon for the hidden matrices with AdamW for the rest, each trained with model.fit.
import * as tf from '@tensorflow/tfjs';
import { adamw, decayMask, layerwiseDecay, muon, muonLabels, paramInfo, partition, toTfOptimizer, type GradientTransformation } from 'tfjs-optax';

await tf.setBackend('cpu'); // tfjs-backend-wasm 4.22 cannot train embeddings (no UnsortedSegmentSum)

/** A small transformer-like classifier: embedding, a residual MLP block with a layer norm, pooling, a softmax head. */
function makeModel(): tf.LayersModel {
  const ids = tf.input({ shape: [6] });
  const x = tf.layers.embedding({ inputDim: 12, outputDim: 16, embeddingsInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: 1 }) }).apply(ids) as tf.SymbolicTensor;
  const hidden = tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x);
  const back = tf.layers.dense({ units: 16, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(hidden) as tf.SymbolicTensor;
  const normed = tf.layers.layerNormalization().apply(tf.layers.add().apply([x, back]));
  const pooled = tf.layers.globalAveragePooling1d({}).apply(normed);
  const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(pooled);
  return tf.model({ inputs: ids, outputs: out as tf.SymbolicTensor });
}

// Sequences of 6 tokens; the class is the third of the vocabulary the first token falls in.
const tokens = Array.from({ length: 32 * 6 }, (_, i) => (i * 5 + Math.floor(i / 7)) % 12);
const xs = tf.tensor2d(tokens, [32, 6]);
const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, n) => Math.floor(tokens[n * 6] / 4)), 'int32'), 3));

const model = makeModel();
for (const [key, { layerClass, weightName, depth, shape }] of Object.entries(paramInfo(model))) {
  console.log(`${key.padEnd(46)} ${layerClass.padEnd(18)} ${weightName.padEnd(10)} depth ${depth}  [${shape.join(', ')}]`);
}
model.dispose();

// AdamW that decays neither biases, nor normalisation weights, nor embeddings.
const withDecayMask = (model: tf.LayersModel) => adamw(3e-3, { weightDecay: 0.05, mask: decayMask(model) });

// One AdamW per layer, at 3e-3 * 0.8 ** (D - depth): the output layer at the full rate.
function withLayerwiseDecay(model: tf.LayersModel) {
  const { labels, factors } = layerwiseDecay(model, { decay: 0.8 }); // factors: { depth0: 0.4096, ..., depth4: 1 }
  const perLayer = Object.fromEntries(Object.entries(factors).map(([label, f]) => [label, adamw(3e-3 * f, { mask: decayMask(model) })]));
  return partition(perLayer, labels);
}

// Muon for the hidden matrices; AdamW for the embedding, the output layer, biases and norms.
const withMuon = (model: tf.LayersModel) => partition({ muon: muon(0.02), adam: adamw(3e-3, { mask: decayMask(model) }) }, muonLabels(model));

const recipes: Array<[string, (model: tf.LayersModel) => GradientTransformation<any>]> = [
  ['adamw + decayMask', withDecayMask],
  ['layerwiseDecay', withLayerwiseDecay],
  ['muon + muonLabels', withMuon],
];
for (const [name, recipe] of recipes) {
  const model = makeModel();
  const optimizer = toTfOptimizer(recipe(model));
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const { history } = await model.fit(xs, ys, { epochs: 30, batchSize: 32, verbose: 0 });
  const loss = history.loss as number[];
  console.log(`${name}: loss ${loss[0].toFixed(3)} -> ${loss.at(-1)!.toFixed(3)} in ${optimizer.iterations} steps`);
  optimizer.dispose();
  model.dispose();
}
tf.dispose([xs, ys]);
console.log(`${tf.memory().numTensors} tensors alive`);
