/**
 * The dynamic 8-bit code maps of blockwise quantisation (Dettmers et al. 2022, "8-bit
 * Optimizers via Block-wise Quantization", arXiv:2110.02861; bitsandbytes' `create_dynamic_map`
 * with its defaults, 7 exponent bits). A code is a decimal exponent `10^-6 .. 10^0` and a linear
 * fraction in [0.1, 1]: for exponent `i` (0..6), the midpoints of the `K` equal intervals of
 * [0.1, 1] times `10^(i - 6)`, with `K = 2^i` (and both signs) in the signed map and
 * `K = 2^(i + 1)` in the unsigned one; then 0 and 1. Each map has 256 values, sorted ascending:
 * the signed one spans [-0.99297, 1] with 0 at code 127, the unsigned one [0, 1] with 0 at code 0.
 *
 * The values are the float32 roundings of that exact formula (bitsandbytes evaluates it in
 * torch float32 arithmetic, so a few entries may differ from its table by an ulp).
 */

/** The sorted code values of the signed or unsigned map, as float32. */
export function dynamicMap(signed: boolean): Float32Array {
  return signed ? (SIGNED ??= build(true)) : (UNSIGNED ??= build(false));
}

/**
 * The decision thresholds of nearest-code quantisation: entry `k` is the float32 midpoint of
 * codes `k` and `k + 1`. A normalised value `x` gets the code `#{k : x > mid[k]}`, the nearest
 * value, a tie going to the lower code (and NaN to code 0).
 *
 * One departure from nearest, in the unsigned map (second moments): its first threshold is 0,
 * so a positive value never takes code 0. A second moment below 1.6e-7 of its block's largest
 * (half the smallest code, 3.25e-7) would otherwise decode to 0, and Adam would divide its first
 * moment by `eps` alone: once a coordinate's gradient falls to 1/4000 of its block's largest, as
 * a sparse or dying one does, its step became about 10^4 times float32's. It now decodes to
 * 3.25e-7 of the block's largest, larger than the true value, so the step comes out smaller.
 */
export function dynamicMapMidpoints(signed: boolean): Float32Array {
  if (signed) return (SIGNED_MID ??= midpoints(dynamicMap(true)));
  if (UNSIGNED_MID === undefined) {
    UNSIGNED_MID = midpoints(dynamicMap(false));
    UNSIGNED_MID[0] = 0;
  }
  return UNSIGNED_MID;
}

let SIGNED: Float32Array | undefined;
let UNSIGNED: Float32Array | undefined;
let SIGNED_MID: Float32Array | undefined;
let UNSIGNED_MID: Float32Array | undefined;

function build(signed: boolean): Float32Array {
  const values: number[] = [0, 1];
  for (let i = 0; i < 7; i++) {
    const intervals = signed ? 2 ** i : 2 ** (i + 1);
    const width = 0.9 / intervals;
    for (let j = 0; j < intervals; j++) {
      const v = 10 ** (i - 6) * (0.1 + (j + 0.5) * width);
      values.push(v);
      if (signed) values.push(-v);
    }
  }
  if (values.length !== 256) throw new Error(`tfjs-optax: the dynamic map has ${values.length} values, not 256`);
  return Float32Array.from(values).sort();
}

function midpoints(map: Float32Array): Float32Array {
  const out = new Float32Array(map.length - 1);
  // The sum of two float32 values is exact in float64, so this is the midpoint rounded once.
  for (let k = 0; k < out.length; k++) out[k] = (map[k] + map[k + 1]) / 2;
  return out;
}
