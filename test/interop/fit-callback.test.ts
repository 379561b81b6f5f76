// fitCallback: the optimizer's hyperparameters and measurements in model.fit's logs, where
// History, earlyStopping and the user's own callbacks see them.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  adamw,
  chain,
  clipByGlobalNorm,
  exponentialDecay,
  fitCallback,
  globalNorm,
  monitor,
  sgd,
  toTfOptimizer,
} from '../../src/index.js';

// tfjs's per-kernel leak check (on under IS_TEST) trips on the wasm backend's own fused matMul
// gradient inside model.fit (see tf-optimizer.test.ts): off for this file.
tf.env().set('IS_TEST', false);

const xs = tf.tensor2d(Array.from({ length: 32 }, (_, i) => [Math.sin(i), Math.cos(i)]));
const ys = tf.tensor2d(Array.from({ length: 32 }, (_, i) => [Math.sin(i) - 2 * Math.cos(i)]));

function makeModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'zeros', biasInitializer: 'zeros' }));
  return model;
}

describe('fitCallback', () => {
  it('puts the rate the next step uses and the measured gradient norm into the batch and epoch logs', async () => {
    const model = makeModel();
    // 4 batches of 8 per epoch: after epoch e the schedule stands at count 4(e + 1).
    const schedule = exponentialDecay({ initValue: 0.1, transitionSteps: 1, decayRate: 0.9 });
    const optimizer = toTfOptimizer(chain(monitor({ gradNorm: globalNorm }), clipByGlobalNorm(10), adamw(schedule, { weightDecay: 0 })));
    model.compile({ optimizer, loss: 'meanSquaredError' });
    const batchRates: number[] = [];
    const history = await model.fit(xs, ys, {
      epochs: 3,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
      callbacks: [
        fitCallback(optimizer, { measurements: ['gradNorm'] }),
        { onBatchEnd: async (_batch: number, logs?: tf.Logs) => void batchRates.push(logs!.learningRate as number) },
      ],
    });
    const rates = history.history.learningRate as number[];
    expect(rates).toHaveLength(3);
    rates.forEach((r, e) => expect(r).toBeCloseTo(0.1 * 0.9 ** (4 * (e + 1)), 7));
    expect(batchRates).toHaveLength(12);
    batchRates.forEach((r, b) => expect(r).toBeCloseTo(0.1 * 0.9 ** (b + 1), 7));
    const norms = history.history.gradNorm as number[];
    expect(norms).toHaveLength(3);
    for (const n of norms) expect(n).toBeGreaterThan(0);
    optimizer.dispose();
    model.dispose();
  });

  it('earlyStopping can watch a measurement; setting the rate the tfjs way shows in the logs', async () => {
    const model = makeModel();
    const optimizer = toTfOptimizer(chain(monitor({ gradNorm: globalNorm }), sgd(0.05)));
    model.compile({ optimizer, loss: 'meanSquaredError' });
    const history = await model.fit(xs, ys, {
      epochs: 20,
      batchSize: 32,
      verbose: 0,
      // Listed with tfjs's own callback objects, it is wrapped in tf.CustomCallback as any plain one.
      callbacks: [
        new tf.CustomCallback({ onEpochEnd: async (epoch: number) => void (optimizer.learningRate = 0.05 / (epoch + 2)) }),
        new tf.CustomCallback(fitCallback(optimizer, { measurements: ['gradNorm'], every: 'epoch' })),
        // Stops once the norm fails to fall by 1e9 for one epoch: after the second epoch.
        tf.callbacks.earlyStopping({ monitor: 'gradNorm', mode: 'min', minDelta: 1e9, patience: 1 }),
      ],
    });
    expect(history.epoch).toEqual([0, 1]);
    // The rate set at the end of each epoch is the one the next step uses: what the logs show.
    expect(history.history.learningRate).toEqual([0.05 / 2, 0.05 / 3]);
    optimizer.dispose();
    model.dispose();
  });

  it('rejects what it cannot log, before training', () => {
    const optimizer = toTfOptimizer(sgd(0.1));
    expect(() => fitCallback(tf.train.sgd(0.1) as never)).toThrow('fitCallback: expected an optimizer made by toTfOptimizer');
    expect(() => fitCallback(optimizer, { every: 'step' as never })).toThrow("fitCallback: option 'every' must be 'batch' or 'epoch'");
    expect(() => fitCallback(optimizer, { hyperparams: 'learningRate' as never })).toThrow("option 'hyperparams' must be an array of names");
    expect(() => fitCallback(optimizer, { measurements: ['a', 'a'] })).toThrow("option 'measurements' lists 'a' twice");
    expect(() => fitCallback(optimizer, { evry: 'batch' } as never)).toThrow(/evry/);
    optimizer.dispose();
  });
});
