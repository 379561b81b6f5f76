import * as tf from '@tensorflow/tfjs-core';

/**
 * Element-wise tf ops for one leaf's math that dispose each intermediate as soon as it has been
 * used. Inside a `tf.tidy` every intermediate would live until the whole update ends: for a
 * large tree that is a dozen fresh buffers per parameter, each written cold. Freed at once, the
 * backend hands the same memory to the next op while it is still in cache, which is what makes
 * the composite path as fast as `tf.train` on large leaves.
 *
 * The rule: a tensor made by these ops is a temporary, consumed (disposed) by the first op that
 * takes it. `keep` exempts a temporary that is used twice or returned as well as consumed, such
 * as a new moment. Tensors from elsewhere (gradients, state, scalars) are never disposed. The
 * last result of a computation is never consumed, so it is returned alive; the enclosing tidy
 * keeps what is returned, and would free anything left over after an error.
 */
export class Scratch {
  /** The temporaries not yet consumed (a few at a time: an array is cheaper than a Set). */
  private readonly temps: tf.Tensor[] = [];

  /** Stops `x` from being consumed: it stays alive until it is returned or disposed. */
  keep<T extends tf.Tensor>(x: T): T {
    this.take(x);
    return x;
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.made(tf.add(a, b), a, b);
  }

  sub(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.made(tf.sub(a, b), a, b);
  }

  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.made(tf.mul(a, b), a, b);
  }

  div(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.made(tf.div(a, b), a, b);
  }

  square(a: tf.Tensor): tf.Tensor {
    return this.made(tf.square(a), a);
  }

  sqrt(a: tf.Tensor): tf.Tensor {
    return this.made(tf.sqrt(a), a);
  }

  rsqrt(a: tf.Tensor): tf.Tensor {
    return this.made(tf.rsqrt(a), a);
  }

  reciprocal(a: tf.Tensor): tf.Tensor {
    return this.made(tf.reciprocal(a), a);
  }

  /**
   * For any other op: records `result`, computed from `operands`, as a temporary and disposes
   * the temporaries among the operands. `s.op(tf.where(c, a, b), c, a, b)`.
   */
  op(result: tf.Tensor, ...operands: tf.Tensor[]): tf.Tensor {
    return this.made(result, ...operands);
  }

  /** Records `result` as a temporary and disposes the temporaries among its operands. */
  private made(result: tf.Tensor, ...operands: tf.Tensor[]): tf.Tensor {
    for (const x of operands) if (this.take(x)) x.dispose();
    this.temps.push(result);
    return result;
  }

  /** Removes `x` from the temporaries; `true` if it was one. */
  private take(x: tf.Tensor): boolean {
    const i = this.temps.lastIndexOf(x);
    if (i < 0) return false;
    this.temps.splice(i, 1);
    return true;
  }
}
