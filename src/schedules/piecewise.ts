import type { Schedule } from '../types.js';
import { checkNumber, checkRequired } from '../internal/options.js';

/**
 * Options of {@link piecewiseConstantSchedule}.
 * @group Schedules
 */
export interface PiecewiseConstantOptions {
  /** Value before the first boundary (a finite number); the scales multiply it. */
  initValue: number;
  /**
   * Step count -> factor (>= 0); each factor multiplies the value from that count on. Absent,
   * `null` or empty: the schedule is the constant `initValue` (as optax's `None`).
   */
  boundariesAndScales?: Record<number, number> | null;
}

/**
 * A piecewise-constant schedule: `initValue` times the product of the scales of every boundary
 * already reached (`count >= boundary`). `{ initValue: 1, boundariesAndScales: { 100: 0.1,
 * 200: 0.1 } }` gives 1 until step 99, 0.1 from step 100 and 0.01 from step 200.
 * @group Schedules
 */
export function piecewiseConstantSchedule(options: PiecewiseConstantOptions): Schedule {
  const owner = 'piecewiseConstantSchedule';
  checkRequired(owner, options, ['initValue'], ['initValue', 'boundariesAndScales']);
  const initValue = checkNumber(owner, 'initValue', options.initValue);
  const steps = sortedScales(owner, options.boundariesAndScales ?? {});
  return (count) => {
    let value = initValue;
    for (const { boundary, scale } of steps) {
      if (count < boundary) break;
      value *= scale;
    }
    return value;
  };
}

/**
 * Options of {@link piecewiseInterpolateSchedule}.
 * @group Schedules
 */
export interface PiecewiseInterpolateOptions {
  /** How the value moves between boundaries: a straight line or a half cosine. */
  interpolateType: 'linear' | 'cosine';
  /** Value at step 0. */
  initValue: number;
  /**
   * Step count (a whole number >= 0) -> factor (>= 0). The value reached at a boundary is
   * `initValue` times the factors of that boundary and every earlier one. Absent, `null` or
   * empty: none, and the schedule is the constant `initValue` (as optax's `None`).
   */
  boundariesAndScales?: Record<number, number> | null;
}

/**
 * A piecewise-interpolated schedule. The boundaries `b_1 < b_2 < ... < b_n` (with `b_0 = 0`)
 * carry the values `v_0 = initValue` and `v_i = v_{i-1} * scale_i` (the scales multiply, as in
 * {@link piecewiseConstantSchedule}); between two boundaries the value moves from `v_i` to
 * `v_{i+1}`, and from `b_n` on it holds `v_n`:
 *
 *     t = (count - b_i) / (b_{i+1} - b_i)           for b_i <= count < b_{i+1}
 *     linear: value = v_i + (v_{i+1} - v_i) * t
 *     cosine: value = v_{i+1} + (v_i - v_{i+1}) * (1 + cos(pi * t)) / 2
 *
 * So the value already moves towards `v_1` from step 0, unlike the piecewise-constant schedule,
 * which jumps at the boundary. A boundary at 0 applies its scale from step 0 on. With
 * `{ interpolateType: 'linear', initValue: 1, boundariesAndScales: { 4: 0.1, 8: 0.01 } }` the
 * values at steps 0, 2, 4, 6 and 8 are 1, 0.55, 0.1, 0.0505 and 0.001.
 *
 * Without `boundariesAndScales` (or with `null` or `{}`) the schedule is the constant
 * `initValue`, as optax's. As optax, except that boundaries must be whole numbers >= 0 (optax takes any int key, and a
 * negative one gives overlapping segments), and that a negative count gives `initValue`
 * (optax gives 0; the counts here start at 0, so this never shows).
 * @group Schedules
 */
export function piecewiseInterpolateSchedule(options: PiecewiseInterpolateOptions): Schedule {
  const owner = 'piecewiseInterpolateSchedule';
  checkRequired(owner, options, ['interpolateType', 'initValue'], ['interpolateType', 'initValue', 'boundariesAndScales']);
  const type = checkInterpolateType(owner, options.interpolateType);
  let value = checkNumber(owner, 'initValue', options.initValue);
  const knots: Knot[] = [{ step: 0, value }];
  for (const { key, boundary, scale } of sortedScales(owner, options.boundariesAndScales ?? {})) {
    if (!Number.isInteger(boundary) || boundary < 0) {
      throw new RangeError(`${owner}: boundary ${JSON.stringify(key)} must be a whole number >= 0`);
    }
    value *= scale;
    knots.push({ step: boundary, value });
  }
  return interpolateKnots(knots, type);
}

/** The entries of a `boundariesAndScales` table, checked and sorted by boundary. */
function sortedScales(owner: string, table: unknown): Array<{ key: string; boundary: number; scale: number }> {
  if (table === null || typeof table !== 'object' || Array.isArray(table)) {
    throw new TypeError(`${owner}: option 'boundariesAndScales' must be an object { [step]: scale }`);
  }
  return Object.entries(table)
    .map(([key, scale]) => {
      const boundary = Number(key);
      if (key.trim() === '' || !Number.isFinite(boundary)) {
        throw new RangeError(`${owner}: boundary ${JSON.stringify(key)} is not a number`);
      }
      checkNumber(owner, `boundariesAndScales[${key}]`, scale, { min: 0 });
      return { key, boundary, scale: scale as number };
    })
    .sort((a, b) => a.boundary - b.boundary);
}

/** How a value moves from `start` to `end` as `t` goes from 0 to 1. */
type Interpolation = (start: number, end: number, t: number) => number;

const INTERPOLATIONS: Record<'linear' | 'cosine', Interpolation> = {
  linear: (start, end, t) => start + (end - start) * t,
  // A half cosine: flat at both ends, so the value leaves `start` and reaches `end` gently.
  cosine: (start, end, t) => end + ((start - end) * (1 + Math.cos(Math.PI * t))) / 2,
};

/** Checks `interpolateType`: a string other than the two names is a value outside the domain. */
function checkInterpolateType(owner: string, value: unknown): 'linear' | 'cosine' {
  if (value === 'linear' || value === 'cosine') return value;
  const message = `${owner}: option 'interpolateType' must be 'linear' or 'cosine', got`;
  if (typeof value !== 'string') throw new TypeError(`${message} ${String(value)}`);
  throw new RangeError(`${message} ${JSON.stringify(value)}`);
}

/** A point an interpolated schedule passes through: `value` at `step`. @internal */
export interface Knot {
  step: number;
  value: number;
}

/**
 * The schedule through `knots` (sorted by step, the first at step 0): between two knots the
 * value is interpolated, from the last knot on it holds. Knots at the same step make a jump:
 * the value comes from the last of them.
 * @internal
 */
export function interpolateKnots(knots: readonly Knot[], type: 'linear' | 'cosine'): Schedule {
  const interpolate = INTERPOLATIONS[type];
  const points = knots.slice();
  const last = points[points.length - 1];
  return (count) => {
    if (count >= last.step) return last.value;
    if (count < points[0].step) return points[0].value;
    // The last knot at or before count; the next one is strictly after it, so no zero division.
    let i = points.length - 2;
    while (points[i].step > count) i--;
    const from = points[i];
    const to = points[i + 1];
    return interpolate(from.value, to.value, (count - from.step) / (to.step - from.step));
  };
}
