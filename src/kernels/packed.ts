import * as tf from '@tensorflow/tfjs-core';
import type { Params, Updates } from '../types.js';
import { flattenFloatTrees } from '../internal/leaves.js';
import { packInto, unpackInto } from '../internal/packed-codec.js';
import { packedWords, type PackedFormat, type SlotFormat } from '../internal/state-dtype.js';
import type { KernelBackend } from './backend.js';
import { claim, watchCpuBackend, type CpuBackendLike } from './cpu/ownership.js';
import type { FusedSpec } from './spec.js';
import { heapOf, WasmKernels, type WasmBackendLike } from './wasm/runner.js';
import { webgpuPackLeaf, webgpuUnpackLeaf } from './webgpu/packed.js';

/**
 * Packed slots (`stateDtype` bfloat16 or int8) on the host kernels (wasm, cpu) and on webgpu:
 * each packed leaf is decoded into a float32 copy with the typed-array codec (on webgpu by its
 * WGSL programs, webgpu/packed.ts, on the GPU), the chain's generated float32
 * program runs on the copies as on any float32 state, and its new slots are encoded back, leaf
 * by leaf. The codec equals the composite path's tf ops bit for bit and the program equals the
 * composite float32 math, so the fused step equals the composite one bit for bit. The copies
 * live for one step; the packed state is what is kept.
 *
 * The codec reads and writes tensor memory where the backend keeps it ({@link Host}): it reads
 * the packed leaves and the kernel's float32 outputs in place, and writes into tensors it has
 * just made, which nobody else holds. No tensor given to the step is written.
 */

/**
 * Reading and making tensors on the active backend without the copies of `dataSync` and
 * `tf.tensor`. A view `read` returns is valid until the backend next allocates (a wasm heap may
 * grow and move): `make` calls `fill` after its allocation, which reads its sources there.
 */
interface Host {
  read(t: tf.Tensor, dtype: 'int32'): Int32Array;
  read(t: tf.Tensor, dtype: 'float32'): Float32Array;
  /** A new tensor whose every element `fill` writes (it starts with any contents). */
  make(shape: number[], dtype: 'int32' | 'float32', fill: (data: Int32Array & Float32Array) => void): tf.Tensor;
  /** A float32 copy of shape `shape` of the values of the packed leaf `packed`. */
  unpack(format: PackedFormat, packed: tf.Tensor, shape: number[]): tf.Tensor;
  /** The packed leaf of the values of the float32 tensor `t`. */
  pack(format: PackedFormat, t: tf.Tensor): tf.Tensor;
}

/** {@link Host.unpack} and {@link Host.pack} with the typed-array codec. */
function withCodec(h: Pick<Host, 'read' | 'make'>): Host {
  return {
    ...h,
    unpack: (format, packed, shape) => h.make(shape, 'float32', (data) => unpackInto(format, h.read(packed, 'int32'), data)),
    pack: (format, t) => h.make([packedWords(format, t.size)], 'int32', (data) => packInto(format, h.read(t, 'float32'), data)),
  };
}

type ArrayOf = { int32: Int32Array; float32: Float32Array };
const ARRAYS = { int32: Int32Array, float32: Float32Array } as const;

/** Reads with `dataSync` (a copy on wasm, the backend's own array on cpu), makes with `tf.tensor`. */
const COPYING: Host = withCodec({
  read: ((t: tf.Tensor) => t.dataSync()) as Host['read'],
  make(shape, dtype, fill) {
    const data = new ARRAYS[dtype](tf.util.sizeFromShape(shape));
    fill(data as Int32Array & Float32Array);
    return tf.tensor(data, shape, dtype);
  },
});

/** The wasm backend's heap, read and written where the backend keeps each tensor. */
function wasmHost(b: WasmBackendLike & { makeOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo }): Host {
  const memory = heapOf(b);
  const kernels = WasmKernels.for(b);
  if (memory === undefined || kernels === null || typeof b.makeOutput !== 'function') return COPYING;
  const here = (t: tf.Tensor) => b.dataIdMap.get(t.dataId) !== undefined;
  const read = <D extends 'int32' | 'float32'>(t: tf.Tensor, dtype: D): ArrayOf[D] => {
    const entry = b.dataIdMap.get(t.dataId);
    // Data kept elsewhere (a tensor of another backend) is read through tfjs, which moves it.
    if (entry === undefined || t.dtype !== dtype) return t.dataSync() as ArrayOf[D];
    return new ARRAYS[dtype](memory.buffer, entry.memoryOffset, t.size) as ArrayOf[D];
  };
  /** A new tensor of the backend's own uninitialised memory (refCount 1), filled by `fill`. */
  const made = (shape: number[], dtype: 'int32' | 'float32', fill: (t: tf.Tensor) => void): tf.Tensor => {
    const t = tf.engine().makeTensorFromTensorInfo(b.makeOutput!(shape, dtype));
    try {
      fill(t);
    } catch (err) {
      t.dispose();
      throw err;
    }
    return t;
  };
  const host = withCodec({
    read: read as Host['read'],
    make: (shape, dtype, fill) => made(shape, dtype, (t) => fill(read(t, dtype) as Int32Array & Float32Array)),
  });
  // The codec of optimizers.wat, where the tensor read is this backend's own.
  const codec = (pack: boolean, format: PackedFormat, packed: tf.Tensor, floats: tf.Tensor) => {
    if (format === 'bfloat16') kernels.bfloat16(pack, packed.dataId, floats.dataId, floats.size);
    else kernels.int8(pack, format === 'int8-signed', packed.dataId, floats.dataId, floats.size);
  };
  return {
    ...host,
    unpack: (format, packed, shape) =>
      here(packed) ? made(shape, 'float32', (t) => codec(false, format, packed, t)) : host.unpack(format, packed, shape),
    pack: (format, t) =>
      here(t)
        ? made([packedWords(format, t.size)], 'int32', (p) => {
            new Int32Array(memory.buffer, kernels.offset(p.dataId), 1)[0] = t.size;
            codec(true, format, p, t);
          })
        : host.pack(format, t),
  };
}

/** The cpu backend's arrays, read without handing them out (see cpu/ownership.ts). */
function cpuHost(b: CpuBackendLike): Host {
  if (typeof b.data?.get !== 'function') return COPYING;
  return withCodec({
    read: ((t: tf.Tensor, dtype: 'int32' | 'float32') => {
      const values = b.data.get(t.dataId)?.values as unknown;
      return values instanceof ARRAYS[dtype] && values.length === t.size ? values : t.dataSync();
    }) as Host['read'],
    // A float32 copy's array is the library's alone (nothing else holds it), so an in-place
    // step may write it (ownership.ts).
    make: (shape, dtype, fill) => {
      const t = COPYING.make(shape, dtype, fill);
      if (dtype === 'float32' && watchCpuBackend(b)) claim(b.data.get(t.dataId)!.values);
      return t;
    },
  });
}

function hostOf(kernels: KernelBackend): Host {
  const b = tf.backend() as unknown;
  if (kernels.name === 'wasm') return wasmHost(b as WasmBackendLike);
  if (kernels.name === 'cpu') return cpuHost(b as CpuBackendLike);
  if (kernels.name === 'webgpu') return WEBGPU;
  return COPYING;
}

/**
 * On webgpu the words are unpacked and packed on the GPU by WGSL programs (webgpu/packed.ts):
 * tfjs-backend-webgpu's own int32 ops go through float32 and would lose the low bits of a word.
 * Where those programs cannot run (not tfjs's webgpu backend), the typed-array codec does it.
 */
const WEBGPU: Host = {
  ...COPYING,
  unpack: (format, packed, shape) => tf.tidy(() => webgpuUnpackLeaf(format, packed, shape)) ?? COPYING.unpack(format, packed, shape),
  pack: (format, t) => tf.tidy(() => webgpuPackLeaf(format, t)) ?? COPYING.pack(format, t),
};

/**
 * `spec` over float32 copies of the packed slots of `state`: the spec to run, and `release` to
 * free the copies once it has run. Checks the packed trees against the updates first (the
 * composite path's errors), before anything is made.
 */
export function unpackSlots<S>(kernels: KernelBackend, spec: FusedSpec<S>, state: S, updates: Updates): { spec: FusedSpec<S>; release(): void } {
  const formats = spec.slotFormats!;
  const host = hostOf(kernels);
  const packedTrees = spec.slots(state);
  const [leaves, def] = flattenFloatTrees(spec.owner, ['updates', ...spec.slotNames], [updates, ...packedTrees], ['float32', ...formats]);
  const made: tf.Tensor[] = [];
  try {
    const floatTrees = packedTrees.map((tree, k) => {
      const format = formats[k];
      if (format === 'float32') return tree;
      return def.unflatten(
        leaves[k + 1].map((packed, j) => {
          const copy = host.unpack(format, packed, leaves[0][j].shape);
          made.push(copy);
          return copy;
        }),
      ) as Params;
    });
    return {
      spec: {
        ...spec,
        slotFormats: undefined,
        slots: () => floatTrees,
        next: (s) => {
          const build = spec.next(s);
          return (slots, leafState) =>
            build(
              slots.map((tree, k) => (formats[k] === 'float32' ? tree : packTree(host, formats[k] as PackedFormat, tree))),
              leafState,
            );
        },
      },
      release: () => tf.dispose(made),
    };
  } catch (err) {
    tf.dispose(made);
    throw err;
  }
}

/** The packed tree of a kernel's new float32 slot tree, whose tensors it frees (its own, or the copies). */
function packTree(host: Host, format: SlotFormat & PackedFormat, tree: Params): Params {
  const [leaves, def] = flattenFloatTrees('packTree', ['slot'], [tree]);
  const packed: tf.Tensor[] = [];
  try {
    for (const t of leaves[0]) packed.push(host.pack(format, t));
  } catch (err) {
    tf.dispose(packed);
    throw err;
  }
  for (const t of leaves[0]) if (!t.isDisposed) t.dispose();
  return def.unflatten(packed) as Params;
}
