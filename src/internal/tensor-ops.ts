import * as tf from '@tensorflow/tfjs-core';
import { float32Bits, type Ops } from './ops.js';
import { Scratch } from './scratch.js';

/**
 * The element-wise {@link Ops} as tfjs ops: the composite path of a transformation described as
 * an element step. One instance per update: constants are made once and shared by every leaf;
 * each leaf's intermediates go through a fresh {@link Scratch} (see {@link TensorOps.leaf}), so
 * they are freed as soon as they are used.
 */
export class TensorOps implements Ops<tf.Tensor> {
  private s = new Scratch();
  private readonly consts = new Map<number, tf.Scalar>();

  /** Runs one leaf's math with its own scratch. */
  leaf<R>(fn: () => R): R {
    this.s = new Scratch();
    return fn();
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.add(a, b);
  }
  sub(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.sub(a, b);
  }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.mul(a, b);
  }
  div(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.div(a, b);
  }
  square(a: tf.Tensor): tf.Tensor {
    return this.s.square(a);
  }
  sqrt(a: tf.Tensor): tf.Tensor {
    return this.s.sqrt(a);
  }
  rsqrt(a: tf.Tensor): tf.Tensor {
    return this.s.rsqrt(a);
  }
  abs(a: tf.Tensor): tf.Tensor {
    return this.s.op(tf.abs(a), a);
  }
  neg(a: tf.Tensor): tf.Tensor {
    return this.s.op(tf.neg(a), a);
  }
  max(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.op(tf.maximum(a, b), a, b);
  }
  min(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.op(tf.minimum(a, b), a, b);
  }
  lt(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.op(tf.less(a, b), a, b);
  }
  gt(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.op(tf.greater(a, b), a, b);
  }
  le(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.op(tf.lessEqual(a, b), a, b);
  }
  ge(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.op(tf.greaterEqual(a, b), a, b);
  }
  eq(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.s.op(tf.equal(a, b), a, b);
  }
  where(mask: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    // tf.where leaves scalar branches one element long for an empty mask: answer empty.
    if (mask.size === 0) return this.s.op(tf.zeros(mask.shape), mask, a, b);
    return this.s.op(tf.where(mask, a, b), mask, a, b);
  }
  constant(x: number): tf.Tensor {
    const bits = float32Bits(x);
    let c = this.consts.get(bits);
    if (c === undefined) {
      c = tf.scalar(x);
      this.consts.set(bits, c);
    }
    return c;
  }
  copy(x: tf.Tensor): tf.Tensor {
    return this.s.op(tf.clone(x), x);
  }
  keep(x: tf.Tensor): tf.Tensor {
    return this.s.keep(x);
  }
}
