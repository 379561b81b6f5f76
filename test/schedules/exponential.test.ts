import { describe, it } from 'vitest';
import { exponentialDecay, warmupExponentialDecaySchedule } from '../../src/index.js';
import { expectValues, SQRT_HALF } from './expect.js';

describe('schedules', () => {
  it('exponentialDecay: continuous, staircase, delayed, floored, growing and capped', () => {
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5 }), [1, SQRT_HALF, 0.5, 0.5 * SQRT_HALF, 0.25]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5, staircase: true }), [1, 1, 0.5, 0.5, 0.25]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5, transitionBegin: 2 }), [1, 1, 1, SQRT_HALF, 0.5]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 0.5, endValue: 0.3 }), [1, SQRT_HALF, 0.5, 0.5 * SQRT_HALF, 0.3]);
    expectValues(exponentialDecay({ initValue: 1, transitionSteps: 2, decayRate: 2, endValue: 3 }), [1, Math.SQRT2, 2, 2 * Math.SQRT2, 3]);
  });

  it('warmupExponentialDecaySchedule', () => {
    expectValues(
      warmupExponentialDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 2, transitionSteps: 1, decayRate: 0.5 }),
      [0, 0.5, 1, 0.5, 0.25, 0.125],
    );
  });
});
