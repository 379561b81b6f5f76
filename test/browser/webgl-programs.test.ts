import { describe, expect, it } from 'vitest';
import { expectSameBits, float, isNaNBits, useProgramsPage } from './programs-harness.js';
import { A, B, SPECIAL } from '../program-values.js';

// The GLSL kernels (src/kernels/webgl) in headless Chromium on tfjs's webgl backend, against the
// same math run as tf ops on that backend (the composite path), over NaN, ±Infinity, ±0,
// subnormals and ties: bit for bit on SwiftShader, which computes exact IEEE float32. Also the
// layouts the fused step meets: packed inputs of the outputs' layout and of other shapes,
// unpacked ones, CPU-resident ones, outputs given to the input tensors (in place), the clip
// factor read from a one-element tensor, segments of flat tensors, a program with more outputs
// than draw buffers, and leaves of every rank.

const { call, checkErrors } = useProgramsPage();

describe('GLSL kernels on the webgl backend in Chromium', () => {
  it('compute every operation as tfjs-backend-webgl does, over special values, in every layout', async () => {
    const { results: r, packedInputs, draws } = await call('glSpecialValues');
    expect(r.composite).toHaveLength(7);
    expect(r.composite[0]).toHaveLength(SPECIAL.length ** 2);
    // The layouts are what they say: packed (1-D, 2-D, 3-D), unpacked, on the CPU.
    expect(packedInputs).toEqual([true, true, true, false, false]);
    const layouts = ['packed1d', 'packed2d', 'packed3d', 'unpacked', 'cpu', 'reshaped', 'inPlace', 'deviceScalar', 'segments'];
    for (const layout of layouts) expectSameBits(r[layout], r.composite, layout, [A, B]);
    // One draw writes all seven outputs; segments of flat tensors take a second draw.
    expect(draws.packed2d).toBe(1);
    expect(draws.segments).toBe(2);
    // tfjs's max is NaN when either operand is: (1, NaN) gives NaN.
    const i = SPECIAL.indexOf(1) * SPECIAL.length;
    expect(Number.isNaN(B[i]) && isNaNBits(r.packed2d[1][i])).toBe(true);
    checkErrors();
  });

  it('split a program with more outputs than draw buffers over several draws', async () => {
    const r = await call('glSplit');
    expect(r.maxDrawBuffers).toBeGreaterThanOrEqual(4);
    expect(r.draws).toBe(Math.ceil(10 / r.maxDrawBuffers));
    expectSameBits(r.fused, r.composite, 'split');
    checkErrors();
  });

  it('run leaves of every rank and texture layout, into new tensors and in place', async () => {
    const r = await call('glShapes');
    expect(r.wrongFresh, JSON.stringify(r.shapes)).toEqual(r.shapes.map(() => 0));
    expect(r.wrongInPlace).toEqual(r.shapes.slice(0, -1).map(() => 0));
    // One draw a leaf, except the first two ([] and [1]: one layout), which share one.
    expect(r.draws).toBe(r.shapes.length - 1);
    // A shallow slice, or a tensor being read back, cannot take a new texture: in place is refused.
    expect(r.after).toEqual([0, 0]);
    checkErrors();
  });

  it('draw consecutive leaves of one layout together while their outputs fit in the draw buffers', async () => {
    const r = await call('glGrouped');
    expect(r.wrong).toEqual(r.wrong.map(() => 0));
    // Three outputs a leaf: floor(8 / 3) = 2 leaves a draw on SwiftShader. Leaves 0-4 of [5, 3]
    // take three draws, leaf 5 of [4] one, leaves 6-7 one.
    const perDraw = Math.floor(r.maxDrawBuffers / 3);
    expect(r.draws).toBe(Math.ceil(5 / perDraw) + 1 + Math.ceil(2 / perDraw));
    checkErrors();
  });

  it('leave no tensors behind', async () => {
    expect(await call('numTensors')).toBe(0);
  });
});
