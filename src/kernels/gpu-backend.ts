import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from './backend.js';
import { emptyPackedHeads, inputList, outputDtypes, outputShapes, tableOf, type FusedAttrs, type KernelData, type KernelTable } from './layout.js';
import { fillAttrs } from './tree-programs.js';

/** What the webgl and webgpu runners have in common (see their runner.ts). */
export interface GpuKernels {
  /** New tensors of `shapes` (float32, or `dtypes`) with GPU buffers. */
  makeOutputs(shapes: readonly number[][], dtypes?: ReadonlyArray<'float32' | 'int32'>, emptyHeads?: readonly number[]): tf.TensorInfo[];
  /** `false` (nothing done) where the backend refuses the call. */
  run(attrs: FusedAttrs, table: KernelTable<KernelData>, clipFactor?: { dataId: object }): boolean;
  mayWriteInPlace(dataId: object): boolean;
}

/**
 * The {@link KernelBackend} of a GPU backend (webgl, webgpu): generated programs only, the clip
 * factor read on the device, no per-leaf norm pass and no synchronous read of a sum of squares.
 * `kernelsFor` gives the runner of a backend instance (`null` where it cannot run); `refused` is
 * the message of a call the runner refuses.
 */
export function gpuBackend(
  name: 'webgl' | 'webgpu',
  kernelsFor: (backend: unknown) => GpuKernels | null,
  refused: string,
  packedHost?: KernelBackend['packedHost'],
  runsPackedSlots?: KernelBackend['runsPackedSlots'],
): KernelBackend {
  const active = () => kernelsFor(tf.backend())!;
  return {
    name,
    path: name,
    ready: (backend) => kernelsFor(backend) !== null,
    leafNorms: false,
    deviceClip: true,
    packedHost,
    ...(runsPackedSlots === undefined ? {} : { runsPackedSlots }),
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as FusedAttrs;
      const kernels = kernelsFor(backend);
      if (!kernels) throw new Error(`tfjs-optax: the ${name} kernels are not available on this backend`);
      const ins = inputList(inputs);
      const packed = a.slotFormats !== undefined;
      const outs = kernels.makeOutputs(outputShapes(ins, a), packed ? outputDtypes(a) : undefined, packed ? emptyPackedHeads(a) : undefined);
      try {
        // The clip factor, when computed on the device, comes last (see FusedAttrs.deviceClip).
        if (!kernels.run(a, tableOf(a, ins, outs), a.deviceClip ? ins[ins.length - 1] : undefined)) throw new Error(refused);
      } catch (e) {
        for (const t of outs) (backend as unknown as { disposeData(id: object): void }).disposeData(t.dataId);
        throw e;
      }
      return outs;
    },
    mayWriteInPlace: (dataId) => active().mayWriteInPlace(dataId),
    runInPlace: (attrs, table, _written, clipFactor) => active().run(attrs, table, clipFactor),
    // A sum of squares would have to be read back synchronously: callers take the composite path.
    sumOfSquares: () => undefined,
    readScalar: (t) => t.dataSync()[0],
    fill: (tensors, value) => {
      if (tensors.length === 0) return true;
      return active().run(fillAttrs(tensors.length, value), { sizes: tensors.map((t) => t.size), inputs: [tensors], outputs: [tensors] });
    },
  };
}
