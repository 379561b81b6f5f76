// The playground's MLP training outside the browser: the state dtype a racer picks reaches its
// optimizer (stateBytes of the state, labels, training still works), and the list of optimizers
// the page offers the state dtype on is the library's.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as optax from '../src/index.js';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { makeDataset, parameterCount } from '../examples/playground/src/mlp-model.js';
import { defaultMlpState, MLP_LEARNING_RATES } from '../examples/playground/src/mlp-state.js';
import { MlpTraining } from '../examples/playground/src/mlp-train.js';
import { defaultRacer, type RacerConfig } from '../examples/playground/src/racer.js';
import { OPTIMIZERS, optionsFor } from '../examples/playground/src/registry.js';
import { STATE_DTYPE_TAKERS } from '../examples/playground/src/state-dtype.js';

vi.mock('tfjs-optax', () => import('../src/index.js'));

describe('the MLP page with packed optimizer states', () => {
  it('offers stateDtype on exactly the optimizers of the library that take it', () => {
    const params = { w: tf.zeros([4, 3]) };
    for (const entry of OPTIMIZERS) {
      const factory = optax[entry.name] as (lr: number | undefined, o: Record<string, unknown>) => optax.GradientTransformation<unknown>;
      const options = { ...optionsFor(entry, entry.name === 'sgd' ? { momentum: 0.9 } : {}), stateDtype: 'bfloat16' };
      const make = () => factory(entry.learningRate === null ? undefined : 0.01, options);
      if (!STATE_DTYPE_TAKERS.has(entry.name)) {
        expect(make, entry.name).toThrow(/stateDtype/);
        continue;
      }
      const state = make().init(params);
      expect(optax.treeLeaves(state as optax.PyTree<tf.Tensor>).some((t) => t instanceof tf.Tensor && t.dtype === 'int32'), entry.name).toBe(true);
      optax.treeDispose(state);
    }
    params.w.dispose();
  });

  it("trains Adam with float32, bfloat16 and int8 moments; each state's size is its layout's", async () => {
    // tfjs's test mode flags softmaxCrossEntropy's gradient (a custom gradient) as a leak; the page runs without it.
    const testMode = tf.env().getBool('IS_TEST');
    tf.env().set('IS_TEST', false);
    onTestFinished(() => tf.env().set('IS_TEST', testMode));
    const before = tf.memory().numTensors;
    const data = makeDataset();
    const adam = defaultMlpState().racers[3];
    const racers: RacerConfig[] = [adam, { ...adam, stateDtype: 'bfloat16' }, { ...adam, stateDtype: 'int8' }, defaultRacer('adagrad', MLP_LEARNING_RATES, { stateDtype: 'int8' })];
    const training = new MlpTraining(data, 2, racers);
    // The MLP's leaves hold 640, 32, 96 and 3 values: 771 parameters, two moments each.
    expect(parameterCount()).toBe(771);
    const words = (perLeaf: (n: number) => number) => [640, 32, 96, 3].reduce((sum, n) => sum + 1 + perLeaf(n), 0);
    expect(training.curves.map((c) => c.stateBytes)).toEqual([
      2 * 4 * 771,
      2 * 4 * words((n) => Math.ceil(n / 2)),
      2 * 4 * words((n) => Math.ceil(n / 256) + Math.ceil(n / 4)),
      // adagrad takes no stateDtype: the choice does not apply, its one accumulator stays float32.
      4 * 771,
    ]);
    expect(training.curves.map((c) => c.stateBytes)).toEqual([6168, 3120, 1624, 3084]);
    expect(training.curves.map((c) => c.label)).toEqual(['adam 0.003', 'adam 0.003 · bfloat16 state', 'adam 0.003 · int8 state', 'adagrad 0.012']);
    await training.evaluate();
    while (!training.finished) {
      training.trainEpoch();
      await training.evaluate();
    }
    training.dispose();
    for (const c of training.curves) {
      expect([c.status, c.message], c.label).toEqual(['finished', undefined]);
      expect(c.trainLoss[2], c.label).toBeLessThan(c.trainLoss[0]);
    }
    // The packed moments follow float32's closely after 20 steps.
    const [f32, bf16, int8] = training.curves.map((c) => c.trainLoss[2]);
    expect(Math.abs(bf16 - f32) / f32).toBeLessThan(0.01);
    expect(Math.abs(int8 - f32) / f32).toBeLessThan(0.05);
    tf.dispose([data.train.x, data.train.y, data.test.x, data.test.y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
