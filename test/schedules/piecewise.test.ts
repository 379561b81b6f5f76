import { describe, expect, it } from 'vitest';
import { piecewiseConstantSchedule, piecewiseInterpolateSchedule } from '../../src/index.js';
import { expectAt, expectRangeError, expectValues, halfCosine } from './expect.js';

describe('schedules', () => {
  it('piecewiseConstantSchedule multiplies scales from each boundary on', () => {
    expectValues(piecewiseConstantSchedule({ initValue: 1, boundariesAndScales: { 5: 0.1, 3: 0.5 } }), [1, 1, 1, 0.5, 0.5, 0.05, 0.05]);
  });
});

describe('piecewiseInterpolateSchedule', () => {
  it("optax's linear case: 200, x1.5 at 5, x0.25 at 10", () => {
    // Knots (0, 200), (5, 300), (10, 75): +20 a step, then -45 a step, then 75 for good.
    const s = piecewiseInterpolateSchedule({ interpolateType: 'linear', initValue: 200, boundariesAndScales: { 5: 1.5, 10: 0.25 } });
    expectValues(s, [200, 220, 240, 260, 280, 300, 255, 210, 165, 120, 75, 75, 75]);
  });

  it("optax's cosine case: scales multiply in boundary order, not key order", () => {
    // Sorted: x0.6 at 3, x1.2 at 5, x1 at 7, so knots (0, 400), (3, 240), (5, 288), (7, 288).
    const s = piecewiseInterpolateSchedule({ interpolateType: 'cosine', initValue: 400, boundariesAndScales: { 5: 1.2, 3: 0.6, 7: 1.0 } });
    expectValues(s, [
      400,
      halfCosine(400, 240, 1 / 3), // 240 + 160 * (1 + cos(pi/3)) / 2 = 360
      halfCosine(400, 240, 2 / 3), // 240 + 160 * (1 + cos(2pi/3)) / 2 = 280
      240,
      halfCosine(240, 288, 1 / 2), // the midpoint, 264
      288,
      288,
      288,
      288,
    ]);
    expectValues(s, [400, 360, 280, 240, 264, 288, 288, 288, 288]);
  });

  it("optax's docstring example: 1, x0.1 at 4, x0.01 at 8", () => {
    const s = piecewiseInterpolateSchedule({ interpolateType: 'linear', initValue: 1, boundariesAndScales: { 4: 0.1, 8: 0.01 } });
    // Knots (0, 1), (4, 0.1), (8, 0.001). Step 2: (1 + 0.1) / 2; step 6: (0.1 + 0.001) / 2.
    expectAt(s, { 0: 1, 2: 0.55, 3: 1 - 0.9 * 0.75, 4: 0.1, 5: 0.1 - 0.099 / 4, 6: 0.0505, 7: 0.1 - 0.099 * 0.75, 8: 0.001, 9: 0.001, 10: 0.001 });
  });

  it('cosine around each boundary: starts moving at step 0, flat-ended, holds after the last', () => {
    // Knots (0, 2), (4, 1), (6, 3).
    const s = piecewiseInterpolateSchedule({ interpolateType: 'cosine', initValue: 2, boundariesAndScales: { 4: 0.5, 6: 3 } });
    expectValues(s, [
      2,
      1 + (1 + Math.cos(Math.PI / 4)) / 2, // t = 1/4: 1.853553...
      1.5,
      1 + (1 + Math.cos((3 * Math.PI) / 4)) / 2, // t = 3/4: 1.146446...
      1, // boundary 4 reached exactly
      3 + (1 - 3) * (1 + Math.cos(Math.PI / 2)) / 2, // 2
      3, // from the last boundary on
      3,
    ]);
  });

  it('a boundary at 0 applies its scale from step 0 (optax test_zero_interval_size)', () => {
    const s = piecewiseInterpolateSchedule({ interpolateType: 'linear', initValue: 13, boundariesAndScales: { 0: 2, 5: 3 } });
    // Knots (0, 13), (0, 26), (5, 78): 26 at step 0, +10.4 a step up to 78.
    expectValues(s, [26, 36.4, 46.8, 57.2, 67.6, 78, 78]);
  });

  it('a scale of 0 and an empty table', () => {
    const down = piecewiseInterpolateSchedule({ interpolateType: 'linear', initValue: 1, boundariesAndScales: { 2: 0 } });
    expectValues(down, [1, 0.5, 0, 0]);
    const flat = piecewiseInterpolateSchedule({ interpolateType: 'cosine', initValue: 13, boundariesAndScales: {} });
    expectValues(flat, [13, 13, 13]);
  });
});

describe('bad options', () => {
  it('are a RangeError naming the schedule, the option and the value', () => {
    const linear = 'linear' as const;
    expectRangeError(
      () => piecewiseInterpolateSchedule({ interpolateType: 'linar' as never, initValue: 1, boundariesAndScales: {} }),
      /^piecewiseInterpolateSchedule: option 'interpolateType' must be 'linear' or 'cosine', got "linar"$/,
    );
    expectRangeError(
      () => piecewiseInterpolateSchedule({ interpolateType: linear, initValue: 1, boundariesAndScales: { 5: -3 } }),
      /^piecewiseInterpolateSchedule: option 'boundariesAndScales\[5\]' must be a finite number >= 0, got -3$/,
    );
    expectRangeError(
      () => piecewiseInterpolateSchedule({ interpolateType: linear, initValue: 1, boundariesAndScales: { [-2]: 0.5 } }),
      /^piecewiseInterpolateSchedule: boundary "-2" must be a whole number >= 0$/,
    );
    expectRangeError(
      () => piecewiseInterpolateSchedule({ interpolateType: linear, initValue: 1, boundariesAndScales: { 2.5: 0.5 } }),
      /boundary "2.5" must be a whole number >= 0/,
    );
    expectRangeError(
      () => piecewiseInterpolateSchedule({ interpolateType: linear, initValue: NaN, boundariesAndScales: {} }),
      /^piecewiseInterpolateSchedule: option 'initValue' must be a finite number, got NaN$/,
    );
  });

  it('wrong types and unknown or missing options are a TypeError', () => {
    expect(() => piecewiseInterpolateSchedule({ interpolateType: undefined as never, initValue: 1, boundariesAndScales: {} })).toThrowError(
      new TypeError("piecewiseInterpolateSchedule: option 'interpolateType' is required"),
    );
    expect(() => piecewiseInterpolateSchedule({ interpolateType: 1 as never, initValue: 1, boundariesAndScales: {} })).toThrowError(
      new TypeError("piecewiseInterpolateSchedule: option 'interpolateType' must be 'linear' or 'cosine', got 1"),
    );
  });
});
