/**
 * The vocabulary of element-wise math that element steps are written in: each step's `emit`
 * runs over tfjs tensors on the composite path (steps/tensor-ops.ts) and over program nodes for
 * the kernels (kernels/program.ts).
 */

/**
 * Element-wise operations over values of type `V`: tfjs tensors for the composite path, program
 * nodes for the kernels. Each operation rounds its result to float32, in the given order, so the
 * composite path and the kernels compute the same numbers. Comparisons give masks for `where`.
 * `max` and `min` treat NaN as `tf.maximum` and `tf.minimum` do on the backend at hand, and
 * those differ: NaN if either operand is NaN on cpu and webgpu; on wasm, the first operand
 * unless the second is strictly greater (smaller), so NaN only when the first is NaN.
 */
export interface Ops<V> {
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  /** `a * a`, as `tf.square` computes it. */
  square(a: V): V;
  sqrt(a: V): V;
  /**
   * `1 / sqrt(a)` as `tf.rsqrt` computes it on the backend at hand: rounded once on cpu (the
   * quotient of float64 values), the root rounded to float32 first on wasm.
   */
  rsqrt(a: V): V;
  abs(a: V): V;
  neg(a: V): V;
  max(a: V, b: V): V;
  min(a: V, b: V): V;
  lt(a: V, b: V): V;
  gt(a: V, b: V): V;
  le(a: V, b: V): V;
  ge(a: V, b: V): V;
  eq(a: V, b: V): V;
  /** `mask ? a : b`, element-wise. */
  where(mask: V, a: V, b: V): V;
  /** A constant. */
  constant(x: number): V;
  /**
   * `x` as a value of its own, for a state slot that keeps an input (the gradient): a clone
   * sharing the buffer for tensors (the caller may free the original), the same node in a
   * program (the kernel writes it to the slot).
   */
  copy(x: V): V;
  /**
   * Marks `x` as used again later (a new moment that is also read by the direction): the tf
   * implementation then keeps the temporary alive; programs ignore it.
   */
  keep(x: V): V;
}

/** The bit pattern of `x` rounded to float32. */
export function float32Bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0];
}
