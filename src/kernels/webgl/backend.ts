import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from '../backend.js';
import { fillAttrs } from '../tree-programs.js';
import { inputList, outputShapes, tableOf, type FusedAttrs } from '../layout.js';
import { WebGlKernels } from './runner.js';

/** The kernels of the active backend, which the dispatcher has found ready. */
function active(): WebGlKernels {
  return WebGlKernels.for(tf.backend())!;
}

/** Frees kernel outputs made before a failure. */
function disposeOutputs(backend: unknown, outs: readonly tf.TensorInfo[]): void {
  for (const t of outs) (backend as { disposeData(id: object): void }).disposeData(t.dataId);
}

/**
 * tfjs-backend-webgl (WebGL2): each generated program as GLSL ES 3.00, one multiple-render-target
 * draw per leaf writing all of its outputs into new textures, which the written tensors then
 * take (GL cannot read and write one texture). Reads the clip factor on the device.
 */
export const webglBackend: KernelBackend = {
  name: 'webgl',
  path: 'webgl',
  ready: (backend) => WebGlKernels.for(backend) !== null,
  leafNorms: false,
  deviceClip: true,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as FusedAttrs;
    const kernels = WebGlKernels.for(backend);
    if (!kernels) throw new Error('tfjs-optax: the webgl kernels are not available on this backend');
    const ins = inputList(inputs);
    const outs = kernels.makeOutputs(outputShapes(ins, a));
    try {
      // The clip factor, when computed on the device, comes last (see FusedAttrs.deviceClip).
      if (!kernels.run(a, tableOf(a, ins, outs), a.deviceClip ? ins[ins.length - 1] : undefined)) {
        throw new Error('tfjs-optax: the webgl kernel refused to write its new outputs');
      }
    } catch (e) {
      disposeOutputs(backend, outs);
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
    const attrs = fillAttrs(tensors.length, value);
    return active().run(attrs, { sizes: tensors.map((t) => t.size), inputs: [tensors], outputs: [tensors] });
  },
};
