import { describe, expect, it } from 'vitest';
import { diffLeaves, toleranceFromEnv, widest, within, worst } from './compare.js';
import type { Leaf } from './scenarios.js';

// The comparison the browser suite relies on: float32 bits, ulps, NaN and the tolerance switch.

const bits = (...xs: number[]) => Array.from(new Uint32Array(Float32Array.from(xs).buffer));
const leaf = (data: number[], kind: Leaf['kind'] = 'f32', path = '.x'): Leaf[] => [{ path, kind, data }];

describe('diffLeaves', () => {
  it('measures float32 differences in ulps and relative terms', () => {
    const one = bits(1)[0];
    expect(diffLeaves(leaf(bits(1, 2)), leaf(bits(1, 2)), 'same')).toEqual([]);
    const [d] = diffLeaves(leaf([one]), leaf([one + 3]), 'three ulps');
    expect(d.ulps).toBe(3);
    expect(d.relative).toBeCloseTo(3 * 2 ** -23 / (1 + 3 * 2 ** -23), 12);
    expect(d.where).toBe('three ulps .x[0]');
    // -0 and +0 are adjacent; NaNs with different payloads count as equal.
    expect(diffLeaves(leaf(bits(-0)), leaf(bits(0)), 'zeros')[0].ulps).toBe(1);
    expect(diffLeaves(leaf([0x7fc00000]), leaf([0x7fc00001]), 'nan')).toEqual([]);
    // -1 and 1: every float of both signs between them, and the two zeros.
    expect(diffLeaves(leaf(bits(-1)), leaf(bits(1)), 'sign')[0].ulps).toBe(2 * one + 1);
  });

  it('compares JS numbers exactly, as float32 when they are float32 values', () => {
    expect(diffLeaves(leaf([3], 'num'), leaf([3], 'num'), 'count')).toEqual([]);
    expect(diffLeaves(leaf([0.5], 'num'), leaf([0.5 + 2 ** -24], 'num'), 'loss')[0].ulps).toBe(1);
    const d = diffLeaves(leaf([0.1], 'num'), leaf([0.1 + 1e-12], 'num'), 'float64')[0];
    expect(d.ulps).toBe(Infinity);
    expect(d.relative).toBeCloseTo(1e-11, 13);
    expect(worst([d]).float32Only).toBe(false);
    expect(diffLeaves(leaf([3], 'i32'), leaf([4], 'i32'), 'int')[0].relative).toBe(Infinity);
  });

  it('names a structural difference', () => {
    expect(() => diffLeaves(leaf([1]), leaf([1], 'f32', '.y'), 'state')).toThrow('state: different leaves at #0: expected .x:f32[1], got .y:f32[1]');
    expect(() => diffLeaves(leaf([1]), [], 'state')).toThrow('expected .x:f32[1], got nothing');
  });
});

describe('tolerances', () => {
  it('reads TFJS_OPTAX_BROWSER_TOLERANCE', () => {
    expect(toleranceFromEnv(undefined)).toEqual({});
    expect(toleranceFromEnv('bitwise')).toEqual({});
    expect(toleranceFromEnv('ulps:4')).toEqual({ ulps: 4 });
    expect(toleranceFromEnv('relative:1e-5')).toEqual({ relative: 1e-5 });
    expect(() => toleranceFromEnv('4ulps')).toThrow("expected 'bitwise', 'ulps:N' or 'relative:X', got '4ulps'");
    expect(() => toleranceFromEnv('ulps:-1')).toThrow('TFJS_OPTAX_BROWSER_TOLERANCE');
  });

  it('passes a difference within either bound, and widens bound by bound', () => {
    const d = { where: '', expected: 1, got: 1, ulps: 5, relative: 6e-7 };
    expect(within(d, {})).toBe(false);
    expect(within(d, { ulps: 4 })).toBe(false);
    expect(within(d, { ulps: 8 })).toBe(true);
    expect(within(d, { ulps: 4, relative: 1e-6 })).toBe(true);
    expect(widest({ ulps: 4 }, { ulps: 2, relative: 1e-6 })).toEqual({ ulps: 4, relative: 1e-6 });
  });
});
