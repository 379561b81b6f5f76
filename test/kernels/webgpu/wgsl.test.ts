// The WGSL generator's plans, in Node (the shaders themselves run in Chromium: see
// browser/webgpu-programs.test.ts and browser/backends.test.ts): which buffers a dispatch binds,
// how an output written over its input shares the input's binding, where the device limit splits
// a program, when a split is refused, and which transformations the webgpu backend fuses.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgramBuilder, type Program } from '../../../src/kernels/program.js';
import { recordWords, shadersFor } from '../../../src/kernels/webgpu/wgsl.js';
import { valueLayout } from '../../../src/kernels/program.js';
import { fusedSpecOf, runsFused } from '../../../src/kernels/fused.js';
import * as lib from '../../../src/index.js';

const previous = tf.getBackend();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend(previous);
});

/** Adam's generated program with the update applied: inputs g, p, mu, nu; outputs p, mu, nu. */
function adamProgram(): Program {
  const tx = lib.adam(0.01);
  const generated = fusedSpecOf(tx)!;
  const params = { w: tf.zeros([3]) };
  const state = tx.init(params);
  const { programs } = generated.programs(state, params, { apply: true, hasParams: true });
  lib.treeDispose([params, state]);
  return programs[0];
}

/** Storage bindings of a shader: `[binding, access]` pairs, from its declarations. */
function storage(code: string): Array<[number, string]> {
  return [...code.matchAll(/@binding\((\d+)\) var<storage, (read|read_write)>/g)].map((m) => [Number(m[1]), m[2]]);
}

describe('WGSL shaders of generated programs', () => {
  it('adam, its chains and wrappers run on backends without the norm pass; lamb and a lone transform do not', () => {
    expect(runsFused(lib.adam(0.01), true)).toBe(true);
    expect(runsFused(lib.chain(lib.clipByGlobalNorm(1), lib.adamw(0.01)), true)).toBe(true);
    expect(runsFused(lib.flatten(lib.adam(0.01)), true)).toBe(true);
    expect(fusedSpecOf(lib.flatten(lib.adam(0.01)))?.flatSlots).toBe(true);
    // Wrappers ask their inner transformation.
    expect(runsFused(lib.multiSteps(lib.adam(0.01), { everyK: 2 }), true)).toBe(true);
    expect(runsFused(lib.centralize(), true)).toBe(false);
    // lamb reads per-leaf norms: fused on wasm and cpu only.
    expect(runsFused(lib.lamb(0.01), false)).toBe(true);
    expect(runsFused(lib.lamb(0.01), true)).toBe(false);
  });

  it('adam with fresh outputs: one dispatch, 4 inputs read and 3 outputs written, constants in the uniform', () => {
    const p = adamProgram();
    expect([p.inputs, p.outputs.length]).toEqual([4, 3]);
    const same = [0, 1, 2, 3, 4, 5, 6];
    const shaders = shadersFor(p, { same, maxStorageBuffers: 8 })!;
    expect(shaders).toHaveLength(1);
    const [s] = shaders;
    expect(s.bindings).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(storage(s.code)).toEqual([
      [2, 'read'], [3, 'read'], [4, 'read'], [5, 'read'], [6, 'read_write'], [7, 'read_write'], [8, 'read_write'],
    ]);
    expect(s.usesValues).toBe(true);
    // No float literal but the harmless 42.0 (NaN legalisation) and the comparison's 0.0 and 1.0.
    const literals = [...s.code.matchAll(/\b\d+\.\d+\b/g)].map((m) => m[0]);
    expect(new Set(literals)).toEqual(new Set(['42.0', '0.0', '1.0']));
  });

  it('the vector form: vec4 buffers (the device scalar stays f32), four lanes per invocation', () => {
    const p = adamProgram();
    const [v] = shadersFor(p, { same: [0, 1, 2, 3, 1, 2, 3], maxStorageBuffers: 8, form: 'vector' })!;
    expect(v.code.match(/array<vec4<f32>>/g)).toHaveLength(4);
    expect(v.code).toContain('count = leaf.r[0].x >> 2u;');
    const b = new ProgramBuilder();
    const g = b.input();
    const clip = b.scalar();
    const q = b.build([b.max(b.mul(g, clip), b.constant(0))]);
    const [c] = shadersFor(q, { same: [0, 1, 2], deviceScalar: 0, maxStorageBuffers: 8, form: 'vector' })!;
    expect(c.bindings).toEqual([0, 2, 1]);
    expect(c.code).toContain('var<storage, read> b1: array<f32>;');
    expect(c.code).toContain('fn max_nan(a: vec4<f32>, b: vec4<f32>, nan: f32) -> vec4<f32>');
  });

  it('adam in place: each output shares its input binding, read_write; the gradient stays read-only', () => {
    const p = adamProgram();
    // Outputs p, mu, nu (refs 4, 5, 6) are inputs 1, 2, 3.
    const [s] = shadersFor(p, { same: [0, 1, 2, 3, 1, 2, 3], maxStorageBuffers: 8 })!;
    expect(s.bindings).toEqual([0, 1, 2, 3]);
    expect(storage(s.code)).toEqual([[2, 'read'], [3, 'read_write'], [4, 'read_write'], [5, 'read_write']]);
    // Every load comes before the first store.
    const lines = s.code.split('\n');
    const lastLoad = Math.max(...lines.map((l, i) => (/= b\d\[/.test(l) ? i : -1)));
    const firstStore = lines.findIndex((l) => /^\s*b\d\[.*\] = /.test(l));
    expect(firstStore).toBeGreaterThan(lastLoad);
  });

  it('adam in place for two leaves in one dispatch: 8 buffers, each leaf its own record', () => {
    const p = adamProgram();
    const same = [0, 1, 2, 3, 1, 2, 3, 7, 8, 9, 10, 8, 9, 10];
    const [s] = shadersFor(p, { same, maxStorageBuffers: 8, form: 'vector', leaves: 2, recordStride: 64 })!;
    expect(s.bindings).toEqual([0, 1, 2, 3, 7, 8, 9, 10]);
    expect(storage(s.code).map(([, access]) => access)).toEqual(['read', 'read_write', 'read_write', 'read_write', 'read', 'read_write', 'read_write', 'read_write']);
    // Leaf 1's count is word 0 of its record, 64 words (16 vec4s) after leaf 0's.
    expect(s.code).toContain('count = leaf.r[16].x >> 2u;');
    expect(s.code).toContain('struct Leaf { r: array<vec4<u32>, 19> };');
    // Three leaves need 12 buffers: no single dispatch.
    const three = [...same, 14, 15, 16, 17, 15, 16, 17];
    expect(shadersFor(p, { same: three, maxStorageBuffers: 8, form: 'vector', leaves: 3, recordStride: 64 })).toBeNull();
  });

  it('the clip factor read from a buffer (a device scalar) takes a binding; other scalars come from the uniform', () => {
    const b = new ProgramBuilder();
    const g = b.input();
    const [s0, clip] = [b.scalar(), b.scalar()];
    const p = b.build([b.mul(b.mul(g, clip), s0)]);
    const [s] = shadersFor(p, { same: [0, 1, 2], deviceScalar: 1, maxStorageBuffers: 8 })!;
    expect(s.bindings).toEqual([0, 2, 1]);
    expect(s.code).toContain('values.v[0].x');
    expect(s.code).not.toContain('values.v[0].y');
  });

  it('splits outputs over dispatches at the storage-buffer limit, and refuses what cannot be bound', () => {
    const b = new ProgramBuilder();
    const [x, y, z, w] = [b.input(), b.input(), b.input(), b.input()];
    const p = b.build([b.add(x, y), b.mul(x, y), b.sub(x, y), b.div(z, w), b.mul(z, w), b.add(b.mul(x, w), z)]);
    const fresh = Array.from({ length: 10 }, (_, k) => k);
    const split = shadersFor(p, { same: fresh, maxStorageBuffers: 8 })!;
    expect(split).toHaveLength(2);
    for (const s of split) expect(s.bindings.length).toBeLessThanOrEqual(8);
    const written = split.flatMap((s) => s.bindings.filter((r) => r >= 4)).sort((m, n) => m - n);
    expect(written).toEqual([4, 5, 6, 7, 8, 9]);
    // Fits in one with 10 buffers allowed.
    expect(shadersFor(p, { same: fresh, maxStorageBuffers: 10 })).toHaveLength(1);
    // In place (output 0 over input 0): the second dispatch would read input 0 after the first wrote it.
    expect(shadersFor(p, { same: [0, 1, 2, 3, 0, 5, 6, 7, 8, 9], maxStorageBuffers: 8 })).toBeNull();
    // One output reading more buffers than the limit.
    expect(shadersFor(p, { same: fresh, maxStorageBuffers: 3 })).toBeNull();
  });

  it('lays out the uniform values (scalars, constants, NaN) and the leaf record (length, offsets)', () => {
    const b = new ProgramBuilder();
    const x = b.input();
    const s = b.scalar();
    const p = b.build([b.add(b.mul(x, b.constant(-0)), b.max(s, b.constant(Infinity)))]);
    const layout = valueLayout(p);
    expect(layout.count).toBe(1 + 2 + 1);
    expect(layout.tail.map((v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(['-0', 'Infinity', 'NaN']);
    // n, the scalar form's start, the input's and the output's offsets, the device-scalar slot:
    // 5 words, rounded up to vec4s.
    expect(recordWords(p)).toBe(8);
  });
});
