import { getMeasurement } from '../combine/telemetry.js';
import { checkOptions } from '../internal/options.js';
import { describeNode } from '../tree/walk.js';
import { OptaxOptimizer } from './optimizer-class.js';

/**
 * Options of {@link fitCallback}.
 * @group tfjs interop
 */
export interface FitCallbackOptions {
  /**
   * Hyperparameters to log, by name or dotted path as `getHyperparam` finds them: the value the
   * next step will use. Default `['learningRate']`.
   */
  hyperparams?: readonly string[];
  /** Measurements of `monitor` or `snapshot` in the optimizer's chain to log (one number each). Default none. */
  measurements?: readonly string[];
  /**
   * `'batch'` (the default): into every batch's logs and every epoch's; `'epoch'`: into the
   * epochs' logs only, which reads the device once per epoch instead of once per batch.
   */
  every?: 'batch' | 'epoch';
}


/**
 * The shape of callback `model.fit` accepts as a plain object (tfjs-layers' `CustomCallbackArgs`),
 * written out here so that this library does not import tfjs-layers.
 * @group tfjs interop
 */
export interface FitCallbackArgs {
  /** Writes the values into a batch's logs (`{ loss, size, ... }`); absent with `every: 'epoch'`. */
  onBatchEnd?: (batch: number, logs?: Record<string, unknown>) => void;
  /** Writes the values into an epoch's logs, which `history` records. */
  onEpochEnd?: (epoch: number, logs?: Record<string, unknown>) => void;
}

/**
 * A callback for `model.fit` that writes the optimizer's hyperparameters and measurements into
 * the batch and epoch logs, next to the loss: `history.history.learningRate` then exists, and
 * `tf.callbacks.earlyStopping({ monitor: 'gradNorm' })`, tfjs-vis and a plain `onEpochEnd` see
 * them.
 *
 *     const optimizer = toTfOptimizer(chain(monitor({ gradNorm: globalNorm }), clipByGlobalNorm(1), adamw(schedule)));
 *     model.compile({ optimizer, loss: 'meanSquaredError' });
 *     const history = await model.fit(xs, ys, {
 *       epochs: 10,
 *       callbacks: [fitCallback(optimizer, { measurements: ['gradNorm'] })],
 *     });
 *     history.history.learningRate; // one value per epoch: the rate the next step uses
 *
 * A hyperparameter logs the value the next step will use (after the schedule has moved on); a
 * measurement, the one the last step took. List the callback before any callback that reads
 * these logs (tfjs-layers calls them in order; `history` comes last). tfjs-layers takes a list of
 * plain callbacks or a list of its callback objects, not a mix: next to `tf.callbacks.earlyStopping`,
 * wrap it as tfjs wraps any plain one, `new tf.CustomCallback(fitCallback(optimizer))`:
 *
 *     callbacks: [
 *       new tf.CustomCallback(fitCallback(optimizer, { measurements: ['gradNorm'] })),
 *       tf.callbacks.earlyStopping({ monitor: 'gradNorm' }),
 *     ]
 *
 * @param optimizer an optimizer made by `toTfOptimizer` (or `resumeTfOptimizer`).
 * @throws TypeError for another optimizer or a bad option (checked here); at the end of a batch
 * or epoch, the errors of `getHyperparam` and `getMeasurement` for a name the state does not
 * hold, and an `Error` for a measurement of more than one number.
 * @group tfjs interop
 */
export function fitCallback(optimizer: OptaxOptimizer, options: FitCallbackOptions = {}): FitCallbackArgs {
  const owner = 'fitCallback';
  if (!(optimizer instanceof OptaxOptimizer)) {
    throw new TypeError(`${owner}: expected an optimizer made by toTfOptimizer, got ${describeNode(optimizer)}`);
  }
  checkOptions(owner, options, ['hyperparams', 'measurements', 'every']);
  const hyperparams = names(owner, 'hyperparams', options.hyperparams ?? ['learningRate']);
  const measurements = names(owner, 'measurements', options.measurements ?? []);
  const every = options.every ?? 'batch';
  if (every !== 'batch' && every !== 'epoch') {
    throw new TypeError(`${owner}: option 'every' must be 'batch' or 'epoch', got ${describeNode(every)}`);
  }
  const write = (logs: Record<string, unknown> | undefined): void => {
    if (logs === undefined) return;
    for (const name of hyperparams) logs[name] = optimizer.getHyperparam(name);
    const state = optimizer.currentState;
    // Before the first step there is nothing measured yet.
    if (state === undefined) return;
    for (const name of measurements) {
      const value = getMeasurement(state, name);
      if (typeof value !== 'number') {
        throw new Error(`${owner}: the measurement '${name}' holds ${value.length} numbers; logs take one number (measure a scalar, e.g. globalNorm)`);
      }
      logs[name] = value;
    }
  };
  return {
    ...(every === 'batch' ? { onBatchEnd: (_: number, logs?: Record<string, unknown>) => write(logs) } : {}),
    onEpochEnd: (_: number, logs?: Record<string, unknown>) => write(logs),
  };
}

/** A list of names option, checked: strings without duplicates. */
function names(owner: string, option: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((n) => typeof n !== 'string' || n === '')) {
    throw new TypeError(`${owner}: option '${option}' must be an array of names, got ${describeNode(value)}`);
  }
  const seen = new Set<string>();
  for (const n of value as string[]) {
    if (seen.has(n)) throw new TypeError(`${owner}: option '${option}' lists '${n}' twice`);
    seen.add(n);
  }
  return value as string[];
}
