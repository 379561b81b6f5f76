import { describe, it } from 'vitest';
import { constantSchedule, joinSchedules } from '../../src/index.js';
import { expectValues } from './expect.js';

describe('schedules', () => {
  it('joinSchedules: each segment counts from its own boundary', () => {
    const s = joinSchedules({ schedules: [constantSchedule(1), (c) => c, constantSchedule(3)], boundaries: [2, 4] });
    expectValues(s, [1, 1, 0, 1, 3, 3]);
  });
});
