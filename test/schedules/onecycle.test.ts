import { describe, expect, it } from 'vitest';
import { cosineOnecycleSchedule, linearOnecycleSchedule } from '../../src/index.js';
import { expectAt, expectRangeError, expectValues, halfCosine } from './expect.js';

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

describe('bad options', () => {
  it('are a RangeError naming the schedule, the option and the value', () => {
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
    expect(() => cosineOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pctFinal: 0.9 } as never)).toThrowError(
      /^cosineOnecycleSchedule: unknown option 'pctFinal'/,
    );
    expect(() => linearOnecycleSchedule({ transitionSteps: 10, peakValue: 1, pct_final: 0.9 } as never)).toThrowError(
      /^linearOnecycleSchedule: unknown option 'pct_final'/,
    );
  });
});
