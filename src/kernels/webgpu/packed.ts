import * as tf from '@tensorflow/tfjs-core';
import { dynamicMap, dynamicMapMidpoints } from '../../internal/dynamic-map.js';
import { INT8_BLOCK, packedHeader, type PackedFormat } from '../../internal/state-dtype.js';
import { COPYING, type PackedHost } from '../packed-host.js';

/**
 * Packing and unpacking a packed state leaf (internal/packed-slots.ts has the layout) on tfjs's
 * webgpu backend, as small WGSL programs that read and write the words' bits. The composite path
 * does it in tf ops, which cannot work there: tfjs-backend-webgpu's kernels (add, mod, slice,
 * concat, gather, ...) read every input as float32, so an int32 word keeps its upper 24 bits
 * only. These programs give the same bits as the tf ops give on cpu and wasm (and as the
 * typed-array codec), where the GPU rounds float32 division and multiplication as IEEE 754 does.
 * Each returns undefined when the active backend is not tfjs's webgpu backend.
 */

/** The part of tfjs-backend-webgpu's program interface used here (tfjs 4.x). */
interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

interface WebGpuRunner {
  runWebGPUProgram(program: WebGpuProgram, inputs: tf.TensorInfo[], outputDtype: 'float32' | 'int32'): tf.TensorInfo;
}

const WORKGROUP = 64;

/** tfjs's webgpu backend, when it is the active one. */
export function webgpuRunner(): WebGpuRunner | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const b = tf.backend() as unknown as Partial<WebGpuRunner>;
  return typeof b.runWebGPUProgram === 'function' ? (b as WebGpuRunner) : undefined;
}

/** Runs `body` (WGSL, `index` the output element, `result` the output buffer) over `size` outputs. */
function run(r: WebGpuRunner, key: string, inputs: tf.Tensor[], size: number, dtype: 'float32' | 'int32', body: string, helpers = ''): tf.Tensor {
  // A fresh program object each call: runWebGPUProgram rewrites its shaderKey.
  const program: WebGpuProgram = {
    outputShape: [size],
    shaderKey: `tfjsOptaxPacked_${key}`,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    variableNames: inputs.map((_, i) => 'ABCD'[i]),
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      ${helpers}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
  const info = r.runWebGPUProgram(program, inputs, dtype);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** WGSL: whether `x` is NaN or an infinity, from its bits (compilers may fold `x != x`). */
const NON_FINITE = `fn nonFinite(x : f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u; }`;

/** The float32 values, shaped `shape`, of a packed leaf on webgpu (undefined elsewhere). Call inside a tidy. */
export function webgpuUnpackLeaf(format: PackedFormat, packed: tf.Tensor, shape: readonly number[]): tf.Tensor | undefined {
  const r = webgpuRunner();
  if (r === undefined) return undefined;
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return tf.zeros(shape as number[]);
  if (format === 'bfloat16') {
    // Value i is the upper half of a float32: bfloat16 is float32's upper 16 bits.
    const body = `
      let w = bitcast<u32>(A[1 + index / 2]);
      result[index] = bitcast<f32>(((w >> (u32(index % 2) * 16u)) & 0xffffu) << 16u);`;
    return tf.reshape(run(r, 'bf16_unpack', [packed], n, 'float32', body), shape as number[]);
  }
  const blocks = Math.ceil(n / INT8_BLOCK);
  const map = tf.tensor1d(dynamicMap(format === 'int8-signed'));
  const body = `
    let s = bitcast<f32>(A[1 + index / ${INT8_BLOCK}]);
    let w = bitcast<u32>(A[${1 + blocks} + index / 4]);
    result[index] = B[(w >> (u32(index % 4) * 8u)) & 0xffu] * s;`;
  return tf.reshape(run(r, `int8_unpack_${blocks}`, [packed, map], n, 'float32', body), shape as number[]);
}

/** The packed leaf (int32, 1-D) of float32 `x` on webgpu (undefined elsewhere). Call inside a tidy. */
export function webgpuPackLeaf(format: PackedFormat, x: tf.Tensor): tf.Tensor1D | undefined {
  const r = webgpuRunner();
  if (r === undefined) return undefined;
  const n = x.size;
  if (n === 0) return tf.tensor1d([packedHeader(format, 0)], 'int32');
  const flat = tf.reshape(x, [-1]);
  if (format === 'bfloat16') {
    // Round to nearest even on the bits; NaN becomes 0x7FC0. Word k: values 2k (low) and 2k + 1.
    const helpers = `
      fn code(x : f32) -> u32 {
        let u = bitcast<u32>(x);
        if ((u & 0x7fffffffu) > 0x7f800000u) { return 0x7fc0u; }
        return (u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u;
      }`;
    const body = `
      if (index == 0) {
        result[0] = ${packedHeader(format, n)};
      } else {
        let i = 2 * (index - 1);
        let hi = select(0u, code(A[min(i + 1, ${n - 1})]), i + 1 < ${n});
        result[index] = bitcast<i32>(code(A[i]) | (hi << 16u));
      }`;
    return run(r, `bf16_pack_${n}`, [flat], 1 + Math.ceil(n / 2), 'int32', body, helpers) as tf.Tensor1D;
  }
  const blocks = Math.ceil(n / INT8_BLOCK);
  // The bits of each block's absmax, NaN's (0x7FC00000) for a block holding NaN or an infinity
  // (as int32: WGSL has no NaN constant).
  const absmaxBody = `
    var m = 0.0;
    var bad = false;
    for (var j = 0; j < ${INT8_BLOCK}; j++) {
      let i = index * ${INT8_BLOCK} + j;
      if (i < ${n}) {
        let x = A[i];
        bad = bad || nonFinite(x);
        m = max(m, abs(x));
      }
    }
    result[index] = select(bitcast<i32>(m), 0x7fc00000, bad);`;
  const absmax = run(r, `int8_absmax_${n}`, [flat], blocks, 'int32', absmaxBody, NON_FINITE);
  const mid = tf.tensor1d(dynamicMapMidpoints(format === 'int8-signed'));
  // The code of a value: the number of midpoints below x / s (s > 0; 0 otherwise), by binary search.
  const helpers = `
    fn code(i : i32) -> u32 {
      if (i >= ${n}) { return 0u; }
      let s = bitcast<f32>(B[i / ${INT8_BLOCK}]);
      let normed = select(0.0, A[i] / s, s > 0.0);
      var c = 0;
      for (var half = 128; half >= 1; half = half / 2) {
        if (normed > C[c + half - 1]) { c = c + half; }
      }
      return u32(c);
    }`;
  const body = `
    if (index == 0) {
      result[0] = ${packedHeader(format, n)};
    } else if (index <= ${blocks}) {
      result[index] = B[index - 1];
    } else {
      let i = 4 * (index - ${1 + blocks});
      result[index] = bitcast<i32>(code(i) | (code(i + 1) << 8u) | (code(i + 2) << 16u) | (code(i + 3) << 24u));
    }`;
  return run(r, `int8_pack_${format}_${n}`, [flat, absmax, mid], 1 + blocks + Math.ceil(n / 4), 'int32', body, helpers) as tf.Tensor1D;
}

/**
 * On webgpu the words are unpacked and packed on the GPU by WGSL programs (webgpu/packed.ts):
 * tfjs-backend-webgpu's own int32 ops go through float32 and would lose the low bits of a word.
 * Where those programs cannot run (not tfjs's webgpu backend), the typed-array codec does it.
 */
export const webgpuPackedHost: PackedHost = {
  ...COPYING,
  unpack: (format, packed, shape) => tf.tidy(() => webgpuUnpackLeaf(format, packed, shape)) ?? COPYING.unpack(format, packed, shape),
  pack: (format, t) => tf.tidy(() => webgpuPackLeaf(format, t)) ?? COPYING.pack(format, t),
};
