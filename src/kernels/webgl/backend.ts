import { gpuBackend } from '../gpu-backend.js';
import { webglPackedHost } from './packed.js';
import { WebGlKernels } from './runner.js';

/**
 * tfjs-backend-webgl (WebGL2): each generated program as GLSL ES 3.00, one multiple-render-target
 * draw per leaf writing all of its outputs into new textures, which the written tensors then
 * take (GL cannot read and write one texture). Reads the clip factor on the device. Packed
 * states (`stateDtype` bfloat16 or int8) are in the 24-bit layout (internal/state-dtype.ts),
 * decoded and encoded around the step's program by small GLSL programs (packed.ts).
 */
export const webglBackend = /* @__PURE__ */ gpuBackend(
  'webgl',
  (backend) => WebGlKernels.for(backend),
  'tfjs-optax: the webgl kernel refused to write its new outputs',
  // Packed states in the 24-bit layout, decoded and encoded by GLSL programs (packed.ts).
  () => webglPackedHost,
);
