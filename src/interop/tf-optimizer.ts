import type { GradientTransformation } from '../types.js';
import { describeNode } from '../tree/walk.js';
import { checkOptions, checkTransformation } from '../internal/options.js';
import { trainStep } from './variables.js';
import { LoadedOptaxOptimizer } from './loaded-optimizer.js';
import { OptaxOptimizer, type StepFunction } from './optimizer-class.js';

/**
 * Options of {@link toTfOptimizer}.
 * @group tfjs interop
 */
export interface TfOptimizerOptions {
  /** Names the optimizer in messages and in the weight names it saves. Default `'tfjs-optax'`. */
  name?: string;
}

const step: StepFunction = (tx, params, state, grads, options) => trainStep(tx, params, state, grads, options);


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
 *
 * `optimizer.learningRate` reads the rate the next step uses and, set (as Keras-style
 * learning-rate schedulers in `model.fit` callbacks do with `tf.train`'s optimizers), changes it,
 * for a transformation that keeps its learning rate in its state (this library's optimizers) or
 * is wrapped in `injectHyperparams`; `getHyperparam`/`setHyperparam` do the same for any
 * hyperparameter (see {@link OptaxOptimizer}). A step that throws changes nothing.
 *
 * Gradient accumulation: `toTfOptimizer(multiSteps(adamw(lr), { everyK: 4 }))` in a `model.fit`
 * with `batchSize: 8` moves the weights once every 4 batches, by the mean of their gradients: the
 * step of a batch of 32, to float32 rounding. `iterations` counts the calls of `applyGradients`
 * (the batches of 8, as tfjs-layers does); the number of weight updates is `gradientStep` in the
 * state (`hasUpdated(state)` says whether the last batch made one). Schedules count updates.
 * @group tfjs interop
 */
export function toTfOptimizer(tx: GradientTransformation<any>, options: TfOptimizerOptions = {}): OptaxOptimizer {
  checkTransformation('toTfOptimizer', tx);
  checkOptions('toTfOptimizer', options, ['name']);
  const optimizer = new OptaxOptimizer(options.name);
  optimizer.bind(tx, step);
  return optimizer;
}

/**
 * What {@link resumeTfOptimizer} accepts: a layers model or its optimizer.
 * @group tfjs interop
 */
export interface ModelWithOptimizer {
  /**
   * The model's optimizer: an {@link OptaxOptimizer} (from `model.compile` with
   * {@link toTfOptimizer}), or the {@link LoadedOptaxOptimizer} placeholder that
   * `tf.loadLayersModel` makes for a model saved with one; anything else is a `TypeError`. A
   * placeholder is replaced by a new `OptaxOptimizer` holding its state; an `OptaxOptimizer`
   * stays and is given `tx`.
   */
  optimizer: unknown;
  /** The model's trainable weights; their `name`s are the names of their tf.Variables. */
  trainableWeights?: ReadonlyArray<{
    /** The name of the weight's tf.Variable (the key of its state in the optimizer). */
    readonly name: string;
  }>;
}

/**
 * Gives the optimizer of a model loaded with `tf.loadLayersModel` (saved with
 * `includeOptimizer: true` and a {@link toTfOptimizer} optimizer) back its transformation, so
 * training resumes exactly where it stopped: the same state, step count and schedules.
 * Transformations are code, so they are not in the saved file; pass the one the model was
 * trained with. The loaded state is checked against `tx` and the model's trainable weights at
 * once; a mismatch (another optimizer, other weights) throws here and changes nothing.
 * Otherwise `model.optimizer` becomes an {@link OptaxOptimizer} with that state (replacing the
 * placeholder `tf.loadLayersModel` made), which is returned. Dispose it when done:
 * `model.dispose()` does not.
 *
 * ```ts
 * const model = await tf.loadLayersModel('file://./ckpt/model.json');
 * resumeTfOptimizer(model, chain(clipByGlobalNorm(1), adamw(schedule)));
 * await model.fit(xs, ys, { epochs: 5 });  // continues from the saved step
 * ```
 * @group tfjs interop
 */
export function resumeTfOptimizer(target: ModelWithOptimizer | OptaxOptimizer, tx: GradientTransformation<any>): OptaxOptimizer {
  checkTransformation('resumeTfOptimizer', tx);
  if (target instanceof OptaxOptimizer) {
    target.bind(tx, step);
    return target;
  }
  const model = target as ModelWithOptimizer | null;
  const current = model?.optimizer;
  const names = Array.isArray(model?.trainableWeights) ? model!.trainableWeights.map((w) => w.name) : undefined;
  if (current instanceof OptaxOptimizer) {
    current.bind(tx, step, names);
    return current;
  }
  if (!(current instanceof LoadedOptaxOptimizer)) {
    const found =
      current === undefined || current === null
        ? 'a model without an optimizer'
        : `a model whose optimizer is ${(current as { getClassName?(): string }).getClassName?.() ?? describeNode(current)}`;
    throw new TypeError(
      `resumeTfOptimizer: expected a model compiled or saved with toTfOptimizer(...) (or its optimizer), got ${found}; ` +
        `a model saved without includeOptimizer: true has no optimizer state to resume`,
    );
  }
  // A model from tf.loadLayersModel: a real optimizer takes over the loaded state, checked
  // against tx and the model's weights before the model's optimizer is replaced.
  const optimizer = new OptaxOptimizer(current.name);
  try {
    if (current.saved !== null) optimizer.adopt('resumeTfOptimizer', current.saved);
    optimizer.bind(tx, step, names);
  } catch (err) {
    optimizer.dispose();
    throw err;
  }
  model!.optimizer = optimizer;
  current.dispose();
  return optimizer;
}
