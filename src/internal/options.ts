import type { ScalarOrSchedule } from '../types.js';
import { describeNode } from '../tree/walk.js';

/**
 * Validation of hyperparameters at construction time. Every check names the owner (the
 * optimizer, transform or schedule the user called), the option and the value it got, and
 * throws before anything is built: `TypeError` for a value of the wrong type, `RangeError`
 * for a number outside its domain (NaN and infinities included).
 */

interface Interval {
  min?: number;
  max?: number;
  /** Whether `min` itself is allowed; `true` by default. */
  minInclusive?: boolean;
  /** Whether `max` itself is allowed; `true` by default. */
  maxInclusive?: boolean;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  return String(value);
}

/** "a finite number in [0, 1)", "a finite number > 0", "a finite number". */
function domainText({ min, max, minInclusive = true, maxInclusive = true }: Interval): string {
  if (min !== undefined && max !== undefined) {
    return `a finite number in ${minInclusive ? '[' : '('}${min}, ${max}${maxInclusive ? ']' : ')'}`;
  }
  if (min !== undefined) return `a finite number ${minInclusive ? '>=' : '>'} ${min}`;
  if (max !== undefined) return `a finite number ${maxInclusive ? '<=' : '<'} ${max}`;
  return 'a finite number';
}

/** Checks that `value` is a finite number inside the interval, and returns it. */
export function checkNumber(owner: string, option: string, value: unknown, interval: Interval = {}): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${owner}: option '${option}' must be a number, got ${show(value)}`);
  }
  const { min, max, minInclusive = true, maxInclusive = true } = interval;
  const ok =
    Number.isFinite(value) &&
    (min === undefined || (minInclusive ? value >= min : value > min)) &&
    (max === undefined || (maxInclusive ? value <= max : value < max));
  if (!ok) {
    throw new RangeError(`${owner}: option '${option}' must be ${domainText(interval)}, got ${show(value)}`);
  }
  return value;
}

/** Checks that `value` is a whole number `>= min`. */
export function checkInteger(owner: string, option: string, value: unknown, min = 0): number {
  checkNumber(owner, option, value, { min });
  if (!Number.isInteger(value)) {
    throw new RangeError(`${owner}: option '${option}' must be a whole number, got ${show(value)}`);
  }
  return value as number;
}

/** Checks a decay or momentum rate in [0, 1) (or [0, 1] with `allowOne`). */
export function checkRate(owner: string, option: string, value: unknown, allowOne = false): number {
  return checkNumber(owner, option, value, { min: 0, max: 1, maxInclusive: allowOne });
}

/** Checks a number or a schedule function; a number must lie in `interval`. */
export function checkScalarOrSchedule(
  owner: string,
  option: string,
  value: unknown,
  interval: Interval = {},
): ScalarOrSchedule {
  if (typeof value === 'function') return value as ScalarOrSchedule;
  if (typeof value !== 'number') {
    throw new TypeError(
      `${owner}: option '${option}' must be a number or a schedule (count) => number, got ${show(value)}`,
    );
  }
  return checkNumber(owner, option, value, interval);
}

/** Checks an optional boolean flag. */
export function checkBoolean(owner: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${owner}: option '${option}' must be true or false, got ${show(value)}`);
  }
  return value;
}

/**
 * Checks that `value` is one of the strings in `choices`, and returns it: another string is a
 * value outside the domain (`RangeError`), anything else a `TypeError`.
 */
export function checkChoice<C extends string>(owner: string, option: string, value: unknown, choices: readonly C[]): C {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as C;
  const names = choices.map((c) => `'${c}'`);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
  const message = `${owner}: option '${option}' must be ${list}, got ${show(value)}`;
  throw typeof value === 'string' ? new RangeError(message) : new TypeError(message);
}

/** Checks that `value` is a gradient transformation (`{ init, update }`), for functions taking one. */
export function checkTransformation(owner: string, value: unknown, what = 'a gradient transformation'): void {
  const t = value as { init?: unknown; update?: unknown } | null;
  if (t === null || typeof t !== 'object' || typeof t.init !== 'function' || typeof t.update !== 'function') {
    throw new TypeError(`${owner}: expected ${what} ({ init, update }), got ${describeNode(value)}`);
  }
}

/** Checks that an options argument is a plain object (or absent) and has no unknown keys. */
export function checkOptions(owner: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${owner}: unknown option '${key}' (known options: ${known.join(', ')})`,
      );
    }
  }
}

/**
 * Evaluates a schedule at `count` and checks the result, so that a schedule that returns NaN or
 * a non-number fails loudly instead of silently poisoning the parameters.
 */
export function evaluateSchedule(owner: string, option: string, schedule: (count: number) => number, count: number): number {
  const value = schedule(count);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(
      `${owner}: the '${option}' schedule returned ${show(value)} at count ${count}; a finite number is required`,
    );
  }
  return value;
}

/** Checks that a required options object is present and holds the required keys. */
export function checkRequired(owner: string, options: unknown, required: readonly string[], known: readonly string[]): void {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new TypeError(`${owner}: expected an options object with ${required.map((k) => `'${k}'`).join(', ')}`);
  }
  checkOptions(owner, options, known);
  for (const key of required) {
    if ((options as Record<string, unknown>)[key] === undefined) {
      throw new TypeError(`${owner}: option '${key}' is required`);
    }
  }
}
