import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  decayMask,
  getHyperparam,
  kernelPath,
  layerwiseDecay,
  modelParams,
  muon,
  muonLabels,
  paramInfo,
  partition,
  toTfOptimizer,
  trainStep,
  treeDispose,
  type ParamInfo,
  type Params,
} from '../../src/index.js';
import { thrown } from '../helpers.js';

// Parameter groups of layers models (src/interop/param-info.ts, param-groups.ts): what
// paramInfo says of each weight, the masks and labels built on it, and that they work in both
// places a layers model trains: trainStep over modelParams(model), and model.fit with
// toTfOptimizer. tfjs-backend-wasm cannot train conv nets or embeddings (no
// Conv2DBackpropFilter, UnsortedSegmentSum), so this file runs on the cpu backend, in the
// kernel mode the run selects (fused, or composite with TFJS_KERNELS=composite).

tf.env().set('IS_TEST', false);

const previous = tf.getBackend();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend(previous);
});

const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });
const info = (layerName: string, layerClass: string, weightName: string, depth: number, shape: number[]): ParamInfo => ({
  layerName,
  layerClass,
  weightName,
  depth,
  shape,
});

/** conv -> batch norm -> flatten -> hidden dense -> output dense -> softmax, layer names prefixed with `p`. */
function convModel(p: string): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ name: `${p}conv`, filters: 2, kernelSize: 3, inputShape: [6, 6, 1], kernelInitializer: seeded(1) }),
      tf.layers.batchNormalization({ name: `${p}bn` }),
      tf.layers.flatten({ name: `${p}flat` }),
      tf.layers.dense({ name: `${p}hidden`, units: 8, activation: 'relu', kernelInitializer: seeded(2), biasInitializer: 'ones' }),
      tf.layers.dense({ name: `${p}out`, units: 3, kernelInitializer: seeded(3), biasInitializer: 'ones' }),
      tf.layers.activation({ name: `${p}softmax`, activation: 'softmax' }),
    ],
  });
}

/**
 * A functional model over token ids: embedding -> LSTM -> one dense layer applied twice (shared)
 * -> a nested Sequential (dense, layer norm) -> output dense.
 */
function sequenceModel(p: string): tf.LayersModel {
  const ids = tf.input({ shape: [5], name: `${p}ids` });
  const embedded = tf.layers.embedding({ name: `${p}emb`, inputDim: 10, outputDim: 4, embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }) }).apply(ids);
  const seq = tf.layers.lstm({ name: `${p}lstm`, units: 6, kernelInitializer: seeded(5), recurrentInitializer: seeded(6), biasInitializer: 'ones' }).apply(embedded);
  const shared = tf.layers.dense({ name: `${p}shared`, units: 6, activation: 'tanh', kernelInitializer: seeded(7), biasInitializer: 'ones' });
  const twice = shared.apply(shared.apply(seq));
  const block = tf.sequential({
    name: `${p}block`,
    layers: [
      tf.layers.dense({ name: `${p}inner`, units: 6, inputShape: [6], kernelInitializer: seeded(8), biasInitializer: 'ones' }),
      tf.layers.layerNormalization({ name: `${p}ln`, betaInitializer: 'ones' }),
    ],
  });
  const out = tf.layers.dense({ name: `${p}head`, units: 2, kernelInitializer: seeded(9), biasInitializer: 'ones' }).apply(block.apply(twice));
  return tf.model({ inputs: ids, outputs: out as tf.SymbolicTensor });
}

const convInputs = () => tf.randomNormal([8, 6, 6, 1], 0, 1, 'float32', 11);
const tokenInputs = () => tf.tensor2d(Array.from({ length: 8 * 5 }, (_, i) => (i * 7 + 3) % 10), [8, 5], 'float32');

/** A copy of each value of the params, by key. */
function snapshot(params: Record<string, tf.Tensor>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

/** Runs `fn`, pushing onto `into` the names of the tf kernels it runs. */
function recordKernels<T>(into: string[][], fn: () => T): T {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const original = engine.runKernel;
  const names: string[] = [];
  engine.runKernel = function (name: string, ...rest: unknown[]) {
    names.push(name);
    return original.call(this, name, ...rest);
  };
  try {
    return fn();
  } finally {
    engine.runKernel = original;
    into.push(names);
  }
}

/** Whether element-wise transformations run their fused kernel in this run (not with TFJS_KERNELS=composite). */
const fusedHere = () => kernelPath(adamw(0.1)) !== 'composite';

describe('paramInfo', () => {
  it('describes each weight of a Sequential model: layer, class, weight, depth among layers with weights, shape', () => {
    const model = convModel('s_');
    expect(paramInfo(model)).toEqual({
      's_conv/kernel': info('s_conv', 'Conv2D', 'kernel', 0, [3, 3, 1, 2]),
      's_conv/bias': info('s_conv', 'Conv2D', 'bias', 0, [2]),
      's_bn/gamma': info('s_bn', 'BatchNormalization', 'gamma', 1, [2]),
      's_bn/beta': info('s_bn', 'BatchNormalization', 'beta', 1, [2]),
      's_hidden/kernel': info('s_hidden', 'Dense', 'kernel', 2, [32, 8]),
      's_hidden/bias': info('s_hidden', 'Dense', 'bias', 2, [8]),
      's_out/kernel': info('s_out', 'Dense', 'kernel', 3, [8, 3]),
      's_out/bias': info('s_out', 'Dense', 'bias', 3, [3]),
    });
    // Keyed as modelParams, in the same order; the moving statistics are not trainable.
    expect(Object.keys(paramInfo(model))).toEqual(Object.keys(modelParams(model)));
    model.dispose();
  });

  it('describes a functional model: embedding, LSTM, a shared layer (one depth), a nested Sequential (its layers in place)', () => {
    const model = sequenceModel('f_');
    expect(paramInfo(model)).toEqual({
      'f_emb/embeddings': info('f_emb', 'Embedding', 'embeddings', 0, [10, 4]),
      'f_lstm/kernel': info('f_lstm', 'LSTM', 'kernel', 1, [4, 24]),
      'f_lstm/recurrent_kernel': info('f_lstm', 'LSTM', 'recurrent_kernel', 1, [6, 24]),
      'f_lstm/bias': info('f_lstm', 'LSTM', 'bias', 1, [24]),
      'f_shared/kernel': info('f_shared', 'Dense', 'kernel', 2, [6, 6]),
      'f_shared/bias': info('f_shared', 'Dense', 'bias', 2, [6]),
      'f_inner/kernel': info('f_inner', 'Dense', 'kernel', 3, [6, 6]),
      'f_inner/bias': info('f_inner', 'Dense', 'bias', 3, [6]),
      'f_ln/gamma': info('f_ln', 'LayerNormalization', 'gamma', 4, [6]),
      'f_ln/beta': info('f_ln', 'LayerNormalization', 'beta', 4, [6]),
      'f_head/kernel': info('f_head', 'Dense', 'kernel', 5, [6, 2]),
      'f_head/bias': info('f_head', 'Dense', 'bias', 5, [2]),
    });
    expect(Object.keys(paramInfo(model))).toEqual(Object.keys(modelParams(model)));
    model.dispose();
  });

  it('leaves frozen layers out, and their depths with them; a single layer is its own model', () => {
    const model = convModel('z_');
    model.layers[1].trainable = false; // the batch norm
    const described = paramInfo(model);
    expect(Object.keys(described)).toEqual(['z_conv/kernel', 'z_conv/bias', 'z_hidden/kernel', 'z_hidden/bias', 'z_out/kernel', 'z_out/bias']);
    expect(Object.values(described).map((d) => d.depth)).toEqual([0, 0, 1, 1, 2, 2]);
    const dense = tf.layers.dense({ name: 'z_alone', units: 2 });
    dense.apply(tf.input({ shape: [3] })); // builds it, naming its weights
    expect(paramInfo(dense)).toEqual({
      'z_alone/kernel': info('z_alone', 'Dense', 'kernel', 0, [3, 2]),
      'z_alone/bias': info('z_alone', 'Dense', 'bias', 0, [2]),
    });
    expect(muonLabels(dense)(modelParams(dense))).toEqual({ 'z_alone/kernel': 'adam', 'z_alone/bias': 'adam' }); // it is the output layer
    model.dispose();
    dense.dispose();
  });

  it("keys a second copy of a model by its suffixed variable names, as modelParams and toTfOptimizer do; another model's keys are refused", async () => {
    const first = sequenceModel('c_');
    const second = sequenceModel('c_'); // the same layer names: tfjs-layers suffixes the tf.Variables' names
    const a = paramInfo(first);
    const b = paramInfo(second);
    expect(Object.keys(b)).toEqual(Object.keys(a).map((k) => `${k}_1`));
    expect(Object.values(b)).toEqual(Object.values(a));
    expect(Object.keys(b)).toEqual(Object.keys(modelParams(second)));
    // The names optimizer.computeGradients (what model.fit calls) keys the gradients by.
    const optimizer = tf.train.sgd(0.1);
    const { value, grads } = optimizer.computeGradients(() => tf.mean(second.apply(tokenInputs()) as tf.Tensor) as tf.Scalar, Object.values(modelParams(second)));
    expect(Object.keys(grads).sort()).toEqual(Object.keys(b).sort());
    tf.dispose([value, ...Object.values(grads)]);
    optimizer.dispose();
    expect(decayMask(second)(modelParams(second))['c_emb/embeddings_1']).toBe(false);
    expect(() => decayMask(first)(modelParams(second))).toThrow(
      "decayMask: the params have the key 'c_emb/embeddings_1', which is not a trainable weight of the model decayMask was made for " +
        "(its 12 weights, keyed by tf.Variable name as modelParams(model) keys them: 'c_emb/embeddings', 'c_lstm/kernel', 'c_lstm/recurrent_kernel', " +
        "'c_lstm/bias', 'c_shared/kernel', 'c_shared/bias', ...); a weight added or unfrozen since needs a new decayMask(model)",
    );
    first.dispose();
    second.dispose();
  });

  it('refuses what is not a model, naming itself', () => {
    expect(() => paramInfo({} as never)).toThrow('paramInfo: expected a tfjs-layers model or layer (with trainableWeights), got an object with keys {}');
    expect(() => muonLabels(null as never)).toThrow('muonLabels: expected a tfjs-layers model or layer (with trainableWeights), got null');
  });
});

describe('decayMask', () => {
  it('is false for biases, normalisation weights and embeddings by default, and per exclude', () => {
    const seqModel = sequenceModel('m_');
    const convNet = convModel('m_');
    const params = modelParams(seqModel);
    expect(decayMask(seqModel)(params)).toEqual({
      'm_emb/embeddings': false,
      'm_lstm/kernel': true,
      'm_lstm/recurrent_kernel': true,
      'm_lstm/bias': false,
      'm_shared/kernel': true,
      'm_shared/bias': false,
      'm_inner/kernel': true,
      'm_inner/bias': false,
      'm_ln/gamma': false,
      'm_ln/beta': false,
      'm_head/kernel': true,
      'm_head/bias': false,
    });
    expect(decayMask(convNet)(modelParams(convNet))).toEqual({
      'm_conv/kernel': true,
      'm_conv/bias': false,
      'm_bn/gamma': false,
      'm_bn/beta': false,
      'm_hidden/kernel': true,
      'm_hidden/bias': false,
      'm_out/kernel': true,
      'm_out/bias': false,
    });
    const decayed = (exclude: Array<'bias' | 'normalization' | 'embedding'>) =>
      Object.entries(decayMask(seqModel, { exclude })(params)).filter(([, d]) => d).map(([k]) => k);
    expect(decayed([])).toEqual(Object.keys(params));
    expect(decayed(['embedding'])).toEqual(Object.keys(params).filter((k) => k !== 'm_emb/embeddings'));
    expect(decayed(['normalization', 'bias'])).toEqual(['m_emb/embeddings', 'm_lstm/kernel', 'm_lstm/recurrent_kernel', 'm_shared/kernel', 'm_inner/kernel', 'm_head/kernel']);
    // Any subset of the keys, and null leaves (what partition and masked hand their inner transformations).
    expect(decayMask(seqModel)({ 'm_ln/beta': null, 'm_head/kernel': params['m_head/kernel'] })).toEqual({ 'm_ln/beta': false, 'm_head/kernel': true });
    seqModel.dispose();
    convNet.dispose();
  });

  it('checks its options, naming the option and the value', () => {
    const model = convModel('e_');
    expect(thrown(() => decayMask(model, { exclude: 'bias' as never }))).toEqual(
      new TypeError('decayMask: option \'exclude\' must be an array of \'bias\', \'normalization\' or \'embedding\', got a string ("bias")'),
    );
    expect(thrown(() => decayMask(model, { exclude: ['bias', 'norm' as never] }))).toEqual(
      new RangeError("decayMask: option 'exclude' has \"norm\" at [1], expected 'bias', 'normalization' or 'embedding'"),
    );
    expect(thrown(() => decayMask(model, { exclude: [3 as never] }))).toEqual(
      new TypeError("decayMask: option 'exclude' has a number (3) at [0], expected 'bias', 'normalization' or 'embedding'"),
    );
    expect(thrown(() => decayMask(model, { exlude: [] } as never))).toEqual(new TypeError("decayMask: unknown option 'exlude' (known options: exclude)"));
    expect(thrown(() => decayMask(model)([modelParams(model)['e_conv/kernel']]))).toEqual(
      new TypeError("decayMask: expected the model's params keyed by tf.Variable name (modelParams(model), or the variables toTfOptimizer steps), got an array of length 1"),
    );
    model.dispose();
  });

  /** Checks one AdamW step on zero gradients: the decayed weights shrink by `1 - lr * wd`, the others stay, bit for bit. */
  function expectDecayedOnly(before: Record<string, Float32Array>, params: Record<string, tf.Variable>, mask: Record<string, boolean>, lr: number, wd: number): void {
    for (const [key, variable] of Object.entries(params)) {
      const now = variable.dataSync();
      const was = before[key];
      if (mask[key]) {
        const shrunk = Array.from(was, (x) => x - lr * (wd * x));
        for (let i = 0; i < now.length; i++) expect(Math.abs(now[i] - shrunk[i]), `${key}[${i}]`).toBeLessThanOrEqual(1e-7 * Math.abs(was[i]) + 1e-12);
        expect(Array.from(now), key).not.toEqual(Array.from(was));
      } else {
        expect(Array.from(now), key).toEqual(Array.from(was));
      }
    }
  }

  it('adamw with it decays only the weights it selects: trainStep over modelParams', () => {
    for (const model of [convModel('t_'), sequenceModel('t_')]) {
      const params = modelParams(model);
      const lr = 0.1;
      const wd = 0.5;
      const tx = adamw(lr, { weightDecay: wd, mask: decayMask(model) });
      expect(kernelPath(tx)).toBe(fusedHere() ? 'cpu' : 'composite');
      let state = tx.init(params);
      const before = snapshot(params);
      const zeros = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.zerosLike(v)]));
      ({ state } = trainStep(tx, params, state, zeros));
      expectDecayedOnly(before, params, decayMask(model)(params), lr, wd);
      treeDispose([state, zeros]);
      model.dispose();
    }
  });

  it('adamw with it decays only the weights it selects: model.fit with toTfOptimizer, and a step of some variables only', async () => {
    const cases: Array<[tf.LayersModel, () => tf.Tensor]> = [
      [convModel('g_'), convInputs],
      [sequenceModel('g_'), tokenInputs],
    ];
    for (const [model, inputs] of cases) {
      const lr = 0.1;
      const wd = 0.5;
      const optimizer = toTfOptimizer(adamw(lr, { weightDecay: wd, mask: decayMask(model) }));
      // A loss whose gradient is zero everywhere: only the decay moves the weights.
      model.compile({ optimizer, loss: (_y: tf.Tensor, yPred: tf.Tensor) => tf.mul(tf.mean(yPred), 0) });
      const params = modelParams(model);
      const mask = decayMask(model)(params);
      let before = snapshot(params);
      const xs = inputs();
      const ys = tf.zeros((model.outputs[0].shape as number[]).map((d) => d ?? 8));
      await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
      expect(optimizer.iterations).toBe(1);
      expectDecayedOnly(before, params, mask, lr, wd);
      // A step of two variables: the mask function resolves them by name.
      before = snapshot(params);
      const [kernel, bias] = Object.keys(params).filter((k) => k.endsWith('out/kernel') || k.endsWith('head/kernel') || k.endsWith('out/bias') || k.endsWith('head/bias'));
      const grads = { [kernel]: tf.zerosLike(params[kernel]), [bias]: tf.zerosLike(params[bias]) };
      optimizer.applyGradients(grads);
      const stepped = { [kernel]: params[kernel], [bias]: params[bias] };
      expectDecayedOnly({ [kernel]: before[kernel], [bias]: before[bias] }, stepped, mask, lr, wd);
      for (const key of Object.keys(params)) if (!(key in stepped)) expect(Array.from(params[key].dataSync()), key).toEqual(Array.from(before[key]));
      tf.dispose([xs, ys, ...Object.values(grads)]);
      optimizer.dispose();
      model.dispose();
    }
  });
});

describe('layerwiseDecay', () => {
  it('labels each weight by its depth, with factors decay ** (D - d), the output layer at 1', () => {
    const model = sequenceModel('l_');
    const { labels, factors } = layerwiseDecay(model, { decay: 0.5 });
    expect(factors).toEqual({ depth0: 1 / 32, depth1: 1 / 16, depth2: 1 / 8, depth3: 1 / 4, depth4: 1 / 2, depth5: 1 });
    const params = modelParams(model);
    expect(labels(params)).toEqual(Object.fromEntries(Object.entries(paramInfo(model)).map(([k, d]) => [k, `depth${d.depth}`])));
    expect(layerwiseDecay(model, { decay: 1 }).factors).toEqual({ depth0: 1, depth1: 1, depth2: 1, depth3: 1, depth4: 1, depth5: 1 });
    const convNet = convModel('l_');
    expect(layerwiseDecay(convNet, { decay: 0.75 }).factors).toEqual({ depth0: 0.75 ** 3, depth1: 0.75 ** 2, depth2: 0.75, depth3: 1 });
    model.dispose();
    convNet.dispose();
  });

  it('checks decay: required, a finite number in (0, 1]', () => {
    const model = convModel('d_');
    expect(thrown(() => layerwiseDecay(model, { decay: 0 }))).toEqual(new RangeError("layerwiseDecay: option 'decay' must be a finite number in (0, 1], got 0"));
    expect(thrown(() => layerwiseDecay(model, { decay: 1.5 }))).toEqual(new RangeError("layerwiseDecay: option 'decay' must be a finite number in (0, 1], got 1.5"));
    expect(thrown(() => layerwiseDecay(model, { decay: NaN }))).toEqual(new RangeError("layerwiseDecay: option 'decay' must be a finite number in (0, 1], got NaN"));
    expect(thrown(() => layerwiseDecay(model, { decay: '0.5' as never }))).toEqual(new TypeError("layerwiseDecay: option 'decay' must be a number, got \"0.5\""));
    expect(thrown(() => layerwiseDecay(model, {} as never))).toEqual(new TypeError("layerwiseDecay: option 'decay' is required"));
    expect(thrown(() => layerwiseDecay(model, undefined as never))).toEqual(new TypeError("layerwiseDecay: expected an options object with 'decay'"));
    model.dispose();
  });

  it("partition with it steps each layer at its own rate: Adam's first step moves each weight by lr * factor", () => {
    const model = sequenceModel('p_');
    const params = modelParams(model);
    const lr = 0.1;
    const { labels, factors } = layerwiseDecay(model, { decay: 0.5 });
    const tx = partition(Object.fromEntries(Object.entries(factors).map(([label, f]) => [label, adam(lr * f)])), labels);
    let state = tx.init(params);
    expect(getHyperparam(state, 'depth0.learningRate')).toBe(lr / 32);
    expect(getHyperparam(state, 'depth5.learningRate')).toBe(lr);
    const xs = tokenInputs();
    const ys = tf.randomNormal([8, 2], 0, 1, 'float32', 12);
    const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(ys, model.apply(xs) as tf.Tensor) as tf.Scalar, Object.values(params));
    const g = snapshot(grads);
    const before = snapshot(params);
    ({ state } = trainStep(tx, params, state, grads));
    // Adam's first step is lr * g / (|g| + eps): lr in size wherever |g| >> eps.
    const depths = paramInfo(model);
    for (const [key, variable] of Object.entries(params)) {
      const step = lr * 0.5 ** (5 - depths[key].depth);
      const now = variable.dataSync();
      let checked = 0;
      for (let i = 0; i < now.length; i++) {
        if (Math.abs(g[key][i]) < 1e-4) continue; // an embedding row no token uses, say
        // Exact but for float32 rounding: of |g| + eps, and of p - step.
        const want = (step * g[key][i]) / (Math.abs(g[key][i]) + 1e-8);
        expect(Math.abs(before[key][i] - now[i] - want), `${key}[${i}]`).toBeLessThanOrEqual(1e-6 * step + 2 ** -23 * Math.abs(before[key][i]));
        checked++;
      }
      expect(checked, key).toBeGreaterThan(0);
    }
    tf.dispose([value, xs, ys, ...Object.values(grads)]);
    treeDispose(state);
    model.dispose();
  });
});

describe('muonLabels', () => {
  it("gives the hidden matrices 'muon', and the embedding, the output layer, biases, norms and conv kernels 'adam'", () => {
    const seqModel = sequenceModel('u_');
    expect(muonLabels(seqModel)(modelParams(seqModel))).toEqual({
      'u_emb/embeddings': 'adam',
      'u_lstm/kernel': 'muon',
      'u_lstm/recurrent_kernel': 'muon',
      'u_lstm/bias': 'adam',
      'u_shared/kernel': 'muon',
      'u_shared/bias': 'adam',
      'u_inner/kernel': 'muon',
      'u_inner/bias': 'adam',
      'u_ln/gamma': 'adam',
      'u_ln/beta': 'adam',
      'u_head/kernel': 'adam',
      'u_head/bias': 'adam',
    });
    // The output layer is found past the softmax layer, which has no weights.
    const convNet = convModel('u_');
    expect(muonLabels(convNet)(modelParams(convNet))).toEqual({
      'u_conv/kernel': 'adam',
      'u_conv/bias': 'adam',
      'u_bn/gamma': 'adam',
      'u_bn/beta': 'adam',
      'u_hidden/kernel': 'muon',
      'u_hidden/bias': 'adam',
      'u_out/kernel': 'adam',
      'u_out/bias': 'adam',
    });
    seqModel.dispose();
    convNet.dispose();
  });

  it('finds the output layers of a model with two outputs, one inside a nested model', () => {
    const x = tf.input({ shape: [4] });
    const trunk = tf.layers.dense({ name: 'o_trunk', units: 4 }).apply(x) as tf.SymbolicTensor;
    const headA = tf.layers.dense({ name: 'o_a', units: 2 }).apply(trunk) as tf.SymbolicTensor;
    const nested = tf.sequential({ name: 'o_nested', layers: [tf.layers.dense({ name: 'o_mid', units: 4, inputShape: [4] }), tf.layers.dense({ name: 'o_b', units: 2 }), tf.layers.dropout({ rate: 0.1 })] });
    const headB = tf.layers.activation({ activation: 'sigmoid' }).apply(nested.apply(trunk)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: x, outputs: [headA, headB] });
    const labels = muonLabels(model)(modelParams(model));
    expect(Object.fromEntries(Object.entries(labels).filter(([k]) => k.endsWith('kernel')))).toEqual({
      'o_trunk/kernel': 'muon',
      'o_a/kernel': 'adam',
      'o_mid/kernel': 'muon',
      'o_b/kernel': 'adam',
    });
    model.dispose();
  });

  it('partition of muon and adamw by these labels trains a small transformer-like model with model.fit; the AdamW part runs its fused kernel', async () => {
    // Tokens -> embedding -> (dense, dense) with a residual -> layer norm -> pooling -> classifier.
    const vocab = 12;
    const ids = tf.input({ shape: [6] });
    const x = tf.layers.embedding({ name: 'x_emb', inputDim: vocab, outputDim: 16, embeddingsInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: 21 }) }).apply(ids) as tf.SymbolicTensor;
    const up = tf.layers.dense({ name: 'x_up', units: 32, activation: 'relu', kernelInitializer: seeded(22) }).apply(x);
    const down = tf.layers.dense({ name: 'x_down', units: 16, kernelInitializer: seeded(23) }).apply(up) as tf.SymbolicTensor;
    const normed = tf.layers.layerNormalization({ name: 'x_ln' }).apply(tf.layers.add().apply([x, down]));
    const pooled = tf.layers.globalAveragePooling1d({}).apply(normed);
    const out = tf.layers.dense({ name: 'x_out', units: 3, activation: 'softmax', kernelInitializer: seeded(24) }).apply(pooled);
    const model = tf.model({ inputs: ids, outputs: out as tf.SymbolicTensor });
    // The class of a sequence: which third of the vocabulary its first token is in.
    const tokens = Array.from({ length: 32 * 6 }, (_, i) => (i * 5 + Math.floor(i / 7)) % vocab);
    const xs = tf.tensor2d(tokens, [32, 6]);
    const ys = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, n) => Math.floor(tokens[n * 6] / 4)), 'int32'), 3);

    const labels = muonLabels(model);
    expect(labels(modelParams(model))).toEqual({
      'x_emb/embeddings': 'adam',
      'x_up/kernel': 'muon',
      'x_up/bias': 'adam',
      'x_down/kernel': 'muon',
      'x_down/bias': 'adam',
      'x_ln/gamma': 'adam',
      'x_ln/beta': 'adam',
      'x_out/kernel': 'adam',
      'x_out/bias': 'adam',
    });
    const adamPart = adamw(0.01, { weightDecay: 0.01, mask: decayMask(model) });
    expect(kernelPath(adamPart)).toBe(fusedHere() ? 'cpu' : 'composite');
    // The AdamW part, watched: the tf kernels its update runs (a user's object, so partition calls it as it is).
    const adamKernels: string[][] = [];
    const watched: typeof adamPart = { init: adamPart.init, update: (...args) => recordKernels(adamKernels, () => adamPart.update(...args)) };
    const tx = partition({ muon: muon(0.02, { weightDecay: 0.01 }), adam: watched }, labels);
    const optimizer = toTfOptimizer(tx);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });

    const losses: number[] = [];
    losses.push((await model.trainOnBatch(xs, ys)) as number);
    // The AdamW part's update is one fused kernel call and no other tf op.
    expect(adamKernels).toEqual([fusedHere() ? ['TfjsOptaxFusedUpdate'] : expect.arrayContaining(['Sqrt'])]);
    for (let k = 1; k < 30; k++) losses.push((await model.trainOnBatch(xs, ys)) as number);
    expect(losses[29]).toBeLessThan(0.5 * losses[0]);
    // Muon's momentum exists for the hidden matrices only.
    const state = optimizer.currentState as { inner: { muon: [{ inner: [{ mu: Record<string, tf.Tensor | null> }] }] } };
    const withMomentum = Object.entries(state.inner.muon[0].inner[0].mu).filter(([, m]) => m !== null).map(([k]) => k);
    expect(withMomentum.sort()).toEqual(['x_down/kernel', 'x_up/kernel']);
    tf.dispose([xs, ys]);
    optimizer.dispose();
    model.dispose();
  });
});

describe('in a training loop', () => {
  it('all three together over modelParams: trainStep with partition(layerwise adamw with decayMask)', () => {
    const model = convModel('w_');
    const params: Params = modelParams(model);
    const { labels, factors } = layerwiseDecay(model, { decay: 0.8 });
    const mask = decayMask(model);
    const tx = partition(Object.fromEntries(Object.entries(factors).map(([l, f]) => [l, adamw(0.01 * f, { weightDecay: 0.1, mask })])), labels);
    let state = tx.init(params);
    const xs = convInputs();
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const loss = () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar;
    const start = tf.memory().numTensors;
    let first = 0;
    let last = 0;
    for (let k = 0; k < 20; k++) {
      const { value, grads } = tf.variableGrads(loss, Object.values(params as Record<string, tf.Variable>));
      if (k === 0) first = value.dataSync()[0];
      last = value.dataSync()[0];
      ({ state } = trainStep(tx, params, state, grads));
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(last).toBeLessThan(first);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([xs, ys]);
    treeDispose(state);
    model.dispose();
  });
});
