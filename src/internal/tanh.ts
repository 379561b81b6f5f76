import type { Ops } from './ops.js';

// tanh over the element-step vocabulary. The kernels have no tanh instruction (WebAssembly has
// none, and tfjs's own tanh differs per backend), so it is written in the operations every
// backend rounds alike: a clamp, a rational function and a selection. The rational function is
// the float32 approximation XLA emits for tanh on CPU (from Eigen), which is what `jnp.tanh`
// computes there: odd numerator of degree 13 and even denominator of degree 6 in the clamped
// input, evaluated by Horner's rule.

/** Inputs are clamped to `±TANH_CLAMP`, where the rational function gives exactly ±1 in float32. */
const TANH_CLAMP = 7.90531110763549805;
/** Below this magnitude tanh(x) is x in float32 (and the rational function would flush tiny x to 0). */
const TANH_LINEAR = 0.0004;
/** Numerator coefficients, highest degree first: x * P(x^2), degrees 13, 11, ..., 1. */
const TANH_P = [
  -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5,
  6.37261928875436e-4, 4.89352455891786e-3,
];
/** Denominator coefficients, highest degree first: Q(x^2), degrees 6, 4, 2, 0. */
const TANH_Q = [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3];

/** `c[0] * y^(n-1) + ... + c[n-1]` by Horner's rule, each step rounded as the ops round. */
function horner<V>(ops: Ops<V>, y: V, coefficients: readonly number[]): V {
  let acc = ops.constant(coefficients[0]);
  for (const c of coefficients.slice(1)) acc = ops.add(ops.mul(acc, y), ops.constant(c));
  return acc;
}

/**
 * `tanh(x)` for float32, the same on every backend and path: within 7 float32 ulps of the
 * correctly rounded value (relative error below 5e-7), exactly ±1 from `|x| >= 7.9053`, `x`
 * itself for `|x| < 4e-4` (so -0 stays -0 and tiny values keep their sign), NaN for NaN, and
 * never above 1 in magnitude. `x` is read three times, so the caller keeps it.
 */
export function tanhOps<V>(ops: Ops<V>, x: V): V {
  // x first in max and min: NaN stays NaN on every backend (see Ops.max).
  const clamped = ops.keep(ops.min(ops.max(x, ops.constant(-TANH_CLAMP)), ops.constant(TANH_CLAMP)));
  const x2 = ops.keep(ops.square(clamped));
  const ratio = ops.div(ops.mul(horner(ops, x2, TANH_P), clamped), horner(ops, x2, TANH_Q));
  return ops.where(ops.lt(ops.abs(x), ops.constant(TANH_LINEAR)), x, ratio);
}
