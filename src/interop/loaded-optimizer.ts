import * as tf from '@tensorflow/tfjs-core';

/**
 * The optimizer that `tf.loadLayersModel` makes of a model saved with a `toTfOptimizer`
 * optimizer: it holds the saved state until `resumeTfOptimizer(model, tx)` gives it back its
 * transformation (transformations are code, not data), and is small on purpose: it is
 * registered with tfjs's serialization when the library is imported, so it is in every bundle.
 */

/** The class name tfjs writes into a saved model.json for our optimizers. */
export const OPTIMIZER_CLASS_NAME = 'TfjsOptaxOptimizer';

/**
 * A tensor with a name, as tf.Optimizer's `applyGradients`, `getWeights` and `setWeights` take them.
 * @group tfjs interop
 */
export interface NamedTensor {
  /** The variable's name (`tf.Variable.name`), or for an optimizer weight the name it is saved under. */
  name: string;
  /** The tensor: a gradient, a variable's value, or an optimizer weight. */
  tensor: tf.Tensor;
}

/**
 * A weight copied out of its tensor: what an optimizer keeps of `setWeights`.
 * @group tfjs interop
 */
export interface SavedWeight {
  /** The name the weight was given to `setWeights` with. */
  name: string;
  /** The tensor's dtype (a saved state holds `float32`, `int32` and `bool` tensors). */
  dtype: tf.DataType;
  /** The tensor's shape. */
  shape: number[];
  /** A copy of the values, as `tensor.data()` gives them: a `Float32Array` for float32, `Int32Array` for int32, `Uint8Array` for bool. */
  values: Float32Array | Int32Array | Uint8Array;
}

/** Copies the weights' values (the caller may dispose the tensors afterwards). */
export async function readWeights(owner: string, weights: readonly NamedTensor[]): Promise<SavedWeight[]> {
  if (!Array.isArray(weights)) throw new TypeError(`${owner}: expected an array of { name, tensor }`);
  return Promise.all(
    weights.map(async (w, i) => {
      if (w === null || typeof w !== 'object' || typeof w.name !== 'string' || !(w.tensor instanceof tf.Tensor)) {
        throw new TypeError(`${owner}: weight ${i} is not a { name, tensor }`);
      }
      return { name: w.name, dtype: w.tensor.dtype, shape: [...w.tensor.shape], values: (await w.tensor.data()) as SavedWeight['values'] };
    }),
  );
}

/**
 * Makes `instanceof cls` check a brand on the instance. tf.Optimizer's `instanceof` is
 * duck-typed (any object with minimize, computeGradients and applyGradients) and subclasses
 * inherit that; a brand tells our classes apart, also across two copies of this library.
 */
export function brand(cls: { prototype: object }, key: string): void {
  const symbol = Symbol.for(key);
  Object.defineProperty(cls.prototype, symbol, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: (x: unknown) => x !== null && typeof x === 'object' && (x as Record<symbol, unknown>)[symbol] === true,
  });
}

/**
 * A loaded optimizer waiting for its transformation (see `resumeTfOptimizer`).
 * @group tfjs interop
 */
export class LoadedOptaxOptimizer extends tf.Optimizer {
  /**
   * `'TfjsOptaxOptimizer'`: the class name written into a saved model.json by an
   * {@link OptaxOptimizer}, under which this class is registered with tfjs's serialization so
   * that `tf.loadLayersModel` makes one.
   */
  static readonly className = OPTIMIZER_CLASS_NAME;
  /** The name the optimizer was saved with. */
  readonly name: string;
  /** The weights loaded by `setWeights`, `null` before. @internal */
  saved: SavedWeight[] | null = null;
  private exported: tf.Tensor[] = [];

  constructor(name = 'tfjs-optax') {
    super();
    this.name = name;
  }

  /** Always throws: training needs the transformation back first. */
  applyGradients(): void {
    throw this.noTransformation('applyGradients', 'before training');
  }

  /**
   * Always throws: the learning rate belongs to the transformation, which this placeholder does
   * not have yet. After `resumeTfOptimizer(model, tx)`, `model.optimizer.learningRate` reads and
   * sets it (see `OptaxOptimizer.learningRate`).
   */
  get learningRate(): number {
    throw this.noTransformation('learningRate', 'before reading the learning rate (model.optimizer is then the resumed optimizer)');
  }

  /** Always throws, as the getter does. */
  set learningRate(_value: number) {
    throw this.noTransformation('learningRate', 'before setting the learning rate (model.optimizer is then the resumed optimizer)');
  }

  private noTransformation(what: string, when: string): Error {
    return new Error(
      `${this.name}.${what}: this optimizer was loaded with a model and has no transformation yet; ` +
        `call resumeTfOptimizer(model, tx) with the transformation it was saved with ${when}`,
    );
  }

  /** The loaded weights, as they were saved (tensors owned by this optimizer until the next call). */
  override async getWeights(): Promise<NamedTensor[]> {
    tf.dispose(this.exported);
    this.exported = (this.saved ?? []).map((w) => tf.tensor(w.values, w.shape, w.dtype));
    return this.exported.map((tensor, i) => ({ name: this.saved![i].name, tensor }));
  }

  /** Keeps a copy of the weights; `resumeTfOptimizer` checks them against the transformation. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.saved = await readWeights(`${this.name}.setWeights`, weightValues);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { name: this.name };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(typeof config.name === 'string' && config.name !== '' ? config.name : undefined);
  }

  override dispose(): void {
    tf.dispose(this.exported);
    this.exported = [];
    this.saved = null;
    super.dispose();
  }
}

brand(LoadedOptaxOptimizer, 'tfjs-optax.LoadedOptaxOptimizer');
tf.serialization.registerClass(LoadedOptaxOptimizer);
