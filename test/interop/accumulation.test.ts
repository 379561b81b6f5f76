// Gradient accumulation in model.fit: multiSteps behind toTfOptimizer turns batches of 8 into the
// steps of batches of 32, and `iterations` counts the micro-batches.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { adamw, multiSteps, toTfOptimizer } from '../../src/index.js';

// tfjs's per-kernel leak check trips on the wasm backend's own fused matMul gradient inside
// model.fit (see tf-optimizer.test.ts): off for this file.
tf.env().set('IS_TEST', false);

const xs = tf.randomNormal([64, 3], 0, 1, 'float32', 11);
const ys = tf.randomNormal([64, 2], 0, 1, 'float32', 12);

function makeModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 4, inputShape: [3], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  model.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  return model;
}

describe('gradient accumulation in model.fit', () => {
  it('multiSteps(adamw, { everyK: 4 }) on batches of 8 gives the weights of adamw on batches of 32', async () => {
    const small = makeModel();
    const accumulating = toTfOptimizer(multiSteps(adamw(1e-2, { weightDecay: 1e-2 }), { everyK: 4 }));
    small.compile({ optimizer: accumulating, loss: 'meanSquaredError' });
    await small.fit(xs, ys, { epochs: 5, batchSize: 8, shuffle: false, verbose: 0 });

    const large = makeModel();
    const plain = toTfOptimizer(adamw(1e-2, { weightDecay: 1e-2 }));
    large.compile({ optimizer: plain, loss: 'meanSquaredError' });
    await large.fit(xs, ys, { epochs: 5, batchSize: 32, shuffle: false, verbose: 0 });

    // 64 samples: 8 micro-batches or 2 batches per epoch, 10 updates of the weights either way.
    expect(accumulating.iterations).toBe(40);
    expect(plain.iterations).toBe(10);
    const a = small.getWeights().map((w) => Array.from(w.dataSync()));
    const b = large.getWeights().map((w) => Array.from(w.dataSync()));
    const start = makeModel().getWeights().map((w) => Array.from(w.dataSync()));
    let apart = 0;
    let moved = 0;
    a.forEach((leaf, k) =>
      leaf.forEach((x, i) => {
        apart = Math.max(apart, Math.abs(x - b[k][i]));
        moved = Math.max(moved, Math.abs(x - start[k][i]));
      }),
    );
    // The mean of four batch means is the batch mean to float32 rounding; 10 Adam steps keep it
    // there. The weights did move, by far more than that (10 steps of about the rate, 1e-2).
    expect(apart).toBeLessThan(2e-6);
    expect(moved).toBeGreaterThan(0.05);
    accumulating.dispose();
    plain.dispose();
    small.dispose();
    large.dispose();
  });
});
