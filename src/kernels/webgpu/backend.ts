import { gpuBackend } from '../gpu-backend.js';
import { WebGpuKernels } from './runner.js';

/**
 * tfjs-backend-webgpu: each generated program as one WGSL compute dispatch per leaf on the
 * backend's own buffers. Reads the clip factor on the device.
 */
export const webgpuBackend = /* @__PURE__ */ gpuBackend(
  'webgpu',
  (backend) => WebGpuKernels.for(backend),
  'tfjs-optax: a generated program needs more storage buffers than this WebGPU device binds in one dispatch',
);
