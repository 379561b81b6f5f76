import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../types.js';
import { treeFlatten, treePaths } from '../tree/structure.js';
import { bfloat16Codes, bfloat16Values, packPairs, unpackPairs } from './bfloat16-pack.js';
import { floatOfNonNegativeBits, nonNegativeFloatBits } from './float-bits.js';
import { int8Dequantize, int8Quantize, packQuads, unpackQuads } from './int8-pack.js';
import { checkFloatTrees, stateLike } from './leaves.js';
import type { FieldKind } from './state.js';
import { packValues } from './packed-codec.js';
import { notePackedHeader } from './packed-headers.js';
import { INT8_BLOCK, MAX_PACKED_VALUES, packedHeader, packedWords, slotFormat, type PackedFormat, type StateDtype } from './state-dtype.js';

/**
 * Packed state slots: a leaf of a moment kept in bfloat16 or int8 is one 1-D int32 tensor (its
 * layout: {@link packedWords}). The composite path unpacks each leaf to float32, runs the step's
 * float32 math, and packs the new moment once ({@link packLeaf}, {@link unpackLeaf}).
 */

/** The packed leaf (int32, 1-D) of float32 `x` in `format`. Call inside a tidy. */
export function packLeaf(format: PackedFormat, x: tf.Tensor): tf.Tensor1D {
  const n = x.size;
  const flat = tf.reshape(x, [-1]) as tf.Tensor1D;
  const header = packedHeader(format, n);
  const head = tf.tensor1d([header], 'int32');
  let packed: tf.Tensor1D;
  if (format === 'bfloat16') packed = tf.concat([head, packPairs(bfloat16Codes(flat) as tf.Tensor1D)]);
  else {
    const [absmax, codes] = int8Quantize(flat, format === 'int8-signed');
    packed = tf.concat([head, nonNegativeFloatBits(absmax) as tf.Tensor1D, packQuads(codes)]);
  }
  notePackedHeader(packed, header);
  return packed;
}

/** The float32 values, shaped `shape`, of a packed leaf in `format`. Call inside a tidy. */
export function unpackLeaf(format: PackedFormat, packed: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const words = packed as tf.Tensor1D;
  if (format === 'bfloat16') return tf.reshape(bfloat16Values(unpackPairs(tf.slice(words, 1, Math.ceil(n / 2)), n)), shape as number[]);
  const blocks = Math.ceil(n / INT8_BLOCK);
  const absmax = floatOfNonNegativeBits(tf.slice(words, 1, blocks)) as tf.Tensor1D;
  const codes = unpackQuads(tf.slice(words, 1 + blocks, Math.ceil(n / 4)), n);
  return tf.reshape(int8Dequantize(absmax, codes, n, format === 'int8-signed'), shape as number[]);
}

/**
 * A new packed slot for `params` holding zeros: a tree of its structure whose leaves are packed
 * int32 tensors. Checks `params` first, as `stateLike` does, and that the backend keeps int32
 * exactly ({@link checkPackedBackend}).
 */
export function packedZerosLike(owner: string, params: Params, format: PackedFormat): Params {
  checkFloatTrees(owner, ['params'], [params]);
  checkPackedBackend(owner, format);
  const [leaves, def] = treeFlatten(params);
  const big = leaves.findIndex((p) => p.size > MAX_PACKED_VALUES);
  if (big >= 0) {
    throw new RangeError(
      `${owner}: params leaf ${treePaths(params)[big]} has ${leaves[big].size} values; a packed state leaf (stateDtype) holds at most ${MAX_PACKED_VALUES}`,
    );
  }
  return def.unflatten(
    leaves.map((p) => {
      const packed = tf.tensor1d(packValues(format, new Float32Array(p.size)), 'int32');
      notePackedHeader(packed, packedHeader(format, p.size));
      return packed;
    }),
  ) as Params;
}

/**
 * Why the packed states cannot run on a backend, for tfjs's own backends (null where they can):
 * tfjs-backend-webgl keeps int32 tensors in float textures, so a word keeps its upper 24 bits.
 * (tfjs-backend-webgpu's kernels read every input as float32 too, but the packed steps pack and
 * unpack there with their own WGSL programs.)
 */
const KNOWN_BACKENDS: Record<string, string | null> = {
  cpu: null,
  wasm: null,
  tensorflow: null,
  webgl: 'its int32 tensors are float textures, exact to 2^24',
  // Its kernels compute int32 tensors through float32, exact to 2^24; the packed steps run their
  // own WGSL programs there instead (kernels/webgpu/packed.ts), which need `runWebGPUProgram`.
  webgpu: null,
};

/** Other backends already probed: why not, or null where int32 words are exact. */
const probed = new Map<string, string | null>();

/**
 * Throws unless the active backend keeps int32 words exactly: known for tfjs's own backends
 * ({@link KNOWN_BACKENDS}), probed once for others with a computation whose result needs all 32
 * bits. (A probe cannot tell for webgl and webgpu: tfjs runs small ops on inputs still on the CPU
 * there, exactly, and reading back synchronously is broken on some WebGPU devices.)
 */
export function checkPackedBackend(owner: string, format: PackedFormat): void {
  const name = tf.getBackend();
  let why = name in KNOWN_BACKENDS ? KNOWN_BACKENDS[name] : probed.get(name);
  if (name === 'webgpu' && typeof (tf.backend() as { runWebGPUProgram?: unknown }).runWebGPUProgram !== 'function') {
    why = 'its kernels compute int32 tensors through float32, exact to 2^24, and it runs no custom programs';
  }
  if (why === undefined) {
    const probe = tf.tidy(() => tf.add(tf.tensor1d([2147483520, -2147483647], 'int32'), tf.scalar(1, 'int32')));
    const got = probe.dataSync();
    probe.dispose();
    why = got[0] === 2147483521 && got[1] === -2147483646 ? null : 'its int32 tensors do not hold every 32-bit value';
    probed.set(name, why);
  }
  if (why !== null) {
    throw new Error(
      `${owner}: stateDtype '${format.startsWith('int8') ? 'int8' : 'bfloat16'}' packs moments into int32 words, which the ` +
        `'${name}' backend does not compute on exactly (${why}); use stateDtype 'float32' on this backend`,
    );
  }
}

/** Whether `t` is a packed leaf in `format` for `n` values (live, int32, 1-D, of the right length). */
export function isPackedLeaf(t: tf.Tensor, format: PackedFormat, n: number): boolean {
  return !t.isDisposed && t.dtype === 'int32' && t.rank === 1 && t.size === packedWords(format, n);
}

/** The layout kind of a moment kept in `dtype`: `floatKind` for float32, its packed kind otherwise. */
export function momentField(dtype: StateDtype, floatKind: 'tree' | 'nonNegativeTree'): FieldKind {
  if (dtype === 'float32') return floatKind;
  return floatKind === 'tree' ? 'packedTree' : 'packedNonNegativeTree';
}

/**
 * A new moment for `params` kept in `dtype`, at zero: float32 tensors (as `stateLike`) or packed
 * leaves; `signed` for a moment that takes both signs (int8's signed map).
 */
export function momentsLike(owner: string, params: Params, dtype: StateDtype, signed: boolean): Params {
  return dtype === 'float32' ? stateLike(owner, params) : packedZerosLike(owner, params, slotFormat(dtype, signed) as PackedFormat);
}
