import type { Schedule } from '../types.js';
import { checkNumber, checkRequired } from '../internal/options.js';

/** Options of {@link piecewiseConstantSchedule}. */
export interface PiecewiseConstantOptions {
  initValue: number;
  /** Step count -> factor (>= 0); each factor multiplies the value from that count on. */
  boundariesAndScales: Record<number, number>;
}

/**
 * A piecewise-constant schedule: `initValue` times the product of the scales of every boundary
 * already reached (`count >= boundary`). `{ initValue: 1, boundariesAndScales: { 100: 0.1,
 * 200: 0.1 } }` gives 1 until step 99, 0.1 from step 100 and 0.01 from step 200.
 */
export function piecewiseConstantSchedule(options: PiecewiseConstantOptions): Schedule {
  const owner = 'piecewiseConstantSchedule';
  checkRequired(owner, options, ['initValue', 'boundariesAndScales'], ['initValue', 'boundariesAndScales']);
  const initValue = checkNumber(owner, 'initValue', options.initValue);
  const table = options.boundariesAndScales;
  if (table === null || typeof table !== 'object' || Array.isArray(table)) {
    throw new TypeError(`${owner}: option 'boundariesAndScales' must be an object { [step]: scale }`);
  }
  const steps = Object.entries(table)
    .map(([key, scale]) => {
      const boundary = Number(key);
      if (key.trim() === '' || !Number.isFinite(boundary)) {
        throw new RangeError(`${owner}: boundary ${JSON.stringify(key)} is not a number`);
      }
      checkNumber(owner, `boundariesAndScales[${key}]`, scale, { min: 0 });
      return { boundary, scale };
    })
    .sort((a, b) => a.boundary - b.boundary);
  return (count) => {
    let value = initValue;
    for (const { boundary, scale } of steps) {
      if (count < boundary) break;
      value *= scale;
    }
    return value;
  };
}
