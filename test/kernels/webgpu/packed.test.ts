// Packed state leaves on webgpu (src/kernels/webgpu/packed.ts) in Node: the WGSL programs run in
// Chromium only (browser/packed-states.test.ts compares them with wasm bit for bit); here, that
// they stand aside on other backends, and which backends refuse packed states at init, by name
// (tfjs's cpu kernels registered under the GPU backends' names: what a probe would see there
// with tfjs's CPU forwarding, which is why the check goes by name).
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webgpuPackLeaf, webgpuUnpackLeaf } from '../../../src/kernels/webgpu/packed.js';
import * as lib from '../../../src/index.js';

const previous = tf.getBackend();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend(previous);
});

describe('webgpu packing', () => {
  it('stands aside off webgpu', () => {
    const x = tf.tensor1d([1, 2, 3]);
    expect(webgpuPackLeaf('bfloat16', x)).toBeUndefined();
    expect(webgpuUnpackLeaf('int8-signed', tf.tensor1d([3, 0, 0], 'int32'), [3])).toBeUndefined();
    tf.dispose(x);
  });

  it.each([
    // (webgl packs in its 24-bit layout: test/internal/packed-slots.test.ts.)
    ['webgpu', 'its kernels compute int32 tensors through float32, exact to 2^24, and it runs no custom programs'],
  ])('%s (without custom programs) refuses bfloat16 and int8 at init, leaving nothing', async (name, why) => {
    const registered = tf.findBackend(name) !== null;
    if (!registered) tf.registerBackend(name, () => new MathBackendCPU(), -1);
    try {
      await tf.setBackend(name);
      const params = { w: tf.ones([5]) };
      const start = tf.memory().numTensors;
      for (const stateDtype of ['bfloat16', 'int8'] as const) {
        expect(() => lib.adam(0.1, { stateDtype }).init(params)).toThrow(
          `adam: stateDtype '${stateDtype}' packs moments into int32 words, which the '${name}' backend does not compute on exactly (${why}); use stateDtype 'float32' on this backend`,
        );
        expect(tf.memory().numTensors).toBe(start);
      }
      tf.dispose(params.w);
    } finally {
      await tf.setBackend('cpu');
      if (!registered) tf.removeBackend(name);
    }
  });
});
