import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { adam, modelParams, trainStep, treeDispose } from '../../src/index.js';
import { expectBitwiseEqual } from '../helpers.js';

// modelParams (src/interop/layers.ts) against tfjs-layers: its keys are the ones tf.variableGrads
// and optimizer.computeGradients key gradients by, also for a second copy of a model in one
// process, whose tf.Variables tfjs-layers names with a suffix.

tf.env().set('IS_TEST', false);

const xs = tf.randomNormal([16, 4], 0, 1, 'float32', 3);
const ys = tf.randomNormal([16, 2], 0, 1, 'float32', 4);

function makeModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 6, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }));
  model.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 8 }) }));
  return model;
}

/** A second copy of `model` in this process, as a checkpoint loaded next to it: the same layer names. */
async function loadedCopy(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => ((saved = artifacts), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  return tf.loadLayersModel(tf.io.fromMemory(saved!));
}

describe('modelParams', () => {
  it('keys a second copy of a model as tf.variableGrads does, so trainStep takes its gradients as they are, and trains it as the first', async () => {
    const first = makeModel();
    const second = await loadedCopy(first);
    const p1 = modelParams(first);
    const p2 = modelParams(second);
    // The copy has the same weight names in the model, and suffixed tf.Variable names.
    expect(second.trainableWeights.map((w) => w.originalName)).toEqual(first.trainableWeights.map((w) => w.originalName));
    expect(Object.keys(p2)).toEqual(Object.keys(p1).map((k) => `${k}_1`));
    const tx = adam(0.05);
    let s1 = tx.init(p1);
    let s2 = tx.init(p2);
    const lossOf = (m: tf.LayersModel) => () => tf.losses.meanSquaredError(ys, m.apply(xs) as tf.Tensor) as tf.Scalar;
    const start = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) {
      const g1 = tf.variableGrads(lossOf(first), Object.values(p1));
      const g2 = tf.variableGrads(lossOf(second), Object.values(p2));
      expect(Object.keys(g2.grads).sort()).toEqual(Object.keys(p2).sort());
      ({ state: s1 } = trainStep(tx, p1, s1, g1.grads));
      ({ state: s2 } = trainStep(tx, p2, s2, g2.grads));
      tf.dispose([g1.value, g2.value]);
    }
    expect(tf.memory().numTensors).toBe(start);
    expectBitwiseEqual(second.getWeights(), first.getWeights());
    treeDispose([s1, s2]);
    first.dispose();
    second.dispose();
  });

  it('optimizer.computeGradients keys them the same way', async () => {
    const first = makeModel();
    const second = await loadedCopy(first);
    const params = modelParams(second);
    const optimizer = tf.train.sgd(0.1);
    const { value, grads } = optimizer.computeGradients(() => tf.losses.meanSquaredError(ys, second.apply(xs) as tf.Tensor) as tf.Scalar, Object.values(params));
    expect(Object.keys(grads).sort()).toEqual(Object.keys(params).sort());
    tf.dispose([value, ...Object.values(grads)]);
    optimizer.dispose();
    first.dispose();
    second.dispose();
  });

  it('refuses what is not a model, and a weight listed twice', () => {
    expect(() => modelParams({} as never)).toThrow('modelParams: expected a tfjs-layers model or layer (with trainableWeights), got an object with keys {}');
    const model = makeModel();
    const w = model.trainableWeights[0];
    expect(() => modelParams({ trainableWeights: [w, w] })).toThrow(
      `modelParams: the tf.Variable '${w.name}' is at trainableWeights[1] and before it; list each weight once`,
    );
    model.dispose();
  });
});
