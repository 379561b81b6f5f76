import { describe, expect, it } from 'vitest';
import { cosineDecaySchedule, sgdrSchedule, warmupCosineDecaySchedule, type WarmupCosineDecayOptions } from '../../src/index.js';
import { COS_3_QUARTERS, COS_QUARTER, expectAt, expectRangeError, expectValues } from './expect.js';

describe('schedules', () => {
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
});

describe('sgdrSchedule', () => {
  it('one cycle is warmupCosineDecaySchedule, at every step', () => {
    const cycle: WarmupCosineDecayOptions = { initValue: 0.1, peakValue: 1, warmupSteps: 5, decaySteps: 17, endValue: 0.05, exponent: 1.5 };
    const sgdr = sgdrSchedule([cycle]);
    const plain = warmupCosineDecaySchedule(cycle);
    for (let c = 0; c <= 40; c++) expect(sgdr(c), `count ${c}`).toBe(plain(c));
  });

  it('each cycle counts from its own start; the starts are the running sums of decaySteps', () => {
    const s = sgdrSchedule([
      // Steps 0..2: warmup 0 -> 1 over 1 step, then cosine 1 -> 0 over 2 steps (cut at 3).
      { initValue: 0, peakValue: 1, warmupSteps: 1, decaySteps: 3 },
      // Steps 3..6: warmup 0.2 -> 0.8 over 2 steps, cosine 0.8 -> 0.2 over 2, then 0.2.
      { initValue: 0.2, peakValue: 0.8, warmupSteps: 2, decaySteps: 4, endValue: 0.2 },
    ]);
    // Step 2 is the cosine's midpoint, 0.5; at step 3 the second cycle restarts from 0.2 before
    // the first reaches 0. The second cycle's cosine: 0.2 + 0.6 * (1 + cos(pi * k / 2)) / 2.
    expectValues(s, [0, 1, 0.5, 0.2, 0.5, 0.8, 0.5, 0.2, 0.2, 0.2]);
  });

  it("optax's case: three cycles of 2000, 3000 and 5000 steps, each with 500 warmup steps", () => {
    const peaks = [1.6, 0.8, 0.4];
    const s = sgdrSchedule(
      [2000, 3000, 5000].map((decaySteps, i) => ({ initValue: 0, peakValue: peaks[i], warmupSteps: 500, decaySteps, endValue: 0 })),
    );
    // The peaks, 500 steps into each cycle (cycles start at 0, 2000, 5000).
    expectAt(s, { 500: 1.6, 2500: 0.8, 5500: 0.4 });
    // Around each start: the last cosine step of a cycle of 2000 (or 3000) steps is k = 1499
    // (2499) of 1500 (2500); a new cycle starts at its init 0, then warms up by peak / 500.
    const tail = (peak: number, k: number, n: number) => peak * 0.5 * (1 + Math.cos((Math.PI * k) / n));
    expectAt(s, {
      0: 0,
      1: 1.6 / 500,
      499: (1.6 * 499) / 500,
      501: tail(1.6, 1, 1500),
      1999: tail(1.6, 1499, 1500),
      2000: 0,
      2001: 0.8 / 500,
      4999: tail(0.8, 2499, 2500),
      5000: 0,
      5001: 0.4 / 500,
      9999: tail(0.4, 4499, 4500),
      10000: 0,
      10001: 0,
    });
  });
});

describe('bad options', () => {
  it('are a RangeError naming the schedule, the option and the value', () => {
    expectRangeError(() => sgdrSchedule([]), /^sgdrSchedule: option 'cycles' must hold at least one cycle, got \[\]$/);
    expectRangeError(
      () =>
        sgdrSchedule([
          { initValue: 0, peakValue: 1, warmupSteps: 1, decaySteps: 3 },
          { initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 10 },
        ]),
      /^sgdrSchedule: cycles\[1\]: option 'decaySteps' must be a finite number > 10, got 10$/,
    );
  });

  it('wrong types and unknown or missing options are a TypeError', () => {
    expect(() => sgdrSchedule({ initValue: 0, peakValue: 1, warmupSteps: 1, decaySteps: 3 } as never)).toThrowError(
      new TypeError(
        "sgdrSchedule: option 'cycles' must be an array of warmupCosineDecaySchedule options, got an object with keys {decaySteps, initValue, peakValue, warmupSteps}",
      ),
    );
    expect(() => sgdrSchedule([{ initValue: 0, peakValue: 1, warmupSteps: 1 } as never])).toThrowError(
      new TypeError("sgdrSchedule: cycles[0]: option 'decaySteps' is required"),
    );
  });
});
