import type * as tf from '@tensorflow/tfjs-core';
import type { FusedAttrs, KernelData, KernelTable } from './layout.js';
import type { PackedHost } from './packed-host.js';

/**
 * Which implementation runs a transformation's update on the current backend.
 * @group Kernels
 */
export type KernelPath = 'wasm-simd' | 'cpu' | 'webgpu' | 'webgl' | 'composite';

/**
 * What the dispatcher (fused.ts) needs from one tfjs backend's kernels. Each backend folder
 * (`wasm/`, `cpu/`, `webgl/`, `webgpu/`) implements it in its `backend.ts`, and backends.ts lists
 * them: a new backend is one folder and one line there. Nothing outside a backend's folder
 * compares backend names.
 */
export interface KernelBackend {
  /** The tfjs backend this serves (`tf.getBackend()`). */
  readonly name: string;
  /** What {@link kernelPath} reports where these kernels run. */
  readonly path: Exclude<KernelPath, 'composite'>;
  /**
   * Whether the kernels run on this instance of the backend (WebAssembly SIMD compiles, a WebGL2
   * context, ...); `false` makes every transformation composite there.
   */
  ready(backend: tf.KernelBackend): boolean;
  /**
   * Whether the backend runs the per-leaf norm pass (lamb, lars, novograd, fromage): it reads
   * sums of squares back synchronously, which the GPU backends do not do.
   */
  readonly leafNorms: boolean;
  /**
   * Whether the global-norm clip factor is computed on the device, as a tensor the kernel reads
   * (reading the norm back would stall a GPU pipeline), rather than in JS from a sum of squares.
   */
  readonly deviceClip: boolean;
  /** The tfjs kernel function of the fused step, writing new outputs (see {@link FusedAttrs}). */
  readonly kernelFunc: tf.KernelFunc;
  /**
   * The trust rule: whether the buffer of `dataId`, whose refCount is 1, may be overwritten,
   * given what this backend shares beyond data ids (webgl: shallow slices sharing a texture;
   * webgpu: a caller's zero-copy buffer). The cpu backend shares arrays without counting them:
   * it allows every tensor and writes into new arrays where it cannot prove one private.
   */
  mayWriteInPlace(dataId: object): boolean;
  /**
   * Runs the step with the outputs written over the input buffers (`table.outputs` are inputs;
   * `written` are those tensors, checked writable), then tells the backend what changed. `false`
   * (nothing done) where the backend refuses: a GPU device that cannot bind the buffers, a
   * shallow slice that cannot take a new texture.
   */
  runInPlace(attrs: FusedAttrs, table: KernelTable<KernelData>, written: readonly tf.Tensor[], clipFactor?: tf.Tensor): boolean;
  /**
   * The sum of squares of every element of `leaves` (float32) in float64, in one pass, or
   * `undefined` where it would need a synchronous read from a GPU.
   */
  sumOfSquares(leaves: readonly tf.Tensor[]): number | undefined;
  /** The value of a float32 scalar tensor, read without handing its buffer out. */
  readScalar(t: tf.Tensor): number;
  /**
   * Sets every element of `tensors` to `value` in their buffers (the caller owns them); `false`
   * where the backend cannot (nothing done).
   */
  fill(tensors: readonly tf.Tensor[], value: number): boolean;
  /**
   * How this backend decodes and encodes packed state leaves (`stateDtype` bfloat16 or int8)
   * around a fused step, reading and making tensors where it keeps them; without it, packed.ts
   * copies through `dataSync` and `tf.tensor` with the typed-array codec.
   */
  packedHost?(backend: tf.KernelBackend): PackedHost;
  /**
   * Whether the kernel runs the call `attrs` (with `attrs.slotFormats`) on the packed slots
   * themselves: it decodes the packed words, computes the step in float32 and encodes the new
   * moments into packed leaves in the same pass, with no float32 copies (the active backend
   * instance; `false` where a device limit stands in the way). Without it, or when it says
   * `false`, packed slots go through float32 copies (packed.ts).
   */
  runsPackedSlots?(attrs: FusedAttrs): boolean;
}
