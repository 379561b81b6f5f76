// Trains the MLP with several racers side by side, one epoch at a time, with tfjs-optax's
// valueAndGrad and trainStep; after each epoch the train loss, the test accuracy and the gradient
// norm (a monitor in front of each optimizer) of every racer are read back in one go, and after
// each step the learning rate the next step uses (a number in the state: no read back). The size
// of each optimizer's state (stateBytes) is taken after init: it shows what a packed stateDtype saves.
import * as tf from '@tensorflow/tfjs-core';
import { chain, getHyperparam, globalNorm, monitor, stateBytes, type MonitorState } from 'tfjs-optax';
import { STEPS_PER_EPOCH, accuracy, batch, crossEntropy, initMlp, type Dataset, type Mlp } from './mlp-model.js';
import { racerLabel, type RacerConfig } from './racer.js';
import { Descents, descend } from './step.js';

/** Every racer starts from these weights, as in examples/mlp.ts. */
const INIT_SEED = 7;

export interface Curves {
  config: RacerConfig;
  label: string;
  /** Per epoch, the first entry before any training. */
  trainLoss: number[];
  testAccuracy: number[];
  /** Per epoch, the gradients' global norm at its last step (the monitor's); none before training. */
  gradNorm: number[];
  /** Per step, the learning rate the next step uses, read from the state (empty where it keeps none). */
  learningRate: number[];
  /** Bytes of the optimizer's state after init (`stateBytes`, the monitor's left out); null where init failed. */
  stateBytes: number | null;
  status: 'training' | 'finished' | 'diverged' | 'failed';
  message?: string;
}

export class MlpTraining {
  readonly curves: Curves[];
  private readonly descents: Descents<Mlp>;
  private epochsDone = 0;

  constructor(
    private readonly data: Dataset,
    readonly epochs: number,
    racers: RacerConfig[],
  ) {
    const totalSteps = epochs * STEPS_PER_EPOCH;
    this.curves = racers.map((config) => ({
      config,
      label: racerLabel(config),
      trainLoss: [],
      testAccuracy: [],
      gradNorm: [],
      learningRate: [],
      stateBytes: null,
      status: 'training',
    }));
    // A monitor at the head of the chain records the gradients' norm (from the sum of squares a
    // fused kernel computes anyway); the optimizer runs as it would alone.
    this.descents = new Descents(this.curves, racers, totalSteps, () => initMlp(INIT_SEED), (tx) =>
      chain(monitor({ gradNorm: globalNorm }), tx),
    );
    this.descents.live.forEach((live, i) => {
      if (live !== null) this.curves[i].stateBytes = stateBytes((live.state as [MonitorState, unknown])[1]);
    });
  }

  get epoch(): number {
    return this.epochsDone;
  }

  get finished(): boolean {
    return this.epochsDone >= this.epochs || this.descents.allStopped;
  }

  /** Train loss, test accuracy and gradient norm of every racer still training, read back in one go. */
  async evaluate(): Promise<void> {
    const { train, test } = this.data;
    const pending = this.descents.live.map((live) =>
      live === null
        ? null
        : tf.tidy(() => tf.stack([crossEntropy(live.params, train.x, train.y), accuracy(live.params, test.x, test.y), gradNormOf(live.state)])),
    );
    const present = pending.filter((t): t is tf.Tensor => t !== null);
    if (present.length === 0) return;
    const all = tf.concat(present);
    const values = await all.data();
    tf.dispose([all, ...present]);
    let j = 0;
    pending.forEach((t, i) => {
      if (t === null) return;
      const [loss, acc, norm] = [values[j], values[j + 1], values[j + 2]];
      j += 3;
      const curves = this.curves[i];
      curves.trainLoss.push(loss);
      curves.testAccuracy.push(acc);
      if (this.epochsDone > 0) curves.gradNorm.push(norm);
      if (!Number.isFinite(loss)) {
        this.descents.stop(i, 'diverged', `the loss is not finite after epoch ${this.epochsDone}`);
      } else if (this.epochsDone >= this.epochs) {
        curves.status = 'finished';
      }
    });
  }

  /** One epoch (10 batches of 64) for every racer still training. */
  trainEpoch(): void {
    this.descents.live.forEach((live, i) => {
      if (live === null) return;
      for (let b = 0; b < STEPS_PER_EPOCH && this.descents.live[i] !== null; b++) {
        const [x, y] = batch(this.data, b);
        try {
          descend(live, (p: Mlp) => crossEntropy(p, x, y)).dispose();
          const rate = learningRateOf(live.state);
          if (rate !== undefined) this.curves[i].learningRate.push(rate);
        } catch (err) {
          this.descents.fail(i, err);
        } finally {
          tf.dispose([x, y]);
        }
      }
    });
    this.epochsDone++;
  }

  /** Frees every tensor the training still holds (not the dataset, which the page owns). */
  dispose(): void {
    this.descents.dispose();
  }
}

/** The monitor's gradient norm in a racer's state (`chain(monitor, tx)`), NaN before the first step. */
function gradNormOf(state: unknown): tf.Scalar {
  const measured = (state as [MonitorState, unknown])[0].measurements.gradNorm;
  return measured === undefined ? tf.scalar(NaN) : tf.reshape(measured as tf.Tensor, []);
}

/** The learning rate the next step uses, where the optimizer keeps one (L-BFGS with a line search does not). */
function learningRateOf(state: unknown): number | undefined {
  try {
    return getHyperparam(state, 'learningRate');
  } catch {
    return undefined;
  }
}
