// The WGSL of packed programs (stateDtype bfloat16 / int8 decoded and encoded inside the step),
// in Node: the bindings and work split of the shaders, the workgroups a leaf takes, and the int8
// code tables, whose lookup (as the shader does it, simulated in float32 here) must give the
// reference's code, the count of midpoints below the value, for every value. The shaders run in
// Chromium against wasm bit for bit: browser/packed-states.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Program } from '../../../src/kernels/program.js';
import { int8Tables, packedBuffers, packedGroups, packedShaderFor } from '../../../src/kernels/webgpu/packed-wgsl.js';
import { dynamicMap, dynamicMapMidpoints } from '../../../src/internal/dynamic-map.js';
import type { SlotFormat } from '../../../src/internal/state-dtype.js';
import { fusedSpecOf } from '../../../src/kernels/fused.js';
import * as lib from '../../../src/index.js';

const previous = tf.getBackend();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend(previous);
});

/** Adam's program with the update applied: inputs g, p, mu, nu; outputs p, mu, nu. */
function adamProgram(): Program {
  const tx = lib.adam(0.01);
  const params = { w: tf.zeros([3]) };
  const state = tx.init(params);
  const { programs } = fusedSpecOf(tx)!.programs(state, params, { apply: true, hasParams: true });
  lib.treeDispose([params, state]);
  return programs[0];
}

/** The formats of Adam's refs (g, p, mu, nu, p', mu', nu') with its moments kept as `mu` and `nu`. */
const adamFormats = (mu: SlotFormat, nu: SlotFormat): SlotFormat[] => ['float32', 'float32', mu, nu, 'float32', mu, nu];

function storage(code: string): Array<[number, string, string]> {
  return [...code.matchAll(/@binding\((\d+)\) var<storage, (read|read_write)> b\d+: array<([^>]+>?)>;/g)].map((m) => [Number(m[1]), m[2], m[3]]);
}

function balanced(code: string): boolean {
  const count = (c: string) => code.split(c).length - 1;
  return count('{') === count('}') && count('(') === count(')') && count('[') === count(']');
}

describe('WGSL of packed programs', () => {
  const p = adamProgram();

  it('bfloat16 Adam, fresh outputs: moments bound as u32 words, 64 invocations of 4 values, no barrier, no tables', () => {
    const s = packedShaderFor(p, { formats: adamFormats('bfloat16', 'bfloat16'), same: [0, 1, 2, 3, 4, 5, 6], maxStorageBuffers: 8, vector: true })!;
    expect(storage(s.code)).toEqual([
      [3, 'read', 'vec4<f32>'],
      [4, 'read', 'vec4<f32>'],
      [5, 'read', 'u32'],
      [6, 'read', 'u32'],
      [7, 'read_write', 'vec4<f32>'],
      [8, 'read_write', 'u32'],
      [9, 'read_write', 'u32'],
    ]);
    expect(s.packed).toEqual({ usesTables: false });
    expect(s.code).toContain('@workgroup_size(64)');
    expect(s.code).not.toMatch(/workgroupBarrier|var<workgroup>|tables/);
    // Two words per invocation, the count in word 0 by the leaf's first invocation.
    expect(s.code).toContain('b5[1u + 2u * i] = c1.x | (c1.y << 16u)');
    expect(s.code).toContain('if (head) { b5[0] = n * 4u + 1u; }'); // the header: 4n + bfloat16's code
    expect(balanced(s.code)).toBe(true);
  });

  it('int8 Adam in place: one binding per buffer, read_write; an invocation per block with its kept moments, the tables uniform', () => {
    const s = packedShaderFor(p, { formats: adamFormats('int8-signed', 'int8-unsigned'), same: [0, 1, 2, 3, 1, 2, 3], maxStorageBuffers: 8, vector: false })!;
    expect(storage(s.code)).toEqual([
      [3, 'read', 'f32'],
      [4, 'read_write', 'f32'],
      [5, 'read_write', 'u32'],
      [6, 'read_write', 'u32'],
    ]);
    expect(s.packed).toEqual({ usesTables: true });
    expect(s.code).toContain('@workgroup_size(8)');
    expect(s.code).toContain('var<uniform> tables: Tables;');
    expect(s.code).toMatch(/var keep1: array<vec4<f32>, 64>;[\s\S]*var keep2: array<vec4<f32>, 64>;/);
    expect(s.code).not.toMatch(/workgroupBarrier|var<workgroup>/);
    // The signed map (table offsets 0 / 0) for mu, the unsigned one (256 / 7168) for nu.
    expect(s.code).toContain('int8_values(b2[1u + blocks + i], bitcast<f32>(b2[1u + block]), 0u)');
    expect(s.code).toContain('int8_codes(keep2[j], bitcast<f32>(s2), 7168u, v, n)');
    expect(balanced(s.code)).toBe(true);
  });

  it('several leaves in one dispatch: each leaf from its record (length, first workgroup); null past the storage limit', () => {
    const formats = adamFormats('bfloat16', 'bfloat16');
    const same = [0, 1, 2, 3, 1, 2, 3, 7, 8, 9, 10, 8, 9, 10];
    const s = packedShaderFor(p, { formats, same, maxStorageBuffers: 8, vector: true, leaves: 2, recordStride: 64 })!;
    expect(storage(s.code)).toHaveLength(8);
    expect(s.code).toContain('// leaf 1');
    expect(s.code).toContain('let n = leaf.r[16].x;');
    expect(s.code).toContain('g >= leaf.r[16].y');
    expect(packedShaderFor(p, { formats, same, maxStorageBuffers: 7, vector: true, leaves: 2, recordStride: 64 })).toBeNull();
    expect(packedShaderFor(p, { formats, same: [0, 1, 2, 3, 4, 5, 6], maxStorageBuffers: 6, vector: true })).toBeNull();
    expect(packedBuffers(p, false)).toBe(7);
    expect(packedBuffers(p, true)).toBe(8);
  });

  it('workgroups per leaf: 256 values each (bfloat16), 8 blocks of 256 each (int8)', () => {
    const bf16 = adamFormats('bfloat16', 'bfloat16');
    const int8 = adamFormats('int8-signed', 'int8-unsigned');
    expect([1, 256, 257, 1_000_000].map((n) => packedGroups(n, bf16))).toEqual([1, 1, 2, 3907]);
    expect([1, 2048, 2049, 1_000_000].map((n) => packedGroups(n, int8))).toEqual([1, 1, 2, 489]);
  });
});

describe('int8 code tables', () => {
  const { floats, codes } = int8Tables();
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);

  /** The shader's int8_code, in float32: the word of the quotient's upper bits, its code, one more past its midpoint. */
  function shaderCode(normed: number, signed: boolean): number {
    f32[0] = normed;
    const x = f32[0];
    const u = u32[0];
    const e = (u >>> 23) & 0xff;
    const t = codes[(signed ? 0 : 7168) + ((u >>> 31) * 28 + Math.min(Math.max(e, 100), 127) - 100) * 128 + ((u >>> 16) & 0x7f)];
    u32[0] = ((u & 0xffff0000) | ((t >>> 8) & 0xffff)) >>> 0;
    const threshold = t >>> 24 === 1 ? 0 : f32[0];
    return (t & 0xff) + (x > threshold ? 1 : 0);
  }

  it.each([true, false])('signed %s: the map in place, and every value gets the count of midpoints below it', (signed) => {
    const map = dynamicMap(signed);
    const mid = dynamicMapMidpoints(signed);
    expect(floats.subarray(signed ? 0 : 256, signed ? 256 : 512)).toEqual(map);
    expect(codes).toHaveLength(2 * 7168);
    const values: number[] = [0, -0, 1, -1, 1e-30, -1e-30, 2 ** -30, -(2 ** -30), 2 ** -29, 1e-45];
    const next = (x: number, d: number) => {
      f32[0] = x;
      u32[0] += x === 0 ? 0 : (x > 0 ? d : -d);
      return f32[0];
    };
    for (const m of [...mid, ...map]) values.push(m, next(m, 1), next(m, -1), Math.fround(m / 3), Math.fround(m * 0.999));
    let seed = 7;
    for (let k = 0; k < 20000; k++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const magnitude = 10 ** (-(seed % 10000) / 1000);
      values.push(Math.fround((seed & 1 ? -1 : 1) * magnitude));
    }
    for (const x of values) {
      const want = mid.reduce((n, m) => n + (Math.fround(x) > m ? 1 : 0), 0);
      expect(shaderCode(x, signed), `${x}`).toBe(want);
    }
  });
});
