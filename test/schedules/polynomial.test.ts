import { describe, it } from 'vitest';
import { constantSchedule, linearSchedule, polynomialSchedule } from '../../src/index.js';
import { expectValues } from './expect.js';

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
});
