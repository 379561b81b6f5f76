// The layers model of the resume test: fixed seeds and layer names, so every process builds the
// same model and data.
import * as tf from '@tensorflow/tfjs';
import { adamw, chain, clipByGlobalNorm, warmupCosineDecaySchedule } from '../../../src/index.js';

export const LAYERS_EPOCHS = 3;
export const LAYERS_FIT = { batchSize: 16, shuffle: false, verbose: 0 as const };

export function layersData(): { xs: tf.Tensor; ys: tf.Tensor } {
  return { xs: tf.randomNormal([48, 5], 0, 1, 'float32', 21), ys: tf.randomNormal([48, 2], 0, 1, 'float32', 22) };
}

export function layersModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ name: 'resume_hidden', units: 6, inputShape: [5], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 23 }) }));
  model.add(tf.layers.dense({ name: 'resume_out', units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 24 }) }));
  return model;
}

export function layersTx() {
  const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.03, warmupSteps: 4, decaySteps: 30 });
  return chain(clipByGlobalNorm(1), adamw(schedule, { weightDecay: 0.01 }));
}
