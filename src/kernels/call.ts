import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from './backend.js';
import { FUSED_KERNEL, type FusedAttrs } from './layout.js';

/**
 * Runs the fused kernel of `kernels` (the active backend's) through tfjs, which makes the outputs
 * tensors; registered on first use. The inputs go to the engine as an array, whose indices are
 * the names: the engine reads the map only by its keys (for the tape and the profiler), and a
 * map of hundreds of named properties costs more to build and to read back (`Object.values` on
 * a dictionary-mode object) than the kernel itself on small leaves (measured: a fifth of a plain
 * Adam step on 200 leaves of 64).
 */
export function callKernel(kernels: KernelBackend, inputs: readonly tf.Tensor[], attrs: FusedAttrs): tf.Tensor[] {
  if (!tf.getKernel(FUSED_KERNEL, kernels.name)) {
    tf.registerKernel({ kernelName: FUSED_KERNEL, backendName: kernels.name, kernelFunc: kernels.kernelFunc });
  }
  const named = inputs.slice() as unknown as tf.NamedTensorMap;
  return tf.engine().runKernel(FUSED_KERNEL, named, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/**
 * `true` when every tensor of `written` may be overwritten: it shares its data id with no other
 * tensor (the backend's refCount is 1), appears once, is none of `read`, and the backend's own
 * sharing rules allow it ({@link KernelBackend.mayWriteInPlace}).
 */
export function ownsBuffers(kernels: KernelBackend, written: readonly { dataId: object }[], read: readonly { dataId: object }[]): boolean {
  const b = tf.backend() as unknown as { refCount?(dataId: object): number };
  if (typeof b.refCount !== 'function') return false;
  const seen = new Set<object>();
  for (const t of read) seen.add(t.dataId);
  for (const t of written) {
    if (seen.has(t.dataId) || b.refCount(t.dataId) !== 1 || !kernels.mayWriteInPlace(t.dataId)) return false;
    seen.add(t.dataId);
  }
  return true;
}
