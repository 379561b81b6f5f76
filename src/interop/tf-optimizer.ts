import type { GradientTransformation } from '../types.js';
import { describeNode } from '../tree/walk.js';
import { trainStep } from './variables.js';
import { OptaxOptimizer, type StepFunction } from './optimizer-class.js';

/** Options of {@link toTfOptimizer}. */
export interface TfOptimizerOptions {
  /** Names the optimizer in messages and in the weight names it saves. Default `'tfjs-optax'`. */
  name?: string;
}

const step: StepFunction = (tx, params, state, grads, options) => trainStep(tx, params, state, grads, options);

function checkTransformation(owner: string, tx: unknown): asserts tx is GradientTransformation<unknown> {
  const t = tx as GradientTransformation<unknown> | null;
  if (t === null || typeof t !== 'object' || typeof t.init !== 'function' || typeof t.update !== 'function') {
    throw new TypeError(`${owner}: expected a gradient transformation ({ init, update }), got ${describeNode(tx)}`);
  }
}

/**
 * Wraps any gradient transformation (an optimizer, a `chain` with clipping and schedules, ...) as
 * a `tf.Optimizer`, for tfjs-layers' `model.compile({ optimizer })` and `model.fit`,
 * `fitDataset` and `trainOnBatch`, and for `optimizer.minimize(f)` and `applyGradients`:
 *
 * ```ts
 * model.compile({ optimizer: toTfOptimizer(chain(clipByGlobalNorm(1), adamw(1e-3))), loss: 'meanSquaredError' });
 * await model.fit(xs, ys, { epochs: 10 });
 * ```
 *
 * Each `applyGradients` is one `trainStep` on the tree `{ [variable name]: variable }`: the
 * variables are written in place (by the fused kernel where the transformation has one, on the
 * wasm and cpu backends), and the state is keyed by variable name, not by position (see
 * {@link OptaxOptimizer}). `iterations` counts the steps; `getWeights`/`setWeights` save and
 * load the state, so `model.save(handler, { includeOptimizer: true })` works, and a model loaded
 * with `tf.loadLayersModel` resumes exactly once {@link resumeTfOptimizer} gives it back its
 * transformation. `dispose()` frees the state.
 */
export function toTfOptimizer(tx: GradientTransformation<any>, options: TfOptimizerOptions = {}): OptaxOptimizer {
  checkTransformation('toTfOptimizer', tx);
  if (options === null || typeof options !== 'object') throw new TypeError(`toTfOptimizer: options must be an object, got ${describeNode(options)}`);
  const unknown = Object.keys(options).filter((k) => k !== 'name');
  if (unknown.length > 0) throw new TypeError(`toTfOptimizer: unknown option '${unknown[0]}' (known: name)`);
  const optimizer = new OptaxOptimizer(options.name);
  optimizer.bind(tx, step);
  return optimizer;
}

/** What {@link resumeTfOptimizer} accepts: a layers model or its optimizer. */
export interface ModelWithOptimizer {
  optimizer: unknown;
  /** The model's trainable weights; their `name`s are the names of their tf.Variables. */
  trainableWeights?: ReadonlyArray<{ readonly name: string }>;
}

/**
 * Gives the optimizer of a model loaded with `tf.loadLayersModel` (saved with
 * `includeOptimizer: true` and a {@link toTfOptimizer} optimizer) back its transformation, so
 * training resumes exactly where it stopped: the same state, step count and schedules.
 * Transformations are code, so they are not in the saved file; pass the one the model was
 * trained with. With a model, the loaded state is checked against its trainable weights at
 * once, and a mismatch (another optimizer, other weights) throws here and changes nothing.
 * Returns the optimizer (also `model.optimizer`).
 *
 * ```ts
 * const model = await tf.loadLayersModel('file://./ckpt/model.json');
 * resumeTfOptimizer(model, chain(clipByGlobalNorm(1), adamw(schedule)));
 * await model.fit(xs, ys, { epochs: 5 });  // continues from the saved step
 * ```
 */
export function resumeTfOptimizer(target: ModelWithOptimizer | OptaxOptimizer, tx: GradientTransformation<any>): OptaxOptimizer {
  checkTransformation('resumeTfOptimizer', tx);
  const isOptimizer = target instanceof OptaxOptimizer;
  const optimizer = isOptimizer ? target : (target as ModelWithOptimizer | null)?.optimizer;
  if (!(optimizer instanceof OptaxOptimizer)) {
    const found = optimizer === undefined || optimizer === null ? 'no optimizer' : `a ${(optimizer as { getClassName?(): string }).getClassName?.() ?? describeNode(optimizer)} optimizer`;
    throw new TypeError(
      `resumeTfOptimizer: expected a model compiled or saved with toTfOptimizer(...) (or its optimizer), got ${isOptimizer ? 'it' : found}; ` +
        `a model saved without includeOptimizer: true has no optimizer state to resume`,
    );
  }
  const weights = isOptimizer ? undefined : (target as ModelWithOptimizer).trainableWeights;
  optimizer.bind(tx, step, Array.isArray(weights) ? weights.map((w) => w.name) : undefined);
  return optimizer;
}
