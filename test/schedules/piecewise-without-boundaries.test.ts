import { describe, expect, it } from 'vitest';
import { piecewiseConstantSchedule, piecewiseInterpolateSchedule } from '../../src/index.js';
import { thrown } from '../helpers.js';

// Without boundariesAndScales (optax's default, None) a piecewise schedule is the constant
// initValue, as optax's piecewise_interpolate_schedule and piecewise_constant_schedule.

const COUNTS = [0, 1, 5, 100, 10_000];

describe('piecewise schedules without boundaries', () => {
  it.each(['linear', 'cosine'] as const)("piecewiseInterpolateSchedule ('%s') is the constant initValue", (interpolateType) => {
    for (const s of [
      piecewiseInterpolateSchedule({ interpolateType, initValue: 0.3 }),
      piecewiseInterpolateSchedule({ interpolateType, initValue: 0.3, boundariesAndScales: null }),
      piecewiseInterpolateSchedule({ interpolateType, initValue: 0.3, boundariesAndScales: undefined }),
      piecewiseInterpolateSchedule({ interpolateType, initValue: 0.3, boundariesAndScales: {} }),
    ]) {
      expect(COUNTS.map(s)).toEqual(COUNTS.map(() => 0.3));
    }
  });

  it('piecewiseConstantSchedule is the constant initValue', () => {
    expect(COUNTS.map(piecewiseConstantSchedule({ initValue: -2 }))).toEqual(COUNTS.map(() => -2));
    expect(COUNTS.map(piecewiseConstantSchedule({ initValue: -2, boundariesAndScales: null }))).toEqual(COUNTS.map(() => -2));
  });

  it('still requires the other options and refuses a table that is not an object', () => {
    const cases: Array<[() => unknown, ErrorConstructor, string]> = [
      [() => piecewiseInterpolateSchedule({ initValue: 1 } as never), TypeError, "piecewiseInterpolateSchedule: option 'interpolateType' is required"],
      [() => piecewiseInterpolateSchedule({ interpolateType: 'linear' } as never), TypeError, "piecewiseInterpolateSchedule: option 'initValue' is required"],
      [
        () => piecewiseInterpolateSchedule({ interpolateType: 'linear', initValue: 1, boundariesAndScales: 3 as never }),
        TypeError,
        "piecewiseInterpolateSchedule: option 'boundariesAndScales' must be an object { [step]: scale }",
      ],
      [() => piecewiseConstantSchedule({} as never), TypeError, "piecewiseConstantSchedule: option 'initValue' is required"],
      [
        () => piecewiseConstantSchedule({ initValue: 1, boundaries: {} } as never),
        TypeError,
        "piecewiseConstantSchedule: unknown option 'boundaries' (known options: initValue, boundariesAndScales)",
      ],
    ];
    for (const [fn, type, message] of cases) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(type);
      expect(e.message).toBe(message);
    }
  });
});
