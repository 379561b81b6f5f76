import { gpuBackend } from '../gpu-backend.js';
import { WebGlKernels } from './runner.js';

/**
 * tfjs-backend-webgl (WebGL2): each generated program as GLSL ES 3.00, one multiple-render-target
 * draw per leaf writing all of its outputs into new textures, which the written tensors then
 * take (GL cannot read and write one texture). Reads the clip factor on the device.
 */
export const webglBackend = /* @__PURE__ */ gpuBackend(
  'webgl',
  (backend) => WebGlKernels.for(backend),
  'tfjs-optax: the webgl kernel refused to write its new outputs',
);
