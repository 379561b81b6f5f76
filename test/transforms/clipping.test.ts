import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clip, clipByGlobalNorm } from '../../src/index.js';
import { expectAllClose, flat, gradValues32, makeGrads, makeParams, run } from '../helpers.js';

// References below are written per element in float64 straight from the formulas in the doc
// comments, independently of the tensor code; gradients are the float32 values fed in.

describe('clipping', () => {
  it('clip bounds every element', () => {
    const { updates } = run(clip(0.5), 1);
    expectAllClose(updates[0], gradValues32(0).map((g) => Math.min(Math.max(g, -0.5), 0.5)), 0);
  });

  it('clipByGlobalNorm leaves updates with norm <= maxNorm bit-identical', () => {
    const g = makeGrads(0);
    const norm = Math.hypot(...gradValues32(0));
    const tx = clipByGlobalNorm(norm * 1.01);
    const [u] = tx.update(g, tx.init(makeParams()));
    expect(flat(u)).toEqual(flat(g));
  });

  it('clipByGlobalNorm rescales to maxNorm above it', () => {
    const g0 = gradValues32(0);
    const norm = Math.hypot(...g0);
    const { updates } = run(clipByGlobalNorm(1), 1);
    expectAllClose(updates[0], g0.map((g) => g / norm), 1e-6);
    expect(Math.hypot(...updates[0])).toBeCloseTo(1, 5);
  });

  it('clipByGlobalNorm turns a NaN gradient into NaN everywhere (never silently finite)', () => {
    const tx = clipByGlobalNorm(1);
    const g = { a: tf.tensor1d([1, NaN]), b: tf.tensor1d([2]) };
    const [u] = tx.update(g, tx.init(g));
    expect(flat(u).every(Number.isNaN)).toBe(true);
  });
});
