import type { Ops } from './ops.js';

/**
 * `tf.clipByValue(x, lo, hi)` as an element step's operations, for bounds `lo < hi` (a scalar
 * each): `min(hi, max(lo, x))`. With the operands in this order, `max` and `min` (which follow
 * each backend's `tf.maximum` and `tf.minimum`) give what `tf.clipByValue` gives on that backend,
 * NaN included: NaN on cpu (and webgl), `lo` on wasm, whose clamp is XNNPACK's. Two exceptions,
 * which callers handle themselves: `tf.clipByValue` fills with `lo` when `lo === hi` (so with
 * `-0` for the bounds `-0, 0`), and the wasm backend lets NaN through when `lo` is 0.
 */
export function clipByValueOps<V>(ops: Ops<V>, x: V, lo: V, hi: V): V {
  return ops.min(hi, ops.max(lo, x));
}
