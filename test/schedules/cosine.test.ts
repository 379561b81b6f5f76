import { describe, expect, it } from 'vitest';
import {
  constantSchedule,
  cosineDecaySchedule,
  cosineOnecycleSchedule,
  exponentialDecay,
  joinSchedules,
  linearOnecycleSchedule,
  linearSchedule,
  piecewiseConstantSchedule,
  piecewiseInterpolateSchedule,
  polynomialSchedule,
  sgdrSchedule,
  warmupConstantSchedule,
  warmupCosineDecaySchedule,
  warmupExponentialDecaySchedule,
  type Schedule,
  type WarmupCosineDecayOptions,
} from '../../src/index.js';

/** Asserts schedule(0..n-1) against hand-computed values. */
function expectValues(schedule: Schedule, expected: number[]): void {
  const got = expected.map((_, c) => schedule(c));
  got.forEach((v, c) => expect(v, `count ${c}`).toBeCloseTo(expected[c], 12));
}

/** Asserts schedule(count) at the given counts, e.g. the steps around each phase boundary. */
function expectAt(schedule: Schedule, expected: Record<number, number>): void {
  for (const [count, value] of Object.entries(expected)) {
    expect(schedule(Number(count)), `count ${count}`).toBeCloseTo(value, 12);
  }
}

/** Asserts that making a schedule throws a RangeError whose message matches. */
function expectRangeError(make: () => unknown, message: RegExp): void {
  expect(make).toThrowError(RangeError);
  expect(make).toThrowError(message);
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

// The half-cosine step of the cosine interpolations, from `a` (t = 0) to `b` (t = 1), written out
// here from its definition so the tests do not reuse the library's.
const halfCosine = (a: number, b: number, t: number): number => b + ((a - b) * (1 + Math.cos(Math.PI * t))) / 2;

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

describe('cosineOnecycleSchedule', () => {
  it("optax's case: 5 steps, peak 1000 at step 2, from 100 down to 1", () => {
    const s = cosineOnecycleSchedule({ transitionSteps: 5, peakValue: 1000, pctStart: 0.4, divFactor: 10, finalDivFactor: 100 });
    // init = 1000 / 10 = 100, rise = floor(0.4 * 5) = 2, final = 100 / 100 = 1.
    // Step 1: 1000 + (100 - 1000) * (1 + cos(pi/2)) / 2 = 550; step 3: 1 + 999 * (1 + cos(pi/3)) / 2.
    expectValues(s, [100, 550, 1000, 750.25, 250.75, 1, 1]);
  });

  it('defaults (pctStart 0.3, divFactor 25, finalDivFactor 1e4) around each phase boundary', () => {
    const s = cosineOnecycleSchedule({ transitionSteps: 100, peakValue: 1 });
    const init = 1 / 25; // 0.04
    const final = init / 1e4; // 4e-6
    // rise = floor(0.3 * 100) = 30.
    expectAt(s, {
      0: init,
      1: halfCosine(init, 1, 1 / 30),
      29: halfCosine(init, 1, 29 / 30),
      30: 1,
      31: halfCosine(1, final, 1 / 70),
      99: halfCosine(1, final, 69 / 70),
      100: final,
      101: final,
    });
  });

  it('rounds the rise down as optax does, in float64: 0.29 * 100 = 28.999999999999996 -> 28', () => {
    const s = cosineOnecycleSchedule({ transitionSteps: 100, peakValue: 2, pctStart: 0.29 });
    expectAt(s, { 27: halfCosine(0.08, 2, 27 / 28), 28: 2, 29: halfCosine(2, 0.08 / 1e4, 1 / 72) });
  });

  it('pctStart 0 starts at the peak; pctStart 1 rises for the whole cycle, then drops to the final value', () => {
    expectAt(cosineOnecycleSchedule({ transitionSteps: 4, peakValue: 1, pctStart: 0 }), { 0: 1, 2: halfCosine(1, 4e-6, 0.5), 4: 4e-6 });
    // optax: the two phases share the key 4 in its dict, the second wins, the peak is never reached.
    const full = cosineOnecycleSchedule({ transitionSteps: 4, peakValue: 1, pctStart: 1 });
    expectValues(full, [0.04, halfCosine(0.04, 1, 0.25), halfCosine(0.04, 1, 0.5), halfCosine(0.04, 1, 0.75), 4e-6, 4e-6]);
  });
});

describe('linearOnecycleSchedule', () => {
  it("optax's case: 10 steps, up 100 -> 1000 by step 3, back to 100 by step 7, down to 1 by step 10", () => {
    const s = linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1000, pctStart: 0.3, pctFinal: 0.7, divFactor: 10, finalDivFactor: 100 });
    // +300 a step, -225 a step, -33 a step, then 1.
    expectValues(s, [100, 400, 700, 1000, 775, 550, 325, 100, 67, 34, 1, 1]);
  });

  it('defaults (pctStart 0.3, pctFinal 0.85, divFactor 25, finalDivFactor 1e4) around each phase boundary', () => {
    const s = linearOnecycleSchedule({ transitionSteps: 100, peakValue: 2 });
    const init = 2 / 25; // 0.08
    const final = init / 1e4; // 8e-6
    // rise = floor(0.3 * 100) = 30, fall = floor(0.85 * 100) = 85.
    expectAt(s, {
      0: init,
      29: init + ((2 - init) * 29) / 30,
      30: 2,
      31: 2 + ((init - 2) * 1) / 55,
      84: 2 + ((init - 2) * 54) / 55,
      85: init,
      86: init + ((final - init) * 1) / 15,
      99: init + ((final - init) * 14) / 15,
      100: final,
      101: final,
    });
  });

  it('pctFinal 1 ends the fall at the cycle end, then the final value (optax ends at peakValue / finalDivFactor)', () => {
    const s = linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1000, pctStart: 0.3, pctFinal: 1, divFactor: 10, finalDivFactor: 100 });
    // Knots (0, 100), (3, 1000), (10, 100), (10, 1): the fall is -900 / 7 a step.
    expectAt(s, { 3: 1000, 4: 1000 - 900 / 7, 9: 1000 - (900 * 6) / 7, 10: 1, 11: 1 });
  });

  it('one step: rise and fall both round to step 0, so the value starts at init and ends at final', () => {
    // optax's dict keeps only the fall's scale at key 0 and starts at init / divFactor instead.
    const s = linearOnecycleSchedule({ transitionSteps: 1, peakValue: 1 });
    expectValues(s, [0.04, 4e-6, 4e-6]);
  });
});

describe('bad options of the new schedules', () => {
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
    expectRangeError(
      () => warmupConstantSchedule({ initValue: 0, peakValue: 1, warmupSteps: -1 }),
      /^warmupConstantSchedule: option 'warmupSteps' must be a finite number >= 0, got -1$/,
    );
    expectRangeError(
      () => warmupConstantSchedule({ initValue: 0, peakValue: Infinity, warmupSteps: 1 }),
      /^warmupConstantSchedule: option 'peakValue' must be a finite number, got Infinity$/,
    );
    expectRangeError(() => sgdrSchedule([]), /^sgdrSchedule: option 'cycles' must hold at least one cycle, got \[\]$/);
    expectRangeError(
      () =>
        sgdrSchedule([
          { initValue: 0, peakValue: 1, warmupSteps: 1, decaySteps: 3 },
          { initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 10 },
        ]),
      /^sgdrSchedule: cycles\[1\]: option 'decaySteps' must be a finite number > 10, got 10$/,
    );
    expectRangeError(
      () => cosineOnecycleSchedule({ transitionSteps: 0, peakValue: 1 }),
      /^cosineOnecycleSchedule: option 'transitionSteps' must be a finite number >= 1, got 0$/,
    );
    expectRangeError(
      () => cosineOnecycleSchedule({ transitionSteps: 10.5, peakValue: 1 }),
      /^cosineOnecycleSchedule: option 'transitionSteps' must be a whole number, got 10.5$/,
    );
    expectRangeError(
      () => cosineOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pctStart: 1.5 }),
      /^cosineOnecycleSchedule: option 'pctStart' must be a finite number in \[0, 1\], got 1.5$/,
    );
    expectRangeError(
      () => cosineOnecycleSchedule({ transitionSteps: 10, peakValue: 1, divFactor: -25 }),
      /^cosineOnecycleSchedule: option 'divFactor' must be a finite number > 0, got -25$/,
    );
    expectRangeError(
      () => cosineOnecycleSchedule({ transitionSteps: 10, peakValue: 1, finalDivFactor: 0 }),
      /^cosineOnecycleSchedule: option 'finalDivFactor' must be a finite number > 0, got 0$/,
    );
    expectRangeError(
      () => cosineOnecycleSchedule({ transitionSteps: 10, peakValue: NaN }),
      /^cosineOnecycleSchedule: option 'peakValue' must be a finite number, got NaN$/,
    );
    expectRangeError(
      () => linearOnecycleSchedule({ transitionSteps: -5, peakValue: 1 }),
      /^linearOnecycleSchedule: option 'transitionSteps' must be a finite number >= 1, got -5$/,
    );
    expectRangeError(
      () => linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pctStart: 0.5, pctFinal: 0.5 }),
      /^linearOnecycleSchedule: option 'pctFinal' must be a finite number in \(0.5, 1\], got 0.5$/,
    );
    // The default pctFinal (0.85) is checked against pctStart too.
    expectRangeError(
      () => linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pctStart: 0.9 }),
      /^linearOnecycleSchedule: option 'pctFinal' must be a finite number in \(0.9, 1\], got 0.85$/,
    );
    expectRangeError(
      () => linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pctFinal: 1.2 }),
      /^linearOnecycleSchedule: option 'pctFinal' must be a finite number in \(0.3, 1\], got 1.2$/,
    );
    expectRangeError(
      () => linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pctStart: -0.1 }),
      /^linearOnecycleSchedule: option 'pctStart' must be a finite number in \[0, 1\], got -0.1$/,
    );
  });

  it('wrong types and unknown or missing options are a TypeError', () => {
    expect(() => piecewiseInterpolateSchedule({ interpolateType: undefined as never, initValue: 1, boundariesAndScales: {} })).toThrowError(
      new TypeError("piecewiseInterpolateSchedule: option 'interpolateType' is required"),
    );
    expect(() => piecewiseInterpolateSchedule({ interpolateType: 1 as never, initValue: 1, boundariesAndScales: {} })).toThrowError(
      new TypeError("piecewiseInterpolateSchedule: option 'interpolateType' must be 'linear' or 'cosine', got 1"),
    );
    expect(() => warmupConstantSchedule({ initValue: 0, peakValue: 1, warmupSteps: 2, decaySteps: 5 } as never)).toThrowError(
      /^warmupConstantSchedule: unknown option 'decaySteps'/,
    );
    expect(() => sgdrSchedule({ initValue: 0, peakValue: 1, warmupSteps: 1, decaySteps: 3 } as never)).toThrowError(
      new TypeError(
        "sgdrSchedule: option 'cycles' must be an array of warmupCosineDecaySchedule options, got an object with keys {decaySteps, initValue, peakValue, warmupSteps}",
      ),
    );
    expect(() => sgdrSchedule([{ initValue: 0, peakValue: 1, warmupSteps: 1 } as never])).toThrowError(
      new TypeError("sgdrSchedule: cycles[0]: option 'decaySteps' is required"),
    );
    expect(() => linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pct_final: 0.9 } as never)).toThrowError(
      /^linearOnecycleSchedule: unknown option 'pct_final'/,
    );
    expect(() => cosineOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pctFinal: 0.9 } as never)).toThrowError(
      /^cosineOnecycleSchedule: unknown option 'pctFinal'/,
    );
  });
});
