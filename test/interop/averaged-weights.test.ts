import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  applyIfFinite,
  averagedParams,
  averageParams,
  modelParams,
  OptaxOptimizer,
  sgd,
  toTfOptimizer,
  trainStep,
  treeDispose,
  valueAndGrad,
  withAveragedWeights,
} from '../../src/index.js';
import { expectBitwiseEqual, thrown } from '../helpers.js';

// withAveragedWeights (src/interop/averaged-weights.ts) against tfjs-layers: a model evaluated with
// the averages that averageParams keeps, from a state or from the OptaxOptimizer training it, and
// its own weights put back bit for bit however fn ends.

// As in tf-optimizer.test.ts: tfjs's per-kernel leak check trips on the wasm backend's own fused
// matMul gradient inside model.fit; leaks are checked with tf.memory() instead.
tf.env().set('IS_TEST', false);

function makeModel(seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 8, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  model.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return model;
}

const xs = tf.randomNormal([32, 4], 0, 1, 'float32', 1);
const ys = tf.randomNormal([32, 3], 0, 1, 'float32', 2);

/** Copies of the model's trainable weights, by variable name (the caller disposes them). */
function snapshot(model: tf.LayersModel): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(modelParams(model))) out[name] = tf.tensor(v.dataSync().slice(), v.shape);
  return out;
}

/** The model's trainable weights in order (two models' variable names differ). */
const weightsOf = (model: tf.LayersModel) => model.trainableWeights.map((w) => w.read());

/** `steps` trainSteps of `averageParams(adam)` over the model's weights: the state (the weights are trained in place). */
function train(model: tf.LayersModel, steps: number) {
  const tx = averageParams(adam(0.05), { kind: 'swa', start: 2 });
  let params: Record<string, tf.Tensor> = modelParams(model);
  let state = tx.init(params);
  const lossAndGrads = valueAndGrad(() => tf.losses.meanSquaredError(ys, model.apply(xs) as tf.Tensor) as tf.Scalar);
  for (let k = 0; k < steps; k++) {
    const { value, grads } = lossAndGrads(params);
    ({ params, state } = trainStep(tx, params, state, grads as Record<string, tf.Tensor>));
    value.dispose();
  }
  return state;
}

describe('withAveragedWeights', () => {
  it('runs fn with the averages of a state over modelParams(model), then restores the weights bit for bit, leaving no tensor', () => {
    const model = makeModel(3);
    const state = train(model, 6);
    const own = snapshot(model);
    const averages = averagedParams(state);
    const before = tf.memory().numTensors;
    const result = withAveragedWeights(model, state, () => {
      expectBitwiseEqual(modelParams(model), averages);
      return 'done';
    });
    expect(result).toBe('done');
    expectBitwiseEqual(modelParams(model), own);
    expect(tf.memory().numTensors).toBe(before);
    // The averaged model predicts differently from the trained one.
    const p1 = withAveragedWeights(model, state, () => model.predict(xs) as tf.Tensor);
    const p2 = model.predict(xs) as tf.Tensor;
    expect(Array.from(p1.dataSync())).not.toEqual(Array.from(p2.dataSync()));
    treeDispose([state, own, averages, p1, p2]);
    model.dispose();
  });

  it('restores the weights bit for bit when fn throws, and passes the error on', () => {
    const model = makeModel(5);
    const state = train(model, 4);
    const own = snapshot(model);
    const before = tf.memory().numTensors;
    const error = thrown(() =>
      withAveragedWeights(model, state, () => {
        model.predict(xs); // a tensor fn leaves behind is fn's own business; this one is freed below
        throw new Error('evaluation failed');
      }),
    );
    expect(error.message).toBe('evaluation failed');
    expectBitwiseEqual(modelParams(model), own);
    expect(tf.memory().numTensors).toBe(before + 1);
    treeDispose([state, own]);
    model.dispose();
  });

  it('returns the promise of an async fn, restoring the weights when it resolves and when it rejects', async () => {
    const model = makeModel(7);
    const state = train(model, 5);
    const own = snapshot(model);
    const averages = averagedParams(state);
    const before = tf.memory().numTensors;
    const loss = await withAveragedWeights(model, state, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      expectBitwiseEqual(modelParams(model), averages);
      const l = tf.tidy(() => tf.losses.meanSquaredError(ys, model.predict(xs) as tf.Tensor));
      const value = (await l.data())[0];
      l.dispose();
      return value;
    });
    expect(Number.isFinite(loss)).toBe(true);
    expectBitwiseEqual(modelParams(model), own);
    const rejected = withAveragedWeights(model, state, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('async evaluation failed');
    });
    // Averaged until the promise settles.
    expectBitwiseEqual(modelParams(model), averages);
    await expect(rejected).rejects.toThrow('async evaluation failed');
    expectBitwiseEqual(modelParams(model), own);
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([state, own, averages]);
    model.dispose();
  });

  it('takes the OptaxOptimizer training the model in model.fit, with averageParams inside applyIfFinite; training goes on as before', async () => {
    const model = makeModel(9);
    const tx = applyIfFinite(averageParams(adamw(0.02), { kind: 'ema', decay: 0.9, debias: true }), { maxConsecutiveErrors: 3 });
    const optimizer = toTfOptimizer(tx);
    model.compile({ optimizer, loss: 'meanSquaredError' });
    const twin = makeModel(9);
    twin.compile({ optimizer: toTfOptimizer(applyIfFinite(adamw(0.02), { maxConsecutiveErrors: 3 })), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    await twin.fit(xs, ys, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    const inner = (optimizer.currentState as { inner: { n: number; count: number } }).inner;
    expect(inner.n).toBe(12);
    expect(inner.count).toBe(12);
    const own = snapshot(model);
    const averages = averagedParams(optimizer.currentState);
    expect(Object.keys(averages as object).sort()).toEqual(Object.keys(modelParams(model)).sort());
    const before = tf.memory().numTensors;
    const evaluated = await withAveragedWeights(model, model.optimizer as OptaxOptimizer, async () => {
      expectBitwiseEqual(modelParams(model), averages);
      const l = model.evaluate(xs, ys) as tf.Scalar;
      const value = (await l.data())[0];
      l.dispose();
      return value;
    });
    expect(Number.isFinite(evaluated)).toBe(true);
    expectBitwiseEqual(modelParams(model), own);
    expect(tf.memory().numTensors).toBe(before);
    // The wrapper leaves the trajectory alone, before and after the weights were swapped.
    expectBitwiseEqual(weightsOf(model), weightsOf(twin));
    await model.fit(xs, ys, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    await twin.fit(xs, ys, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    expectBitwiseEqual(weightsOf(model), weightsOf(twin));
    treeDispose([own, averages]);
    optimizer.dispose();
    twin.optimizer.dispose();
    model.dispose();
    twin.dispose();
  });

  it('refuses what it cannot use, before changing the model or calling fn', () => {
    const model = makeModel(11);
    const other = makeModel(11);
    const own = snapshot(model);
    let called = 0;
    const fn = () => called++;
    const before = tf.memory().numTensors;
    const fresh = toTfOptimizer(averageParams(sgd(0.1), { kind: 'swa' }), { name: 'avg' });
    expect(thrown(() => withAveragedWeights(model, fresh, fn)).message).toMatch(/^withAveragedWeights: the optimizer 'avg' has no state yet/);
    expect(thrown(() => withAveragedWeights(model, { count: 0 }, fn))).toBeInstanceOf(TypeError);
    expect(thrown(() => withAveragedWeights(model, { count: 0 }, fn)).message).toMatch(/^withAveragedWeights: expected the state of averageParams/);
    const tx = averageParams(sgd(0.1), { kind: 'swa' });
    const initial = tx.init(modelParams(model));
    expect(thrown(() => withAveragedWeights(model, initial, fn)).message).toMatch(/^withAveragedWeights: nothing has been averaged yet \(state\.n is 0\)/);
    const foreign = train(other, 3);
    expect(thrown(() => withAveragedWeights(model, foreign, fn)).message).toMatch(/^withAveragedWeights: state\.averaged has no average of the model's weight '[^']+'/);
    expect(thrown(() => withAveragedWeights(model, foreign, 3 as never))).toBeInstanceOf(TypeError);
    expect(called).toBe(0);
    expectBitwiseEqual(modelParams(model), own);
    treeDispose([initial, foreign]);
    expect(tf.memory().numTensors).toBe(before);
    treeDispose(own);
    fresh.dispose();
    model.dispose();
    other.dispose();
  });
});
