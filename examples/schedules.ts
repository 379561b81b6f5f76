// Prints every schedule's value at steps 0..99, ten per row.
// Run: npm run example:schedules
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
} from 'tfjs-optax';

const STEPS = 100;

const schedules: Array<[string, Schedule]> = [
  ['constantSchedule(0.1)', constantSchedule(0.1)],
  ['linearSchedule 1 -> 0.1 over steps 20..70', linearSchedule({ initValue: 1, endValue: 0.1, transitionSteps: 50, transitionBegin: 20 })],
  ['polynomialSchedule power 2, 1 -> 0 over 80', polynomialSchedule({ initValue: 1, endValue: 0, power: 2, transitionSteps: 80 })],
  ['exponentialDecay x0.5 per 25 steps', exponentialDecay({ initValue: 1, transitionSteps: 25, decayRate: 0.5 })],
  ['exponentialDecay staircase, floor 0.2', exponentialDecay({ initValue: 1, transitionSteps: 25, decayRate: 0.5, staircase: true, endValue: 0.2 })],
  ['piecewiseConstant x0.1 at 30 and 60', piecewiseConstantSchedule({ initValue: 1, boundariesAndScales: { 30: 0.1, 60: 0.1 } })],
  [
    'piecewiseInterpolate cosine, x0.5 at 30 and 60',
    piecewiseInterpolateSchedule({ interpolateType: 'cosine', initValue: 1, boundariesAndScales: { 30: 0.5, 60: 0.5 } }),
  ],
  ['cosineDecaySchedule over 100, alpha 0.1', cosineDecaySchedule({ initValue: 1, decaySteps: 100, alpha: 0.1 })],
  ['warmupCosineDecay 10 warmup, 100 total', warmupCosineDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 100, endValue: 0.05 })],
  ['warmupConstant 10 warmup', warmupConstantSchedule({ initValue: 0, peakValue: 1, warmupSteps: 10 })],
  ['warmupExponentialDecay 10 warmup', warmupExponentialDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 10, transitionSteps: 30, decayRate: 0.5 })],
  [
    'sgdr: cycles of 20, 30 and 50 steps, 5 warmup each',
    sgdrSchedule([
      { initValue: 0, peakValue: 1, warmupSteps: 5, decaySteps: 20 },
      { initValue: 0, peakValue: 0.7, warmupSteps: 5, decaySteps: 30 },
      { initValue: 0, peakValue: 0.4, warmupSteps: 5, decaySteps: 50 },
    ]),
  ],
  ['cosineOnecycle over 100, peak 1 at 30', cosineOnecycleSchedule({ transitionSteps: 100, peakValue: 1 })],
  ['linearOnecycle over 90, peak 1 at 27', linearOnecycleSchedule({ transitionSteps: 90, peakValue: 1 })],
  [
    'joinSchedules: linear up, constant, cosine down',
    joinSchedules({
      schedules: [
        linearSchedule({ initValue: 0, endValue: 1, transitionSteps: 20 }),
        constantSchedule(1),
        cosineDecaySchedule({ initValue: 1, decaySteps: 40 }),
      ],
      boundaries: [20, 60],
    }),
  ],
];

const BARS = ' ▁▂▃▄▅▆▇█';

for (const [name, schedule] of schedules) {
  const values = Array.from({ length: STEPS }, (_, c) => schedule(c));
  const max = Math.max(...values.map(Math.abs)) || 1;
  const spark = values.map((v) => BARS[Math.round((Math.abs(v) / max) * (BARS.length - 1))]).join('');
  console.log(`${name}\n  ${spark}`);
  for (let row = 0; row < STEPS; row += 10) {
    const cells = values.slice(row, row + 10).map((v) => v.toFixed(4).padStart(7));
    console.log(`  ${String(row).padStart(2)}: ${cells.join(' ')}`);
  }
  console.log('');
}
