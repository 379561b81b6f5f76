// What the schedule tests share: checks of a schedule's values, and values worked out by hand.
import { expect } from 'vitest';
import type { Schedule } from '../../src/index.js';

/** Asserts schedule(0..n-1) against hand-computed values. */
export function expectValues(schedule: Schedule, expected: number[]): void {
  const got = expected.map((_, c) => schedule(c));
  got.forEach((v, c) => expect(v, `count ${c}`).toBeCloseTo(expected[c], 12));
}

/** Asserts schedule(count) at the given counts, e.g. the steps around each phase boundary. */
export function expectAt(schedule: Schedule, expected: Record<number, number>): void {
  for (const [count, value] of Object.entries(expected)) {
    expect(schedule(Number(count)), `count ${count}`).toBeCloseTo(value, 12);
  }
}

/** Asserts that making a schedule throws a RangeError whose message matches. */
export function expectRangeError(make: () => unknown, message: RegExp): void {
  expect(make).toThrowError(RangeError);
  expect(make).toThrowError(message);
}

export const SQRT_HALF = Math.SQRT1_2;
export const COS_QUARTER = 0.5 * (1 + Math.cos(Math.PI / 4)); // 0.853553...
export const COS_3_QUARTERS = 0.5 * (1 + Math.cos((3 * Math.PI) / 4)); // 0.146446...

// The half-cosine step of the cosine interpolations, from `a` (t = 0) to `b` (t = 1), written out
// here from its definition so the tests do not reuse the library's.
export const halfCosine = (a: number, b: number, t: number): number => b + ((a - b) * (1 + Math.cos(Math.PI * t))) / 2;
