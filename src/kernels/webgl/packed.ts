import * as tf from '@tensorflow/tfjs-core';
import { dynamicMap, dynamicMapMidpoints } from '../../internal/dynamic-map.js';
import { INT8_BLOCK, packedHeader, packedWords, type PackedFormat } from '../../internal/state-dtype.js';
import { COPYING24, type PackedHost } from '../packed-host.js';

/**
 * Packed state leaves (`stateDtype` bfloat16 or int8) on webgl, in its 24-bit layout
 * (internal/state-dtype.ts), decoded and encoded by small GLSL ES 3.00 programs on the GPU: the
 * fused step reads the packed leaves and writes new ones with no readback. Every element is an
 * integer below 2^24 (element 0, the negated header `-(4n + code)`, down to -2^24), which float32 textures hold exactly;
 * the programs take its bits with integer arithmetic and rebuild floats with `uintBitsToFloat`,
 * as the typed-array codec does (packed-codec.ts), so they equal it bit for bit wherever the
 * GPU's float32 division `x / s` is correctly rounded (SwiftShader's is; GLSL only bounds its
 * error, as WGSL does for the webgpu programs) and keeps subnormals (SwiftShader flushes them,
 * in every float32 program).
 */

interface WebGlProgramRunner {
  runWebGLProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo;
}

/** tfjs-backend-webgl's backend, when active and able to run programs. */
function webglRunner(): WebGlProgramRunner | undefined {
  if (tf.getBackend() !== 'webgl') return undefined;
  const b = tf.backend() as unknown as Partial<WebGlProgramRunner>;
  return typeof b.runWebGLProgram === 'function' ? (b as WebGlProgramRunner) : undefined;
}

/** Runs `main` (GLSL: `k` the output index; inputs `getA`, `getB`, ...) over `size` outputs. */
function run(r: WebGlProgramRunner, inputs: tf.Tensor[], size: number, dtype: 'float32' | 'int32', main: string, helpers = ''): tf.Tensor {
  const program = {
    variableNames: inputs.map((_, i) => 'ABCD'[i]),
    outputShape: [size],
    packedInputs: false,
    packedOutput: false,
    enableShapeUniforms: false,
    userCode: `
      ${helpers}
      void main() {
        int k = getOutputCoords();
        ${main}
      }`,
  };
  return tf.engine().makeTensorFromTensorInfo(r.runWebGLProgram(program, inputs, dtype));
}

/** GLSL: element `i` of input A, an int32 leaf of 24-bit elements (exact in a float texture). */
const ELEMENT = `int element(int i) { return int(getA(i)); }`;

/** GLSL: whether `x` is NaN or an infinity, from its bits (compilers may fold `x != x`). */
const NON_FINITE = `bool nonFinite(float x) { return (floatBitsToUint(x) & 0x7fffffffu) >= 0x7f800000u; }`;

/** The float32 values, shaped `shape`, of a packed leaf in the 24-bit layout on webgl (undefined elsewhere). Call inside a tidy. */
export function webglUnpackLeaf(format: PackedFormat, packed: tf.Tensor, shape: readonly number[]): tf.Tensor | undefined {
  const r = webglRunner();
  if (r === undefined) return undefined;
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return tf.zeros(shape as number[]);
  if (format === 'bfloat16') {
    // Values 3g, 3g + 1, 3g + 2 are the 48 bits of elements 1 + 2g (low) and 2 + 2g.
    const main = `
      int g = k / 3;
      int j = k - 3 * g;
      int e0 = element(1 + 2 * g);
      int e1 = 2 + 2 * g < ${packed.size} ? element(2 + 2 * g) : 0;
      int c = j == 0 ? (e0 & 0xffff) : j == 1 ? ((e0 >> 16) | ((e1 & 0xff) << 8)) : (e1 >> 8);
      setOutput(uintBitsToFloat(uint(c) << 16));`;
    return tf.reshape(run(r, [packed], n, 'float32', main, ELEMENT), shape as number[]);
  }
  const blocks = Math.ceil(n / INT8_BLOCK);
  const map = tf.tensor1d(dynamicMap(format === 'int8-signed'));
  const main = `
    int b = k / ${INT8_BLOCK};
    float s = uintBitsToFloat(uint(element(1 + 2 * b)) | (uint(element(2 + 2 * b)) << 16));
    int e = element(${1 + 2 * blocks} + k / 3);
    int c = (e >> (8 * (k - 3 * (k / 3)))) & 0xff;
    setOutput(getB(c) * s);`;
  return tf.reshape(run(r, [packed, map], n, 'float32', main, ELEMENT), shape as number[]);
}

/** The packed leaf (int32, 1-D) of float32 `x` in the 24-bit layout on webgl (undefined elsewhere). Call inside a tidy. */
export function webglPackLeaf(format: PackedFormat, x: tf.Tensor): tf.Tensor1D | undefined {
  const r = webglRunner();
  if (r === undefined) return undefined;
  const n = x.size;
  if (n === 0) return tf.tensor1d([packedHeader(format, 0, 24)], 'int32');
  const flat = tf.reshape(x, [-1]);
  const size = packedWords(format, n, 24);
  if (format === 'bfloat16') {
    // Round to nearest even on the bits; NaN becomes 0x7FC0. Elements 1 + 2g and 2 + 2g: the
    // 48 bits of values 3g, 3g + 1, 3g + 2.
    const helpers = `
      uint code(int i) {
        if (i >= ${n}) return 0u;
        uint u = floatBitsToUint(getA(i));
        if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;
        return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
      }`;
    const main = `
      if (k == 0) {
        setOutput(${packedHeader(format, n, 24)}.0);
      } else {
        int m = k - 1;
        int i = 3 * (m / 2);
        uint e = (m & 1) == 0 ? (code(i) | ((code(i + 1) & 0xffu) << 16)) : ((code(i + 1) >> 8) | (code(i + 2) << 8));
        setOutput(float(e));
      }`;
    return run(r, [flat], size, 'int32', main, helpers) as tf.Tensor1D;
  }
  const blocks = Math.ceil(n / INT8_BLOCK);
  // Each block's absmax, or -1 for a block holding NaN or an infinity.
  const absmaxMain = `
    float m = 0.0;
    bool bad = false;
    for (int j = 0; j < ${INT8_BLOCK}; j++) {
      int i = k * ${INT8_BLOCK} + j;
      if (i < ${n}) {
        float x = getA(i);
        bad = bad || nonFinite(x);
        m = max(m, abs(x));
      }
    }
    setOutput(bad ? -1.0 : m);`;
  const absmax = run(r, [flat], blocks, 'float32', absmaxMain, NON_FINITE);
  const mid = tf.tensor1d(dynamicMapMidpoints(format === 'int8-signed'));
  // The code of a value: the number of midpoints below x / s (s > 0; 0 otherwise), by binary search.
  const helpers = `
    uint code(int i) {
      if (i >= ${n}) return 0u;
      float s = getB(i / ${INT8_BLOCK});
      float normed = s > 0.0 ? getA(i) / s : 0.0;
      int c = 0;
      for (int h = 128; h >= 1; h /= 2) {
        if (normed > getC(c + h - 1)) c += h;
      }
      return uint(c);
    }`;
  const main = `
    if (k == 0) {
      setOutput(${packedHeader(format, n, 24)}.0);
    } else if (k <= ${2 * blocks}) {
      float s = getB((k - 1) / 2);
      uint u = s < 0.0 ? 0x7fc00000u : floatBitsToUint(s);
      setOutput(float(((k - 1) & 1) == 0 ? (u & 0xffffu) : (u >> 16)));
    } else {
      int i = 3 * (k - ${1 + 2 * blocks});
      setOutput(float(code(i) | (code(i + 1) << 8) | (code(i + 2) << 16)));
    }`;
  return run(r, [flat, absmax, mid], size, 'int32', main, helpers) as tf.Tensor1D;
}

/**
 * On webgl the 24-bit leaves are unpacked and packed on the GPU by GLSL programs; where those
 * cannot run (not tfjs's webgl backend), the typed-array codec does it through `dataSync`.
 */
export const webglPackedHost: PackedHost = {
  ...COPYING24,
  unpack: (format, packed, shape) => tf.tidy(() => webglUnpackLeaf(format, packed, shape)) ?? COPYING24.unpack(format, packed, shape),
  pack: (format, t) => tf.tidy(() => webglPackLeaf(format, t)) ?? COPYING24.pack(format, t),
};
