import { gpuBackend } from '../gpu-backend.js';
import { webgpuPackedHost } from './packed.js';
import { WebGpuKernels } from './runner.js';

/**
 * tfjs-backend-webgpu: each generated program as one WGSL compute dispatch per leaf on the
 * backend's own buffers. Reads the clip factor on the device; packs and unpacks packed state
 * leaves with WGSL programs (packed.ts).
 */
export const webgpuBackend = /* @__PURE__ */ gpuBackend(
  'webgpu',
  (backend) => WebGpuKernels.for(backend),
  'tfjs-optax: a generated program needs more storage buffers than this WebGPU device binds in one dispatch',
  () => webgpuPackedHost,
);
