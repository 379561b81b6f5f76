import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from '../backend.js';
import { inputList, outputDtypes, outputShapes, tableOf, type FusedAttrs, type KernelData, type KernelTable } from '../layout.js';
import { heapOf, WasmKernels, type WasmBackendLike } from './runner.js';
import { hasPackedSlots, runPackedChunks } from './packed-chunks.js';
import { wasmHost } from './packed-host.js';

/** The kernels of the active backend, which the dispatcher has found ready. */
function active(): WasmKernels {
  return WasmKernels.for(tf.backend() as unknown as WasmBackendLike)!;
}

/** Runs a call on `kernels`: packed slots chunk by chunk (packed-chunks.ts), others leaf by leaf. */
function runOn(kernels: WasmKernels, attrs: FusedAttrs, table: KernelTable<KernelData>): void {
  if (hasPackedSlots(attrs)) runPackedChunks(kernels, attrs, table, () => heapOf(tf.backend() as unknown as WasmBackendLike)!.buffer as ArrayBuffer);
  else kernels.run(attrs, table);
}

/**
 * tfjs-backend-wasm: the generated programs as WebAssembly SIMD modules importing the backend's
 * own memory, so they read and write tensors where tfjs keeps them. Its refCount is exact
 * (`tf.tensor` and `dataSync` copy), so a buffer with one reference is the caller's alone.
 */
export const wasmBackend: KernelBackend = {
  name: 'wasm',
  path: 'wasm-simd',
  ready: (backend) => WasmKernels.for(backend as unknown as WasmBackendLike) !== null,
  leafNorms: true,
  packedHost: (backend) => wasmHost(backend as unknown as WasmBackendLike),
  // Packed slots are decoded and encoded chunk by chunk around the program (packed-chunks.ts).
  runsPackedSlots: (attrs) => attrs.flatSlots !== true,
  deviceClip: false,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as FusedAttrs;
    const b = backend as unknown as WasmBackendLike & { makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo };
    const kernels = WasmKernels.for(b);
    if (!kernels) throw new Error('tfjs-optax: the wasm kernels are not available on this backend');
    const ins = inputList(inputs);
    const dtypes = a.slotFormats === undefined ? undefined : outputDtypes(a);
    const outs = outputShapes(ins, a).map((shape, i) => b.makeOutput(shape, dtypes?.[i] ?? 'float32'));
    runOn(kernels, a, tableOf(a, ins, outs));
    return outs;
  },
  mayWriteInPlace: () => true,
  runInPlace: (attrs, table, written) => {
    const kernels = active();
    runOn(kernels, attrs, table);
    for (const t of written) kernels.changed(t.dataId, t.size);
    return true;
  },
  sumOfSquares: (leaves) => active().sumOfSquares(leaves),
  readScalar: (t) => (tf.backend() as unknown as { readSync(id: object): Float32Array }).readSync(t.dataId)[0],
  fill: (tensors, value) => {
    active().fillWith(tensors, value);
    return true;
  },
};
