import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../types.js';
import { treeFlatten, treePaths } from '../tree/structure.js';
import { bfloat16Codes, bfloat16Values, packPairs, packTriples, unpackPairs, unpackTriples } from './bfloat16-pack.js';
import { floatOfNonNegativeBits, floatOfNonNegativeHalves, nonNegativeFloatBits, nonNegativeFloatHalves } from './float-bits.js';
import { int8Dequantize, int8Quantize, packQuads, packTrios, unpackQuads, unpackTrios } from './int8-pack.js';
import { checkFloatTrees, stateLike } from './leaves.js';
import type { FieldKind } from './state.js';
import { packValues } from './packed-codec.js';
import { describeHeader, notePackedHeader, packedHeaderOf } from './packed-headers.js';
import { checkPackedWords, convertLayout } from './packed-layout.js';
import {
  describeFormat,
  type SlotFormat,
  INT8_BLOCK,
  MAX_PACKED24_VALUES,
  MAX_PACKED_VALUES,
  packedHeader,
  packedWords,
  slotFormat,
  type PackedFormat,
  type PackedLayout,
  type StateDtype,
} from './state-dtype.js';

/**
 * Packed state slots: a leaf of a moment kept in bfloat16 or int8 is one 1-D int32 tensor (its
 * layouts: {@link packedWords}). The composite path unpacks each leaf to float32, runs the step's
 * float32 math, and packs the new moment once ({@link packLeaf}, {@link unpackLeaf}), in the
 * active backend's layout ({@link packedLayout}); a leaf in the other layout is converted first
 * ({@link leafInLayout}).
 */

/**
 * Values per piece of a leaf that the tf ops below pack or unpack at a time: whole int8 blocks,
 * bfloat16 pairs and triples, and 3-byte groups, so the pieces' words are the leaf's words in
 * order. A piece's intermediates (a few dozen tensors of its size) are freed before the next, so
 * packing a large leaf does not take dozens of times its size at once.
 */
export const PACK_PIECE = 3 * 2 ** 16;

/** What every piece size must be a multiple of: an int8 block, and 3 (the 24-bit layout's groups). */
export const PACK_PIECE_UNIT = 3 * INT8_BLOCK;

/**
 * The packed leaf (int32, 1-D) of float32 `x` in `format` and `layout` (the active backend's when
 * absent), packed `piece` values at a time (a multiple of {@link PACK_PIECE}'s factors: tests use
 * small ones). Call inside a tidy.
 */
export function packLeaf(format: PackedFormat, x: tf.Tensor, layout: PackedLayout = packedLayout(), piece = PACK_PIECE): tf.Tensor1D {
  const n = x.size;
  const flat = tf.reshape(x, [-1]) as tf.Tensor1D;
  const header = packedHeader(format, n, layout);
  const scales: tf.Tensor1D[] = [];
  const payload: tf.Tensor1D[] = [];
  for (let a = 0; a === 0 || a < n; a += piece) {
    const c = Math.min(piece, n - a);
    const parts = tf.tidy(() => {
      const values = c === n ? flat : tf.slice(flat, a, c);
      if (format === 'bfloat16') {
        const codes = bfloat16Codes(values) as tf.Tensor1D;
        return [layout === 32 ? packPairs(codes) : packTriples(codes)];
      }
      const [absmax, codes] = int8Quantize(values, format === 'int8-signed');
      // In the 24-bit layout each scale is its low and its high 16 bits, interleaved.
      const bits = layout === 32 ? (nonNegativeFloatBits(absmax) as tf.Tensor1D) : (tf.reshape(tf.transpose(tf.stack(nonNegativeFloatHalves(absmax))), [-1]) as tf.Tensor1D);
      return [bits, layout === 32 ? packQuads(codes) : packTrios(codes)];
    });
    if (parts.length === 2) scales.push(parts[0]);
    payload.push(parts[parts.length - 1]);
  }
  const packed = tf.concat([tf.tensor1d([header], 'int32'), ...scales, ...payload]);
  tf.dispose([...scales, ...payload]);
  notePackedHeader(packed, header);
  return packed;
}

/**
 * The float32 values, shaped `shape`, of a packed leaf in `format` and `layout` (the active
 * backend's when absent; the leaf must be in it), decoded `piece` values at a time (see
 * {@link packLeaf}). Call inside a tidy.
 */
export function unpackLeaf(format: PackedFormat, packed: tf.Tensor, shape: readonly number[], layout: PackedLayout = packedLayout(), piece = PACK_PIECE): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const words = packed as tf.Tensor1D;
  const blocks = Math.ceil(n / INT8_BLOCK);
  const pieces: tf.Tensor[] = [];
  for (let a = 0; a === 0 || a < n; a += piece) {
    const c = Math.min(piece, n - a);
    pieces.push(
      tf.tidy(() => {
        if (format === 'bfloat16') {
          const codes =
            layout === 32 ? unpackPairs(tf.slice(words, 1 + a / 2, Math.ceil(c / 2)), c) : unpackTriples(tf.slice(words, 1 + (2 * a) / 3, Math.ceil((2 * c) / 3)), c);
          return bfloat16Values(codes);
        }
        const b0 = a / INT8_BLOCK;
        const bs = Math.ceil(c / INT8_BLOCK);
        let absmax: tf.Tensor1D;
        let codes: tf.Tensor1D;
        if (layout === 32) {
          absmax = floatOfNonNegativeBits(tf.slice(words, 1 + b0, bs)) as tf.Tensor1D;
          codes = unpackQuads(tf.slice(words, 1 + blocks + a / 4, Math.ceil(c / 4)), c);
        } else {
          const [low, high] = tf.unstack(tf.transpose(tf.reshape(tf.slice(words, 1 + 2 * b0, 2 * bs), [bs, 2])));
          absmax = floatOfNonNegativeHalves(low, high) as tf.Tensor1D;
          codes = unpackTrios(tf.slice(words, 1 + 2 * blocks + a / 3, Math.ceil(c / 3)), c);
        }
        return int8Dequantize(absmax, codes, c, format === 'int8-signed');
      }),
    );
  }
  const values = pieces.length === 1 ? pieces[0] : tf.concat(pieces);
  if (pieces.length > 1) tf.dispose(pieces);
  return tf.reshape(values, shape as number[]);
}

/**
 * A new packed slot for `params` holding zeros, in the active backend's layout: a tree of its
 * structure whose leaves are packed int32 tensors. Checks `params` first, as `stateLike` does,
 * and that the backend can hold the packed leaves exactly ({@link checkPackedBackend}).
 */
export function packedZerosLike(owner: string, params: Params, format: PackedFormat): Params {
  checkFloatTrees(owner, ['params'], [params]);
  checkPackedBackend(owner, format, params);
  const layout = packedLayout();
  const [leaves, def] = treeFlatten(params);
  const big = leaves.findIndex((p) => p.size > MAX_PACKED_VALUES);
  if (big >= 0) {
    throw new RangeError(
      `${owner}: params leaf ${treePaths(params)[big]} has ${leaves[big].size} values; a packed state leaf (stateDtype) holds at most ${MAX_PACKED_VALUES}`,
    );
  }
  return def.unflatten(
    leaves.map((p) => {
      const t = tf.tensor1d(packValues(format, new Float32Array(p.size), layout), 'int32');
      notePackedHeader(t, packedHeader(format, p.size, layout));
      return t;
    }),
  ) as Params;
}

/**
 * How tfjs's own backends keep packed states: in the 32-bit layout where int32 tensors hold
 * every 32-bit value; in the 24-bit one on tfjs-backend-webgl, which keeps int32 tensors in
 * float32 textures, exact to 2^24. (tfjs-backend-webgpu's kernels read every input as float32
 * too, but the packed steps pack and unpack there with their own WGSL programs,
 * kernels/webgpu/packed.ts, which need `runWebGPUProgram`.) Tests add a name here to run the
 * 24-bit layout in Node.
 */
export const KNOWN_LAYOUTS: Record<string, PackedLayout> = { cpu: 32, wasm: 32, tensorflow: 32, webgl: 24, webgpu: 32 };

/** The packed layout of the active backend: 24 on webgl (float textures), 32 elsewhere. */
export function packedLayout(): PackedLayout {
  return KNOWN_LAYOUTS[tf.getBackend()] ?? 32;
}

/** Other backends already probed: why not, or null where int32 words are exact. */
const probed = new Map<string, string | null>();

/**
 * Throws unless the active backend holds packed leaves exactly: in the 24-bit layout on webgl,
 * where its textures are float32 (not float16: `WEBGL_RENDER_FLOAT32_ENABLED`) and every leaf of
 * `params` has at most 2^22 - 1 values (element 0 holds `-(4n + code)`, at least -2^24); in the 32-bit one elsewhere,
 * known for tfjs's own backends ({@link KNOWN_LAYOUTS}), probed once for others with a computation
 * whose result needs all 32 bits. (A probe cannot tell for webgl and webgpu: tfjs runs small ops
 * on inputs still on the CPU there, exactly, and reading back synchronously is broken on some
 * WebGPU devices.)
 */
export function checkPackedBackend(owner: string, format: PackedFormat, params?: Params): void {
  const name = tf.getBackend();
  const dtype = format.startsWith('int8') ? 'int8' : 'bfloat16';
  let why: string | null | undefined = name in KNOWN_LAYOUTS ? null : probed.get(name);
  if (name === 'webgpu' && typeof (tf.backend() as { runWebGPUProgram?: unknown }).runWebGPUProgram !== 'function') {
    why = 'its kernels compute int32 tensors through float32, exact to 2^24, and it runs no custom programs';
  }
  // (tfjs-backend-webgl's own backend only: the flag's first reading creates a WebGL context.)
  if (name === 'webgl' && 'gpgpu' in tf.backend() && !tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) {
    why = 'its textures are float16 here (WEBGL_RENDER_FLOAT32_ENABLED is false), exact to 2^11 only';
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
      `${owner}: stateDtype '${dtype}' packs moments into int32 words, which the ` +
        `'${name}' backend does not compute on exactly (${why}); use stateDtype 'float32' on this backend`,
    );
  }
  if (packedLayout() === 24 && params !== undefined) {
    const [leaves] = treeFlatten(params);
    const at = leaves.findIndex((p) => p.size > MAX_PACKED24_VALUES);
    if (at >= 0) {
      throw new Error(
        `${owner}: stateDtype '${dtype}' on the '${name}' backend packs each leaf into int32 elements below 2^24 (its textures are ` +
          `float32), whose element 0 holds -(4n + 1..3): a leaf may have at most ${MAX_PACKED24_VALUES} values, params ` +
          `${treePaths(params)[at]} has ${leaves[at].size}; split it, or use stateDtype 'float32' for it`,
      );
    }
  }
}

/**
 * The layout of `t`, a packed leaf in `format` of `n` values, from its header (recorded when the
 * library made it, else read once: packed-headers.ts); a header of another format or count is
 * an error naming the leaf (`path`).
 */
export function layoutOfLeaf(owner: string, format: PackedFormat, t: tf.Tensor, n: number, path: () => string): PackedLayout {
  const header = packedHeaderOf(t);
  if (header === packedHeader(format, n, 32)) return 32;
  if (header === packedHeader(format, n, 24)) return 24;
  throw new TypeError(
    `${owner}: ${path()} must be a packed ${describeFormat(format)} state of ${n} values, got ${describeHeader(header)} ` +
      '(a state made with another stateDtype, or for params of other shapes, cannot be stepped)',
  );
}

/**
 * Packed leaf `t` (in `format`, of `n` values, in either layout) in `layout`: `t` itself when it
 * is in it, else a new tensor holding the same codes and scales regrouped (packed-layout.ts),
 * made from its words read back. The words of a 32-bit leaf read back on webgl must still be the
 * ones it was given (tfjs keeps them on the CPU until a webgl program reads them: a texture keeps
 * 24 bits); otherwise the error names the leaf. Call inside a tidy: the new tensor is a temporary.
 */
export function leafInLayout(owner: string, format: PackedFormat, t: tf.Tensor, n: number, layout: PackedLayout, path: () => string): tf.Tensor {
  const from = layoutOfLeaf(owner, format, t, n, path);
  if (from === layout) return t;
  if (from === 32 && inFloatTexture(t)) {
    throw new Error(
      `${owner}: ${path()} is a packed ${describeFormat(format)} state in the 32-bit layout that a webgl program has read into a ` +
        `float texture, which keeps 24 bits of each word: step it on the backend that made it, or save it there and load it here`,
    );
  }
  const words = t.dataSync() as Int32Array;
  const checked = checkPackedWords(format, words);
  if (typeof checked === 'string' || checked.n !== n) {
    throw new Error(
      `${owner}: ${path()} must be a packed ${describeFormat(format)} state of ${n} values, got ${typeof checked === 'string' ? checked : `${checked.n} values`}`,
    );
  }
  const out = tf.tensor1d(convertLayout(format, words instanceof Int32Array ? words : Int32Array.from(words), layout), 'int32');
  notePackedHeader(out, packedHeader(format, n, layout));
  return out;
}

/** Whether `t`'s data is a webgl texture no longer kept on the CPU (tfjs-backend-webgl's `texData`). */
function inFloatTexture(t: tf.Tensor): boolean {
  const engine = tf.engine() as unknown as { state?: { tensorInfo?: WeakMap<object, { backend?: unknown }> } };
  const backend = engine.state?.tensorInfo?.get(t.dataId)?.backend as { texData?: { get(id: object): { values?: unknown } | undefined } } | undefined;
  const data = backend?.texData?.get(t.dataId);
  return data !== undefined && data.values == null;
}

/**
 * The slot trees `slotTrees` (slots in `formats`; `leaves` and `paths` the updates' leaves and
 * their paths) with every packed leaf in the active backend's layout ({@link leafInLayout}).
 * The trees must have been checked (`flattenFloatTrees`); `slotLeaves[k]` are the leaves of
 * slot `k`. Call inside a tidy.
 */
export function slotLeavesInLayout(
  owner: string,
  slotNames: readonly string[],
  formats: readonly SlotFormat[],
  updates: readonly tf.Tensor[],
  slotLeaves: readonly tf.Tensor[][],
  paths: () => string[],
): tf.Tensor[][] {
  const layout = packedLayout();
  return slotLeaves.map((leaves, k) => {
    const format = formats[k];
    if (format === 'float32') return leaves;
    return leaves.map((t, j) => leafInLayout(owner, format, t, updates[j].size, layout, () => withRoot(slotNames[k], paths()[j])));
  });
}

function withRoot(root: string, path: string): string {
  return path === '(root)' ? root : path.startsWith('[') ? `${root}${path}` : `${root}.${path}`;
}

/** The layout kind of a moment kept in `dtype`: `floatKind` for float32, `'packedTree'` otherwise. */
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
