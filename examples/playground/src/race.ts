// Runs a race: every racer descends the same function from the same start, in lockstep, with
// tfjs-optax's valueAndGrad and trainStep. Positions and losses are read back once per call to
// `advance` (one GPU read for all racers and steps), so the page can animate the race as it runs.
import * as tf from '@tensorflow/tfjs-core';
import { lossOf, type PointParams, type TestFunction } from './functions.js';
import { entryOf, racerLabel, racerSchedule, type RacerConfig } from './racer.js';
import { Descents, descend } from './step.js';

export type RunStatus = 'running' | 'finished' | 'diverged' | 'failed';

/** What the page shows of one racer: plain numbers, kept after the tensors are gone. */
export interface RacerRun {
  config: RacerConfig;
  label: string;
  /** Points visited, the start first: `steps + 1` of them once finished. */
  trajectory: Array<[number, number]>;
  /** The loss at each point of the trajectory. */
  losses: number[];
  /** The learning rate of each step (from the schedule), or null when there is none to show. */
  learningRates: number[] | null;
  status: RunStatus;
  /** Why a racer failed or diverged (the library's error message for a bad hyperparameter). */
  message?: string;
}

/** A point this far outside the plotted region counts as diverged. */
const ESCAPE_FACTOR = 1e3;

export class Race {
  readonly runs: RacerRun[];
  private readonly descents: Descents<PointParams>;
  private readonly loss: (p: PointParams) => tf.Scalar;
  private stepsDone = 0;

  constructor(
    readonly fn: TestFunction,
    readonly start: [number, number],
    readonly steps: number,
    racers: RacerConfig[],
  ) {
    this.loss = lossOf(fn);
    this.runs = racers.map((config) => {
      const schedule = racerSchedule(config, steps);
      return {
        config,
        label: racerLabel(config),
        trajectory: [[start[0], start[1]]],
        losses: [],
        learningRates: schedule ? Array.from({ length: steps }, (_, k) => schedule(k)) : constantRates(config, steps),
        status: 'running' as RunStatus,
      };
    });
    this.descents = new Descents(this.runs, racers, steps, (config) => ({ xy: tf.tensor(start, entryOf(config).matrix ? [1, 2] : [2]) }));
  }

  get step(): number {
    return this.stepsDone;
  }

  get finished(): boolean {
    return this.stepsDone >= this.steps || this.descents.allStopped;
  }

  /**
   * Takes up to `n` more steps with every racer still running, then reads the new points and
   * losses back. The last call also records the loss at the final point.
   */
  async advance(n: number): Promise<void> {
    const todo = Math.min(n, this.steps - this.stepsDone);
    // Per racer, the tensors to read: [loss, x, y] for each step taken.
    const pending: tf.Tensor[][] = this.descents.live.map(() => []);
    for (let k = 0; k < todo; k++) {
      this.descents.live.forEach((live, i) => {
        if (live === null) return;
        try {
          const value = descend(live, this.loss);
          // A reshape shares the point's buffer, and trainStep never writes into a shared buffer:
          // it keeps this step's point for the read-back.
          pending[i].push(tf.reshape(value, [1]), tf.reshape(live.params.xy, [2]));
          value.dispose();
        } catch (err) {
          this.descents.fail(i, err);
        }
      });
    }
    this.stepsDone += todo;
    const last = this.stepsDone >= this.steps;
    if (last) {
      this.descents.live.forEach((live, i) => {
        if (live !== null) pending[i].push(tf.tidy(() => tf.reshape(this.loss(live.params), [1])));
      });
    }
    await this.readBack(pending);
    if (last) this.descents.dispose();
  }

  /** Reads every pending tensor in one go and appends the numbers to the runs. */
  private async readBack(pending: tf.Tensor[][]): Promise<void> {
    const all = pending.flat();
    if (all.length === 0) return;
    const flat = tf.concat(all);
    const values = await flat.data();
    tf.dispose([flat, ...all]);
    let offset = 0;
    pending.forEach((tensors, i) => {
      const run = this.runs[i];
      const size = tensors.reduce((s, t) => s + t.size, 0);
      const numbers = values.subarray(offset, offset + size);
      offset += size;
      if (run.status !== 'running') return;
      let j = 0;
      // Pairs of (loss before the step, point after it), then the final loss if there is one.
      while (j + 3 <= numbers.length) {
        run.losses.push(numbers[j]);
        const point: [number, number] = [numbers[j + 1], numbers[j + 2]];
        if (!Number.isFinite(numbers[j]) || !this.inRange(point)) {
          this.descents.stop(i, 'diverged', `diverged at step ${run.losses.length}`);
          return;
        }
        run.trajectory.push(point);
        j += 3;
      }
      if (j < numbers.length) {
        run.losses.push(numbers[j]);
        if (!Number.isFinite(numbers[j])) this.descents.stop(i, 'diverged', 'the final loss is not finite');
        else run.status = 'finished';
      }
    });
  }

  private inRange([x, y]: [number, number]): boolean {
    const { x: [x0, x1], y: [y0, y1] } = this.fn.domain;
    const reach = ESCAPE_FACTOR * Math.max(x1 - x0, y1 - y0);
    return Number.isFinite(x) && Number.isFinite(y) && Math.abs(x) < reach && Math.abs(y) < reach;
  }

  /** Frees every tensor the race still holds; the runs keep their numbers. */
  dispose(): void {
    this.descents.dispose();
  }
}

/** A constant learning rate, drawn as a flat line; none for an optimizer that takes none. */
function constantRates(config: RacerConfig, steps: number): number[] | null {
  return config.learningRate === null ? null : new Array<number>(steps).fill(config.learningRate);
}
