// The special values and the all-operations program the program compilers are tested with, in
// Node (kernels/program.test.ts: JavaScript, interpreted, WebAssembly) and in Chromium
// (browser/webgpu-programs.test.ts: WGSL), each against the same math run as tf ops.
import type { Ops } from '../src/internal/ops.js';

export const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 1, -1, 0.5, 2, 3, -7.25, 1e30, -1e-30, 65504, 0.1];

/** Pairs of every special value with every other (so each op meets each combination), 289 long. */
export const A = Float32Array.from(SPECIAL.flatMap((a) => SPECIAL.map(() => a)));
export const B = Float32Array.from(SPECIAL.flatMap(() => SPECIAL));
export const SCALARS = [0.9, -2.5];

/** One computation using every operation; outputs a few of them (masks only through where). */
export function compute<V>(ops: Ops<V>, a: V, b: V, s0: V, s1: V): V[] {
  const sum = ops.keep(ops.add(ops.mul(s0, a), b));
  const diff = ops.keep(ops.sub(a, ops.mul(s1, b)));
  const quotient = ops.keep(ops.div(sum, diff));
  const root = ops.sqrt(ops.abs(quotient));
  const picked = ops.where(ops.lt(a, b), ops.neg(a), ops.where(ops.ge(a, ops.constant(0)), root, ops.square(b)));
  const other = ops.where(ops.eq(a, b), ops.constant(-0), ops.where(ops.gt(a, b), ops.constant(1), ops.where(ops.le(b, ops.constant(2)), a, b)));
  const inverse = ops.rsqrt(ops.abs(diff));
  return [picked, ops.max(a, b), ops.min(a, b), ops.max(quotient, sum), ops.min(diff, ops.constant(-1)), other, inverse];
}
