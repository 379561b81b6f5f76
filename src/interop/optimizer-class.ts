import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { checkHyperparamValue, findHyperparam, hyperFieldAt } from '../combine/hyperparams.js';
import { layoutOf } from '../internal/state.js';
import { disposeReplaced, treeDispose, treeKeep } from '../tree/memory.js';
import { dottedPath, replaceAt } from '../tree/lookup.js';
import { describeNode, isPlainObject } from '../tree/walk.js';
import { upgradeManifest, type StateManifest } from './state-manifest.js';
import { encodeState } from './state-codec.js';
import { OPTIMIZER_CLASS_NAME, readWeights, type NamedTensor, type SavedWeight } from './loaded-optimizer.js';
import { collectGradients, isLiveVariable, variablesNamed, type NamedTree } from './named-variables.js';
import { graft, merge, restrict, sameList, structureOf } from './variable-keyed-state.js';
import { encodeManifest, MANIFEST_SUFFIX, readStateWeights, restorePending, type PendingState } from './optimizer-weights.js';
import { hasUndeclared, initialNumbers, savedNumbers } from './state-preview.js';

export type { NamedTensor } from './loaded-optimizer.js';

/**
 * One optimizer step on name-keyed variables (`trainStep`, passed in by `toTfOptimizer`).
 * @group tfjs interop
 */
export type StepFunction = (
  tx: GradientTransformation<unknown>,
  params: Params,
  state: unknown,
  grads: Params,
  options: { keepGrads: boolean },
) => {
  /** The parameters after the step (the same `tf.Variable`s, written in place). */
  params: Params;
  /** The transformation's state after the step. */
  state: unknown;
};

/**
 * Marks instances for `instanceof`. Defined in the constructor and a static method rather than
 * by a call after the class, so that bundles that do not use the class can drop it.
 */
const OPTAX_BRAND = Symbol.for('tfjs-optax.OptaxOptimizer');

/**
 * What a step starts from, made without changing the optimizer (see `OptaxOptimizer.prepare`):
 * the step commits it only once the transformation's step has succeeded.
 */
interface Prepared {
  /** The state for the variables `names`: the kept one, or one extended, restored or made for this step. */
  full: unknown;
  /** The variables `full` is for, sorted. */
  names: string[];
  /** The part of `full` for exactly this step's variables. */
  input: unknown;
  /** Entries of the kept state left out of `full` (variables since disposed), freed when the step commits. */
  dropped: unknown[];
}

/** A hyperparameter value set before the state exists, applied when it is made. */
interface PendingSet {
  /** The place, as a dotted path that names it exactly. */
  path: string;
  value: number;
}

/** Why a config cannot make an optimizer, for `fromConfig` and a constructor given a config. */
function notFromConfig(config: unknown): TypeError {
  return new TypeError(
    `OptaxOptimizer.fromConfig: a tfjs-optax optimizer cannot be rebuilt from its config (got ${describeNode(config)}): ` +
      `its transformation is code, not data, so tfjs serialization (fromConfig, or a copy made from getConfig()) cannot make one. ` +
      `Make a new one with toTfOptimizer(tx); for a model loaded with tf.loadLayersModel (saved with includeOptimizer: true), ` +
      `call resumeTfOptimizer(model, tx) with the transformation it was trained with, which keeps the saved state`,
  );
}

/**
 * A `tf.Optimizer` that runs a tfjs-optax {@link GradientTransformation}: what
 * {@link toTfOptimizer} and {@link resumeTfOptimizer} return. (A model saved with one is loaded
 * by `tf.loadLayersModel` with a `LoadedOptaxOptimizer` holding the state, under the same class
 * name, until `resumeTfOptimizer` gives it its transformation.)
 *
 * The transformation's state is kept for the tree `{ [variable name]: variable }`, so it is
 * keyed by variable **name**: the order in which gradients arrive never matters, a variable
 * that joins later gets fresh state (its moments start at zero; the step count is the
 * optimizer's), and one left out of a step keeps its state untouched. State tensors are kept
 * out of `tf.tidy` scopes (`model.fit` steps inside one) and freed by `dispose`.
 * @group tfjs interop
 */
export class OptaxOptimizer extends tf.Optimizer {
  /** The class name written into a saved model.json (the one `LoadedOptaxOptimizer` is registered under). */
  static get className(): string {
    return OPTIMIZER_CLASS_NAME;
  }

  /** `instanceof` by brand (see `brand` in loaded-optimizer.ts). */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return x !== null && typeof x === 'object' && (x as Record<symbol, unknown>)[OPTAX_BRAND] === true;
  }

  /** The name given to `toTfOptimizer` (default `'tfjs-optax'`), used in messages and weight names. */
  readonly name: string;
  private tx: GradientTransformation<unknown> | null = null;
  private stepFn: StepFunction | null = null;
  /** The state for the variables in `names` (sorted), or `undefined` before the first step. */
  private state: unknown = undefined;
  private names: string[] = [];
  private pending: PendingState | null = null;
  /** The structures of `tx.init` for variable subsets, to step some variables only. */
  private readonly shapes = new Map<string, unknown>();
  /** The tensors made by the last `getWeights`, freed by the next one or `dispose`. */
  private exported: tf.Tensor[] = [];
  private disposed = false;

  /** Hyperparameter values set before the first step, applied to the state when it is made. */
  private pendingSets: PendingSet[] = [];

  constructor(name = 'tfjs-optax') {
    super();
    Object.defineProperty(this, OPTAX_BRAND, { value: true });
    // tf.Serializable's fromConfig and tfjs-layers' deserialize call `new cls(config)`.
    if (isPlainObject(name)) throw notFromConfig(name);
    if (typeof name !== 'string' || name === '') throw new TypeError(`toTfOptimizer: option 'name' must be a non-empty string, got ${describeNode(name)}`);
    this.name = name;
  }

  /**
   * Always throws: an optimizer runs a transformation, which is code and is not in its config
   * (`getConfig()` is `{ name }`). tfjs-layers' `tf.loadLayersModel` does not call this: it
   * makes a {@link LoadedOptaxOptimizer} holding the saved state, which
   * {@link resumeTfOptimizer} gives back its transformation.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    _cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    throw notFromConfig(config);
  }

  /**
   * Gives the optimizer its transformation (see `toTfOptimizer`, `resumeTfOptimizer`). With the
   * names of the variables it will train, a loaded state is restored at once, so a state that
   * does not fit throws here and leaves the optimizer as it was.
   * @internal
   */
  bind(tx: GradientTransformation<unknown>, step: StepFunction, variableNames?: readonly string[]): void {
    this.assertLive('resumeTfOptimizer');
    if (this.tx !== null && this.tx !== tx) {
      throw new Error(`${this.name}: this optimizer already runs a transformation; make a new one with toTfOptimizer(tx) instead`);
    }
    if (this.pending !== null && variableNames !== undefined && variableNames.length > 0) {
      const owner = `${this.name}.resume`;
      const names = [...variableNames].sort();
      const params = variablesNamed(names);
      const restored = restorePending(owner, tx, this.pending, params);
      this.state = treeKeep(this.withPendingSets(owner, restored, [params]));
      this.names = names;
      this.pending = null;
      this.pendingSets = [];
    }
    this.tx = tx;
    this.stepFn = step;
  }

  /** `true` once the optimizer has its transformation (always, for those made by `toTfOptimizer` or `resumeTfOptimizer`). */
  get hasTransformation(): boolean {
    return this.tx !== null;
  }

  /**
   * The transformation's current state, for the variables it has seen so far (a plain object
   * keyed as `{ [variable name]: ... }` inside), or `undefined` before the first step. Read it
   * to log a hyperparameter or a moment; do not dispose or change it.
   */
  get currentState(): unknown {
    return this.state;
  }

  /**
   * Applies one step of the transformation to the variables named in `variableGradients` (a map
   * from variable name to gradient, or a list of `{ name, tensor }`), as `tf.train`'s optimizers
   * do. Gradients that are `null` are skipped, as `tf.train` does. The gradients are not disposed.
   *
   * A step that throws (an unknown or disposed variable, a gradient of the wrong shape or dtype,
   * a schedule that throws or returns NaN, a bad hyperparameter) changes nothing: the variables,
   * the state (also on the first step, and when a variable joins), `iterations` and any value set
   * before the first step stay as they were, and every tensor made for the step is freed.
   */
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const owner = `${this.name}.applyGradients`;
    const tx = this.transformation(owner);
    const step = this.stepFn as StepFunction;
    const [params, grads, names] = collectGradients(owner, variableGradients);
    if (names.length > 0) {
      const prepared = this.prepare(owner, tx, params, names);
      let next: unknown;
      try {
        next = step(tx, params, prepared.input, grads, { keepGrads: true }).state;
      } catch (err) {
        // Free what was made for this step only: the kept state, the variables and the gradients stay.
        disposeReplaced(prepared.full, [this.state, params, grads]);
        throw err;
      }
      treeKeep(next);
      this.state = sameList(names, prepared.names) ? next : merge(prepared.full, next, this.shapeOf(names));
      this.names = prepared.names;
      this.pending = null;
      this.pendingSets = [];
      for (const entry of prepared.dropped) treeDispose(entry);
    }
    this.incrementIterations();
  }

  /**
   * The value of the hyperparameter `nameOrPath` that the next step uses (found as the
   * function `getHyperparam` finds it in the state: a name, or a dotted path such as
   * `'1.learningRate'`). Before the first step, the value the first step will use: the one set
   * with {@link setHyperparam}, or the one loaded with `setWeights`, or else the one the
   * transformation starts with (`schedule(0)` for a schedule), for the hyperparameters its state
   * declares (every one of this library's).
   * @throws Error when the state has no such hyperparameter or has it at several places (the
   * message lists the names or paths).
   */
  getHyperparam(nameOrPath: string): number {
    const owner = `${this.name}.getHyperparam`;
    return this.readHyperparam(owner, nameOrPath, this.transformation(owner));
  }

  /**
   * Makes the next step use `value` for the hyperparameter `nameOrPath` (found as
   * {@link getHyperparam} finds it), as the function `setHyperparam` does to a state: a value set
   * for a constant stays until set again; one set for a schedule is used once, and the schedule
   * gives the value after. Before the first step the value is kept and applied to the state when
   * it is made (or loaded: `setWeights` loads a whole state, and drops values set before it).
   *
   * The value is checked here against the transformation's own bound for it (a learning rate or
   * a weight decay `>= 0`, ...): not a number is a `TypeError`; NaN, an infinity or a value below
   * the bound a `RangeError`, naming the hyperparameter, its path, the value and what was
   * expected. Nothing changes on an error.
   */
  setHyperparam(nameOrPath: string, value: number): void {
    const owner = `${this.name}.setHyperparam`;
    this.writeHyperparam(owner, nameOrPath, value, this.transformation(owner));
  }

  /**
   * The learning rate the next step uses, as `tf.train`'s optimizers have it, for code written
   * for them (a learning-rate scheduler in a `model.fit` callback, a log): reading it is
   * `getHyperparam('learningRate')`, setting it `setHyperparam('learningRate', value)`, with the
   * same checks (a finite number `>= 0`) and the same behaviour before the first step.
   *
   * It needs the transformation to keep its learning rate in its state, as this library's
   * optimizers and `scaleByLearningRate` do, or to be wrapped in `injectHyperparams`; otherwise,
   * or when the state holds several learning rates (a `partition`), reading or setting it throws
   * an `Error` saying so (use `getHyperparam`/`setHyperparam` with a path for one of several).
   */
  get learningRate(): number {
    const owner = `${this.name}.learningRate`;
    return this.readHyperparam(owner, 'learningRate', this.transformation(owner), LEARNING_RATE_HINT);
  }

  /** Makes the next step use `value` as its learning rate (see the getter); checked first. */
  set learningRate(value: number) {
    const owner = `${this.name}.learningRate`;
    this.writeHyperparam(owner, 'learningRate', value, this.transformation(owner), LEARNING_RATE_HINT);
  }

  /**
   * The state as tfjs weights (what `model.save(..., { includeOptimizer: true })` writes): the
   * state tensors themselves, named by their path, and one small int32 tensor holding the
   * state's JSON manifest (structure, step counts, the iteration count). That tensor belongs to
   * the optimizer and is freed by the next `getWeights` or `dispose`, so saving repeatedly
   * leaks nothing.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const owner = `${this.name}.getWeights`;
    this.assertLive(owner);
    this.releaseExported();
    let manifest: StateManifest;
    let tensors: tf.Tensor[];
    if (this.pending !== null) {
      // Loaded and not yet used: hand back what was loaded.
      manifest = this.pending.manifest;
      tensors = this.pending.values.map((v, i) => tf.tensor(v, manifest.tensors[i].shape, manifest.tensors[i].dtype));
    } else {
      ({ manifest, tensors } = encodeState(owner, this.state ?? null));
    }
    const manifestTensor = encodeManifest({ ...manifest, iterations: this.iterations });
    // Tensors made here (the manifest, and the values of a pending state) belong to the optimizer.
    this.exported = this.pending !== null ? [manifestTensor, ...tensors] : [manifestTensor];
    const out: NamedTensor[] = [{ name: this.name + MANIFEST_SUFFIX, tensor: manifestTensor }];
    tensors.forEach((tensor, i) => out.push({ name: `${this.name}/${manifest.tensors[i].name}`, tensor }));
    return out;
  }

  /**
   * Loads weights written by {@link getWeights} (as `tf.loadLayersModel` does for a model saved
   * with its optimizer). The values are copied, so the caller may dispose the given tensors. The
   * state is checked against the transformation and the variables at the next step (or at once,
   * when the optimizer has already stepped: then an error leaves it unchanged).
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const owner = `${this.name}.setWeights`;
    this.assertLive(owner);
    this.adopt(owner, await readWeights(owner, weightValues));
  }

  /**
   * Takes saved weights (from `setWeights`, or from a loaded model's optimizer): parses the
   * manifest, checks the weights against it and keeps the state until the variables are known.
   * @internal
   */
  adopt(owner: string, weightValues: readonly SavedWeight[]): void {
    this.assertLive(owner);
    const { loaded, iterations } = readStateWeights(owner, weightValues);
    if (loaded !== null && this.tx !== null && this.names.length > 0 && this.names.every(isLiveVariable)) {
      // Restore now against the variables in use, so a mismatch throws here, changing nothing.
      const params = variablesNamed(this.names);
      const restored = restorePending(owner, this.tx, loaded, params);
      treeDispose(this.state);
      this.state = restored;
      this.pending = null;
    } else {
      treeDispose(this.state);
      this.state = undefined;
      this.names = [];
      this.pending = loaded;
    }
    this.pendingSets = [];
    this.iterations_ = iterations;
  }

  /**
   * The config written into a saved model.json by `model.save(..., { includeOptimizer: true })`:
   * `{ name }`, JSON. The transformation is code and is not in it, so {@link fromConfig} cannot
   * rebuild the optimizer; `tf.loadLayersModel` makes a {@link LoadedOptaxOptimizer} of it instead.
   */
  override getConfig(): tf.serialization.ConfigDict {
    return { name: this.name };
  }

  /** Frees the state and every tensor this optimizer made. Using it afterwards is an error. */
  override dispose(): void {
    if (this.disposed) return;
    treeDispose(this.state);
    this.state = undefined;
    this.pending = null;
    this.pendingSets = [];
    this.releaseExported();
    this.disposed = true;
    super.dispose();
  }

  private releaseExported(): void {
    for (const t of this.exported) if (!t.isDisposed) t.dispose();
    this.exported = [];
  }

  private assertLive(owner: string): void {
    if (this.disposed) throw new Error(`${owner}: this optimizer has been disposed`);
  }

  /** The transformation, or an error saying the optimizer cannot step (disposed, or made without one). */
  private transformation(owner: string): GradientTransformation<unknown> {
    this.assertLive(owner);
    if (this.tx === null || this.stepFn === null) {
      throw new Error(`${owner}: this optimizer has no transformation; make optimizers with toTfOptimizer(tx)`);
    }
    return this.tx;
  }

  /**
   * The state a step on the variables `names` starts from, made without changing the optimizer:
   * the kept state, or a new one (restored from loaded weights, or `tx.init`, with any values set
   * before the first step), or the kept one extended by fresh entries for new variables. An error
   * frees what it made.
   */
  private prepare(owner: string, tx: GradientTransformation<unknown>, params: NamedTree, names: string[]): Prepared {
    let full: unknown;
    let fullNames = names;
    const dropped: unknown[] = [];
    if (this.pending !== null || this.state === undefined) {
      const made = this.pending !== null ? restorePending(owner, tx, this.pending, params) : tx.init(params);
      full = this.withPendingSets(owner, made, [params]);
    } else if (sameList(names, this.names)) {
      return { full: this.state, names, input: this.state, dropped };
    } else {
      const alive = this.names.filter(isLiveVariable);
      const kept = new Set(alive);
      if (alive.length < this.names.length || names.some((n) => !kept.has(n))) {
        // New variables (or disposed ones): state for the union, the old entries kept.
        const union = [...new Set([...alive, ...names])].sort();
        const unionParams = variablesNamed(union);
        const fresh = tx.init(unionParams);
        try {
          full = graft(owner, this.state, fresh, dropped);
        } catch (err) {
          disposeReplaced(fresh, [this.state, unionParams]);
          throw err;
        }
        disposeReplaced(fresh, [full, unionParams]);
        fullNames = union;
      } else {
        full = this.state;
        fullNames = this.names;
      }
    }
    treeKeep(full);
    if (sameList(names, fullNames)) return { full, names: fullNames, input: full, dropped };
    try {
      return { full, names: fullNames, input: restrict(full, this.shapeOf(names, params)), dropped };
    } catch (err) {
      disposeReplaced(full, [this.state, params]);
      throw err;
    }
  }

  /** `state` (new, made for `keep`) with the values set before the first step; on an error, its tensors are freed. */
  private withPendingSets(owner: string, state: unknown, keep: unknown[]): unknown {
    try {
      let out = state;
      for (const set of this.pendingSets) {
        const { path } = findHyperparam(owner, out, set.path);
        if (dottedPath(path) !== set.path) {
          throw new Error(`${owner}: the value ${set.value} set before the first step for '${set.path}' has no such place in the state made now (found '${dottedPath(path)}')`);
        }
        out = replaceAt(out, path, set.value);
      }
      return out;
    } catch (err) {
      disposeReplaced(state, [this.state, ...keep]);
      throw err;
    }
  }

  /**
   * The state's hyperparameters as the next step will see them, without tensors where none are
   * kept yet: the kept state; before the first step, the loaded one (its numbers) or the one the
   * transformation declares (each hyperparameter at count 0), with the values set since.
   */
  private hyperparamView(owner: string, tx: GradientTransformation<unknown>): unknown {
    if (this.state !== undefined) return this.state;
    let view = this.pending !== null ? savedNumbers(upgradeManifest(this.pending.manifest, tx).state) : initialNumbers(layoutOf(tx));
    for (const set of this.pendingSets) view = replaceAt(view, findHyperparam(owner, view, set.path).path, set.value);
    return view;
  }

  private readHyperparam(owner: string, query: string, tx: GradientTransformation<unknown>, hint = ''): number {
    const view = this.hyperparamView(owner, tx);
    try {
      return findHyperparam(owner, view, query).value;
    } catch (err) {
      throw this.explain(err, tx, hint);
    }
  }

  private writeHyperparam(owner: string, query: string, value: unknown, tx: GradientTransformation<unknown>, hint = ''): void {
    const view = this.hyperparamView(owner, tx);
    let path: Array<string | number>;
    try {
      path = findHyperparam(owner, view, query).path;
    } catch (err) {
      throw this.explain(err, tx, hint);
    }
    const checked = checkHyperparamValue(owner, query, path, value, hyperFieldAt(layoutOf(tx), path));
    if (this.state !== undefined) this.state = replaceAt(this.state, path, checked);
    else this.pendingSets = [...this.pendingSets.filter((s) => s.path !== dottedPath(path)), { path: dottedPath(path), value: checked }];
  }

  /** A lookup error with what to do about it added (`hint`; before the first step, when the state is not fully declared). */
  private explain(err: unknown, tx: GradientTransformation<unknown>, hint: string): unknown {
    if (!(err instanceof Error) || err instanceof TypeError) return err;
    let extra = hint;
    if (this.state === undefined && this.pending === null && hasUndeclared(layoutOf(tx))) {
      extra +=
        '; before the first step only the hyperparameters that the transformation declares in its state layout are known ' +
        '(every one of this library\'s does; a transformation of your own may not): read or set it after the first step';
    }
    err.message += extra;
    return err;
  }

  /** The structure of `tx.init` for these variables (tensors replaced by `true`), cached. */
  private shapeOf(names: string[], params?: NamedTree): unknown {
    const key = names.join('\u0000');
    let shape = this.shapes.get(key);
    if (shape === undefined) {
      const p = params ?? variablesNamed(names);
      const init = this.tx!.init(p);
      shape = structureOf(init);
      disposeReplaced(init, p);
      this.shapes.set(key, shape);
    }
    return shape;
  }
}

/** What the `learningRate` accessor adds to a lookup error: how to give a transformation one. */
const LEARNING_RATE_HINT =
  "; an OptaxOptimizer's learningRate reads and sets the one 'learningRate' of its transformation's state: " +
  'make the transformation with a learning rate that its state keeps (sgd(lr), adam(lr), scaleByLearningRate(lr), ...) or ' +
  'wrap it in injectHyperparams(...), e.g. injectHyperparams((h: { learningRate: number }) => myTransformation(h.learningRate))({ learningRate: 1e-3 }); ' +
  'where the state has several, read or set one by its path with optimizer.getHyperparam(path) / optimizer.setHyperparam(path, value)';

