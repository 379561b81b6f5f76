import { describe, expect, it } from 'vitest';
import { expectSameBits, float, isNaNBits, useProgramsPage } from './programs-harness.js';
import { A, B, SPECIAL } from '../program-values.js';

// The WGSL kernels (src/kernels/webgpu) in headless Chromium on tfjs's webgpu backend, against
// the same math run as tf ops on that backend (the composite path), over NaN, ±Infinity, ±0,
// subnormals and ties: bit for bit on SwiftShader, which computes exact IEEE float32 (real GPUs
// need the tolerance the backends suite reads from TFJS_OPTAX_BROWSER_TOLERANCE). Also the
// layouts the fused step uses: outputs written over inputs, a scalar read from a GPU buffer (the
// clip factor), a program split over dispatches, leaves sharing a dispatch, leaves at offsets in
// one buffer, 2-D dispatch.

const { call, checkErrors } = useProgramsPage();

describe('WGSL kernels on the webgpu backend in Chromium', () => {
  it('compute every operation as tfjs-backend-webgpu does, over special values, in every layout', async () => {
    const r = await call('specialValues');
    // Something to compare: the composite path ran over all pairs, NaN and signed zeros included.
    expect(r.composite).toHaveLength(7);
    expect(r.composite[0]).toHaveLength(SPECIAL.length ** 2);
    for (const layout of ['fresh', 'inPlace', 'deviceScalar', 'unaligned'] as const) expectSameBits(r[layout], r.composite, layout, [A, B]);
    // tfjs's max is NaN when either operand is: (1, NaN) gives NaN on webgpu (wasm keeps the 1).
    const i = SPECIAL.indexOf(1) * SPECIAL.length;
    expect(Number.isNaN(B[i]) && isNaNBits(r.fresh[1][i])).toBe(true);
    checkErrors();
  });

  it('split a program over dispatches when its buffers exceed the device limit, and refuse a split in place', async () => {
    const r = await call('split');
    // Two shaders, each in the vector form (288 elements) and the scalar form (the last one).
    expect(r.dispatches).toBe(4);
    expectSameBits(r.fused, r.composite, 'split');
    expect(r.inPlaceRan).toBe(false);
    expect(r.inputsAfter).toEqual(r.inputsBefore);
    checkErrors();
  });

  it('read and write leaves at element offsets of one buffer, and run a leaf longer than a dispatch dimension', async () => {
    const { segments, long } = await call('layouts');
    const x = segments.input.map(float);
    const want = new Array<number>(300).fill(0);
    for (let i = 0; i < 100; i++) want[200 + i] = Math.fround(Math.fround(2 * x[5 + i]) + 1);
    for (let i = 0; i < 130; i++) want[i] = Math.fround(Math.fround(2 * x[150 + i]) + 1);
    expect(segments.output.map(float)).toEqual(want);
    expect(long.n).toBeGreaterThan(65535 * 64);
    expect(long.wrong).toBe(0);
    expect(long.last[1]).toBe(Math.fround(2 * long.last[0] + 1));
    checkErrors();
  });

  it('compute several small leaves in one dispatch while their buffers fit', async () => {
    const r = await call('grouped');
    // Leaves 1-4 in one vector dispatch (8 buffers); leaf 5's vector part and its 2-element tail.
    expect(r.dispatches).toBe(3);
    r.inputs.forEach((bits, j) => {
      expect(r.outputs[j].map(float), `leaf ${j}`).toEqual(bits.map((b) => Math.fround(Math.fround(2 * float(b)) + 1)));
    });
    checkErrors();
  });

  it('leave no tensors behind', async () => {
    expect(await call('numTensors')).toBe(0);
  });
});
