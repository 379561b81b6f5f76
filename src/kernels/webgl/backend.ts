import { gpuBackend } from '../gpu-backend.js';
import { COPYING24 } from '../packed-host.js';
import { WebGlKernels } from './runner.js';

/**
 * tfjs-backend-webgl (WebGL2): each generated program as GLSL ES 3.00, one multiple-render-target
 * draw per leaf writing all of its outputs into new textures, which the written tensors then
 * take (GL cannot read and write one texture). Reads the clip factor on the device. Packed
 * states (`stateDtype` bfloat16 or int8) are in the 24-bit layout (internal/state-dtype.ts),
 * decoded around the program through `dataSync` and encoded through `tf.tensor`.
 */
export const webglBackend = /* @__PURE__ */ gpuBackend(
  'webgl',
  (backend) => WebGlKernels.for(backend),
  'tfjs-optax: the webgl kernel refused to write its new outputs',
  // Packed states in the 24-bit layout, decoded and encoded with the typed-array codec.
  () => COPYING24,
);
