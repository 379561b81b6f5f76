import type * as tf from '@tensorflow/tfjs-core';
import type { Scratch } from './scratch.js';
import type { Ops } from './ops.js';

/**
 * Shared element-wise pieces of the moment-based transforms, written in the operation order
 * optax uses so that results match it to the bit where float32 allows. Scalars are tensors made
 * once per update and shared by all leaves; intermediates go through a {@link Scratch}.
 */

/** `(1 - decay) * g + decay * m`: the exponential moving average of `g` (optax `update_moment`). */
export function emaUpdate(s: Scratch, g: tf.Tensor, m: tf.Tensor, decay: tf.Scalar, oneMinusDecay: tf.Scalar): tf.Tensor {
  return s.add(s.mul(oneMinusDecay, g), s.mul(decay, m));
}

/** `(1 - decay) * g^2 + decay * v`: the moving average of squares (`update_moment_per_elem_norm`). */
export function emaOfSquaresUpdate(
  s: Scratch,
  g: tf.Tensor,
  v: tf.Tensor,
  decay: tf.Scalar,
  oneMinusDecay: tf.Scalar,
): tf.Tensor {
  return s.add(s.mul(oneMinusDecay, s.square(g)), s.mul(decay, v));
}

/**
 * The bias-correction denominator `1 - decay^count` of a moving average started at zero, in
 * float64. `count` is the number of averages taken, including this step's (1 on the first).
 */
export function biasCorrection(decay: number, count: number): number {
  return 1 - decay ** count;
}

/** {@link emaUpdate} as an element step's operations: `(1 - decay) * g + decay * m`. */
export function emaOps<V>(ops: Ops<V>, g: V, m: V, decay: V, oneMinusDecay: V): V {
  return ops.add(ops.mul(oneMinusDecay, g), ops.mul(decay, m));
}

/** {@link emaOfSquaresUpdate} as an element step's operations: `(1 - decay) * g^2 + decay * v`. */
export function emaOfSquaresOps<V>(ops: Ops<V>, g: V, v: V, decay: V, oneMinusDecay: V): V {
  return ops.add(ops.mul(oneMinusDecay, ops.square(g)), ops.mul(decay, v));
}

/**
 * The per-step scalars of Adam's moments, and of the transforms that share them (AdaBelief):
 * `b1, 1 - b1, b2, 1 - b2`, the bias corrections `1 - b1^t`, `1 - b1^(t+1)` (Nesterov's
 * look-ahead) and `1 - b2^t` for the update `t = count + 1`, then `eps, epsRoot`.
 */
export function adamMomentScalars(b1: number, b2: number, eps: number, epsRoot: number, count: number): number[] {
  const t = count + 1;
  return [b1, 1 - b1, b2, 1 - b2, biasCorrection(b1, t), biasCorrection(b1, t + 1), biasCorrection(b2, t), eps, epsRoot];
}

/**
 * The debiased first moment: `m / (1 - b1^t)`, or with `nesterov` the look-ahead
 * `b1 * m / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)` (NAdam). Scalars from {@link adamMomentScalars}.
 */
export function debiasedMomentOps<V>(ops: Ops<V>, nesterov: boolean, m: V, g: V, b1: V, oneMinusB1: V, bc1: V, bc1Next: V): V {
  return nesterov ? ops.add(ops.mul(b1, ops.div(m, bc1Next)), ops.mul(oneMinusB1, ops.div(g, bc1))) : ops.div(m, bc1);
}
