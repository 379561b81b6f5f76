import { describe, expect, it } from 'vitest';
import {
  constantSchedule,
  cosineDecaySchedule,
  exponentialDecay,
  joinSchedules,
  linearSchedule,
  piecewiseConstantSchedule,
  polynomialSchedule,
  warmupCosineDecaySchedule,
  warmupExponentialDecaySchedule,
  type Schedule,
} from '../src/index.js';

/** Asserts schedule(0..n-1) against hand-computed values. */
function expectValues(schedule: Schedule, expected: number[]): void {
  const got = expected.map((_, c) => schedule(c));
  got.forEach((v, c) => expect(v, `count ${c}`).toBeCloseTo(expected[c], 12));
}

const SQRT_HALF = Math.SQRT1_2;
const COS_QUARTER = 0.5 * (1 + Math.cos(Math.PI / 4)); // 0.853553...
const COS_3_QUARTERS = 0.5 * (1 + Math.cos((3 * Math.PI) / 4)); // 0.146446...

describe('schedules', () => {
  it('constantSchedule', () => expectValues(constantSchedule(0.5), [0.5, 0.5, 0.5]));

  it('linearSchedule holds, ramps over transitionSteps after transitionBegin, then holds', () => {
    expectValues(linearSchedule({ initValue: 1, endValue: 0, transitionSteps: 4, transitionBegin: 2 }), [
      1, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0,
    ]);
  });

  it('polynomialSchedule with power 2', () => {
    expectValues(polynomialSchedule({ initValue: 1, endValue: 0.1, power: 2, transitionSteps: 4 }), [
      1, 0.9 * 0.75 ** 2 + 0.1, 0.9 * 0.25 + 0.1, 0.9 * 0.0625 + 0.1, 0.1, 0.1,
    ]);
  });

  it('exponentialDecay: continuous, staircase, delayed, floored, growing and capped', () => {
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5 }), [1, SQRT_HALF, 0.5, 0.5 * SQRT_HALF, 0.25]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5, staircase: true }), [1, 1, 0.5, 0.5, 0.25]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5, transitionBegin: 2 }), [1, 1, 1, SQRT_HALF, 0.5]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5, endValue: 0.3 }), [1, SQRT_HALF, 0.5, 0.5 * SQRT_HALF, 0.3]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 2, endValue: 3 }), [1, Math.SQRT2, 2, 2 * Math.SQRT2, 3]);
  });

  it('piecewiseConstantSchedule multiplies scales from each boundary on', () => {
    expectValues(piecewiseConstantSchedule({ initValue: 1, boundariesAndScales: { 5: 0.1, 3: 0.5 } }), [1, 1, 1, 0.5, 0.5, 0.05, 0.05]);
  });

  it('cosineDecaySchedule, with alpha and with exponent', () => {
    expectValues(cosineDecaySchedule({ initValue: 2, decaySteps: 4, alpha: 0.1 }), [
      2, 2 * (0.9 * COS_QUARTER + 0.1), 2 * (0.9 * 0.5 + 0.1), 2 * (0.9 * COS_3_QUARTERS + 0.1), 0.2, 0.2,
    ]);
    expectValues(cosineDecaySchedule({ initValue: 2, decaySteps: 4, exponent: 2 }), [2, 2 * COS_QUARTER ** 2, 0.5, 2 * COS_3_QUARTERS ** 2, 0, 0]);
  });

  it('warmupCosineDecaySchedule: decaySteps includes the warmup', () => {
    expectValues(warmupCosineDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 2, decaySteps: 6, endValue: 0.2 }), [
      0, 0.5, 1, 0.8 * COS_QUARTER + 0.2, 0.6, 0.8 * COS_3_QUARTERS + 0.2, 0.2, 0.2,
    ]);
    // No warmup: the cosine starts at the peak.
    expectValues(warmupCosineDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 0, decaySteps: 2 }), [1, 0.5, 0, 0]);
  });

  it('warmupExponentialDecaySchedule', () => {
    expectValues(
      warmupExponentialDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 2, transitionSteps: 1, decayRate: 0.5 }),
      [0, 0.5, 1, 0.5, 0.25, 0.125],
    );
  });

  it('joinSchedules: each segment counts from its own boundary', () => {
    const s = joinSchedules({ schedules: [constantSchedule(1), (c) => c, constantSchedule(3)], boundaries: [2, 4] });
    expectValues(s, [1, 1, 0, 1, 3, 3]);
  });
});
