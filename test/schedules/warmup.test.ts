import { describe, expect, it } from 'vitest';
import { linearSchedule, warmupConstantSchedule } from '../../src/index.js';
import { expectAt, expectRangeError, expectValues } from './expect.js';

describe('warmupConstantSchedule', () => {
  it('ramps linearly to the peak and holds it', () => {
    // 1 + (3 - 1) * count / 4 up to count 4, then 3.
    const s = warmupConstantSchedule({ initValue: 1, peakValue: 3, warmupSteps: 4 });
    expectValues(s, [1, 1.5, 2, 2.5, 3, 3]);
    expectAt(s, { 1000: 3 });
  });

  it('equals linearSchedule from initValue to peakValue over warmupSteps, step for step', () => {
    const s = warmupConstantSchedule({ initValue: 0.3, peakValue: 0.01, warmupSteps: 7 });
    const linear = linearSchedule({ initValue: 0.3, endValue: 0.01, transitionSteps: 7 });
    for (let c = 0; c < 12; c++) expect(s(c), `count ${c}`).toBeCloseTo(linear(c), 15);
  });

  it('with warmupSteps 0 holds the peak (optax would hold initValue)', () => {
    expectValues(warmupConstantSchedule({ initValue: 0, peakValue: 2, warmupSteps: 0 }), [2, 2, 2]);
  });
});

describe('bad options', () => {
  it('are a RangeError naming the schedule, the option and the value', () => {
    expectRangeError(
      () => warmupConstantSchedule({ initValue: 0, peakValue: 1, warmupSteps: -1 }),
      /^warmupConstantSchedule: option 'warmupSteps' must be a finite number >= 0, got -1$/,
    );
    expectRangeError(
      () => warmupConstantSchedule({ initValue: 0, peakValue: Infinity, warmupSteps: 1 }),
      /^warmupConstantSchedule: option 'peakValue' must be a finite number, got Infinity$/,
    );
  });

  it('wrong types and unknown or missing options are a TypeError', () => {
    expect(() => warmupConstantSchedule({ initValue: 0, peakValue: 1, warmupSteps: 2, decaySteps: 5 } as never)).toThrowError(
      /^warmupConstantSchedule: unknown option 'decaySteps'/,
    );
  });
});
