import * as tf from '@tensorflow/tfjs-core';
import { gpuBackend } from '../gpu-backend.js';
import { webgpuPackedHost } from './packed.js';
import { WebGpuKernels } from './runner.js';

/**
 * tfjs-backend-webgpu: each generated program as one WGSL compute dispatch per leaf on the
 * backend's own buffers. Reads the clip factor on the device. Packed state slots are decoded
 * and encoded inside the generated program itself (packed-wgsl.ts); where a device limit stands
 * in the way, they are unpacked and packed around the float32 program by WGSL programs (packed.ts).
 */
export const webgpuBackend = /* @__PURE__ */ gpuBackend(
  'webgpu',
  (backend) => WebGpuKernels.for(backend),
  'tfjs-optax: a generated program needs more storage buffers than this WebGPU device binds in one dispatch',
  () => webgpuPackedHost,
  (attrs) => WebGpuKernels.for(tf.backend())?.runsPackedSlots(attrs) ?? false,
);
