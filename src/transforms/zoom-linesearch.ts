import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Updates } from '../types.js';
import { mapFloatLeaves, stateLike } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { readDots } from '../internal/dots.js';
import { tidy } from '../tree/tidy.js';
import { describeNode } from '../tree/walk.js';
import { evaluate, lineInputs, scaledDirection } from './line-evaluation.js';

/**
 * Options of {@link scaleByZoomLinesearch}.
 * @group Transform options and states
 */
export interface ScaleByZoomLinesearchOptions {
  /** Most evaluations per update, a whole number >= 1 (required, as in optax). */
  maxLinesearchSteps: number;
  /** The largest step size tried, > 0. Default: none. */
  maxLearningRate?: number;
  /** Tolerance on both errors, >= 0. Default `0`. */
  tol?: number;
  /** Multiplies the trial step while no interval is found, > 1. Default `2`. */
  increaseFactor?: number;
  /** `c1` of the sufficient-decrease condition, in (0, 1). Default `1e-4`. */
  slopeRtol?: number;
  /** `c2` of the curvature condition, in (slopeRtol, 1) (Infinity turns the condition off). Default `0.9`. */
  curvRtol?: number;
  /** `epsilon` of the approximate decrease condition (Hager & Zhang), >= 0; `null` for Armijo's alone. Default `1e-6`. */
  approxDecRtol?: number | null;
  /** Below this interval length, a step with sufficient decrease ends the search, >= 0. Default `1e-5`. */
  stepsizePrecision?: number;
  /** First trial: `'keep'` the last step size, or `'one'`. Default `'keep'`. */
  initialGuessStrategy?: 'keep' | 'one';
}

/**
 * State of {@link scaleByZoomLinesearch}.
 * @group Transform options and states
 */
export interface ScaleByZoomLinesearchState {
  /** The step size of the last update (1 before the first). optax's `learning_rate`. */
  stepsize: number;
  /** The loss at the accepted point (Infinity before the first update). */
  value: number;
  /** The gradient at the accepted point (zeros before the first update). */
  grad: Updates;
  /** Evaluations the last search made. */
  numLinesearchSteps: number;
  /** The accepted step's sufficient-decrease error (0: satisfied). */
  decreaseError: number;
  /** The accepted step's curvature error (0: satisfied). */
  curvatureError: number;
}

/** Where a zoom search stands: float64 numbers, and the gradients it holds. */
interface ZoomState {
  count: number;
  stepsize: number;
  value: number;
  slope: number;
  grad: Updates;
  decreaseError: number;
  curvatureError: number;
  intervalFound: boolean;
  done: boolean;
  failed: boolean;
  low: number;
  valueLow: number;
  slopeLow: number;
  high: number;
  valueHigh: number;
  slopeHigh: number;
  cubicRef: number;
  valueCubicRef: number;
  safeStepsize: number;
  safeValue: number;
  safeGrad: Updates;
}

/**
 * A line search for the strong Wolfe conditions (Nocedal & Wright, Algorithms 3.5 and 3.6, with
 * Hager & Zhang's approximate decrease condition), as optax's `scale_by_zoom_linesearch`:
 * scales the incoming direction `d` by a step size `t` with, for `phi(t) = f(w + t d)`,
 *
 *     decrease:   phi(t) <= phi(0) + slopeRtol * t * phi'(0)
 *                 or (approxDecRtol not null) phi'(t) <= (2 slopeRtol - 1) phi'(0)
 *                                  and phi(t) <= phi(0) + approxDecRtol * |phi(0)|
 *     curvature:  |phi'(t)| <= curvRtol * |phi'(0)|
 *
 * (each to within `tol`). Phase 1 tries `t0, increaseFactor * t0, ...` (`t0` the last step size
 * or 1, see `initialGuessStrategy`; capped at `maxLearningRate`) until an interval holding such a
 * step is bracketed; phase 2 shrinks it, trying the minimizer of a cubic through three known
 * points, else of a quadratic, else the midpoint. After `maxLinesearchSteps` evaluations, or once
 * the interval is shorter than `stepsizePrecision`, it settles for the best step seen with
 * sufficient decrease (or the last one tried if there is none).
 *
 * Each evaluation computes the loss and its gradient at the trial point, so
 * `update(direction, state, params, { value, grad, valueFn })` needs `valueFn` to return a scalar
 * tensor built with tf ops from its argument (a missing field is an `Error` naming it). The
 * gradient at the accepted point stays in the state: pass it to the next update with
 * {@link valueAndGradFromState}, and a step costs one evaluation when the first trial passes.
 *
 * Defaults: `maxLearningRate` none, `tol = 0, increaseFactor = 2, slopeRtol = 1e-4,
 * curvRtol = 0.9, approxDecRtol = 1e-6, stepsizePrecision = 1e-5, initialGuessStrategy = 'keep'`;
 * `maxLinesearchSteps` is required. State: `{ stepsize, value, grad, numLinesearchSteps,
 * decreaseError, curvatureError }`.
 *
 * Where it differs from optax: the step size is `stepsize` in the state (optax: `learning_rate`),
 * the info fields sit at the top of the state, no `verbose` option; with `'keep'`, a search
 * after one that ended at step 0 starts from 1 (optax would start from 0 and never move again).
 * @group Transforms
 */
export function scaleByZoomLinesearch(options: ScaleByZoomLinesearchOptions): GradientTransformation<ScaleByZoomLinesearchState> {
  const owner = ownerOr('scaleByZoomLinesearch');
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new TypeError(`${owner}: expected an options object with 'maxLinesearchSteps'`);
  }
  checkOptions(owner, options, [
    'maxLinesearchSteps', 'maxLearningRate', 'tol', 'increaseFactor', 'slopeRtol', 'curvRtol', 'approxDecRtol', 'stepsizePrecision', 'initialGuessStrategy',
  ]);
  const maxSteps = checkInteger(owner, 'maxLinesearchSteps', options.maxLinesearchSteps, 1);
  const maxStepsize = options.maxLearningRate === undefined ? Infinity : checkNumber(owner, 'maxLearningRate', options.maxLearningRate, { min: 0, minInclusive: false });
  const tol = checkNumber(owner, 'tol', options.tol ?? 0, { min: 0 });
  const increaseFactor = checkNumber(owner, 'increaseFactor', options.increaseFactor ?? 2, { min: 1, minInclusive: false });
  const slopeRtol = checkNumber(owner, 'slopeRtol', options.slopeRtol ?? 1e-4, { min: 0, max: 1, minInclusive: false, maxInclusive: false });
  const curvRtol = options.curvRtol === Infinity ? Infinity : checkNumber(owner, 'curvRtol', options.curvRtol ?? 0.9, { min: slopeRtol, max: 1, minInclusive: false, maxInclusive: false });
  const approxDecRtol = options.approxDecRtol === null ? null : checkNumber(owner, 'approxDecRtol', options.approxDecRtol ?? 1e-6, { min: 0 });
  const precision = checkNumber(owner, 'stepsizePrecision', options.stepsizePrecision ?? 1e-5, { min: 0 });
  const strategy = options.initialGuessStrategy ?? 'keep';
  if (strategy !== 'keep' && strategy !== 'one') {
    throw new RangeError(`${owner}: option 'initialGuessStrategy' must be 'keep' or 'one', got ${describeNode(strategy)}`);
  }

  const decreaseErrorAt = (t: number, value: number, slope: number, value0: number, slope0: number): number => {
    let e = value - value0 - slopeRtol * t * slope0;
    if (approxDecRtol !== null) {
      const approx = Math.max(slope - (2 * slopeRtol - 1) * slope0, value - value0 - approxDecRtol * Math.abs(value0));
      e = Math.min(approx, e);
    }
    e = Math.max(e, 0);
    return Number.isNaN(e) ? Infinity : e;
  };
  const curvatureErrorAt = (slope: number, slope0: number): number => {
    const e = Math.max(Math.abs(slope) - curvRtol * Math.abs(slope0), 0);
    return Number.isNaN(e) ? Infinity : e;
  };

  return declareState<ScaleByZoomLinesearchState>(
    owner,
    { stepsize: 'number', value: 'number', grad: 'tree', numLinesearchSteps: 'count', decreaseError: 'number', curvatureError: 'number' },
    {
      init: (params) => ({
        stepsize: 1,
        value: Infinity,
        grad: stateLike(owner, params),
        numLinesearchSteps: 0,
        decreaseError: Infinity,
        curvatureError: Infinity,
      }),
      update: (updates, state, params, extra) => {
        const inputs = lineInputs(owner, updates, params, extra);
        const value0 = inputs.value;
        const slope0 = readDots([[updates, inputs.grad]]).dots[0];
        const guess = strategy === 'one' || !(state.stepsize > 0) ? 1 : state.stepsize;
        // The gradients this search computed; those it no longer holds are freed as it goes.
        const owned = new Set<Updates>();
        let s: ZoomState = {
          count: 0,
          stepsize: 0,
          value: value0,
          slope: slope0,
          grad: inputs.grad,
          decreaseError: Infinity,
          curvatureError: Infinity,
          intervalFound: false,
          done: false,
          failed: false,
          low: 0,
          valueLow: value0,
          slopeLow: slope0,
          high: 0,
          valueHigh: value0,
          slopeHigh: slope0,
          cubicRef: 0,
          valueCubicRef: value0,
          safeStepsize: 0,
          safeValue: value0,
          safeGrad: inputs.grad,
        };
        const release = () => {
          for (const g of owned) {
            if (g !== s.grad && g !== s.safeGrad) {
              tf.dispose(g as tf.TensorContainer);
              owned.delete(g);
            }
          }
        };
        const trial = (t: number) => {
          const e = evaluate(owner, inputs, updates, t, true);
          owned.add(e.grad);
          const decreaseError = decreaseErrorAt(t, e.value, e.slope, value0, slope0);
          const curvatureError = curvatureErrorAt(e.slope, slope0);
          return { ...e, grad: e.grad as Updates, decreaseError, curvatureError, error: Math.max(decreaseError, curvatureError) };
        };
        try {
          while (!(s.done || s.failed)) {
            s = s.intervalFound ? zoomStep(s, trial) : searchStep(s, trial);
            if (s.failed) s = settle(s);
            release();
          }
        } catch (err) {
          for (const g of owned) tf.dispose(g as tf.TensorContainer);
          throw err;
        }

        function searchStep(st: ZoomState, tryAt: typeof trial): ZoomState {
          let t = st.count === 0 ? guess : increaseFactor * st.stepsize;
          const maxReached = t >= maxStepsize;
          t = Math.min(t, maxStepsize);
          const e = tryAt(t);
          const safe = e.decreaseError <= tol;
          const highToNew = e.decreaseError > 0 || (e.value >= st.value && st.count > 0);
          const lowToNew = e.slope >= 0 && !highToNew;
          const prev = { at: st.stepsize, value: st.value, slope: st.slope };
          const next = { at: t, value: e.value, slope: e.slope };
          const [lo, hi] = lowToNew ? [next, prev] : [prev, next];
          const intervalFound = highToNew || lowToNew || e.error <= tol;
          const done = e.error <= tol || (maxReached && !intervalFound);
          return {
            ...tried(st, t, e),
            intervalFound,
            done,
            failed: st.count + 1 >= maxSteps && !done,
            ...bracket(lo, hi),
            cubicRef: lo.at,
            valueCubicRef: lo.value,
            safeStepsize: safe ? t : st.safeStepsize,
            safeValue: safe ? e.value : st.safeValue,
            safeGrad: safe ? e.grad : st.safeGrad,
          };
        }

        function zoomStep(st: ZoomState, tryAt: typeof trial): ZoomState {
          const left = Math.min(st.low, st.high);
          const right = Math.max(st.low, st.high);
          const delta = right - left;
          const cubic = cubicMinimizer(st.low, st.valueLow, st.slopeLow, st.high, st.valueHigh, st.cubicRef, st.valueCubicRef);
          const quad = quadraticMinimizer(st.low, st.valueLow, st.slopeLow, st.high, st.valueHigh);
          // NaN (no real minimizer) fails both comparisons, so falls through.
          const middle =
            cubic > left + 0.2 * delta && cubic < right - 0.2 * delta
              ? cubic
              : quad > left + 0.1 * delta && quad < right - 0.1 * delta
                ? quad
                : (st.low + st.high) / 2;
          const e = tryAt(middle);
          const safe = e.decreaseError <= tol && e.value < st.safeValue;
          const done = e.error <= tol;
          const highToMiddle = e.decreaseError > 0 || e.value >= st.valueLow;
          const highToLow = !highToMiddle && e.slope * (st.high - st.low) >= 0;
          const mid = { at: middle, value: e.value, slope: e.slope };
          const low = { at: st.low, value: st.valueLow, slope: st.slopeLow };
          const high = { at: st.high, value: st.valueHigh, slope: st.slopeHigh };
          const newHigh = highToMiddle ? mid : highToLow ? low : high;
          const newLow = highToMiddle ? low : mid;
          const ref = highToMiddle || highToLow ? high : low;
          const safeStepsize = safe ? middle : st.safeStepsize;
          const tooSmall = delta <= precision;
          return {
            ...tried(st, middle, e),
            intervalFound: st.intervalFound,
            done,
            failed: (st.count + 1 >= maxSteps || (tooSmall && safeStepsize > 0)) && !done,
            ...bracket(newLow, newHigh),
            cubicRef: ref.at,
            valueCubicRef: ref.value,
            safeStepsize,
            safeValue: safe ? e.value : st.safeValue,
            safeGrad: safe ? e.grad : st.safeGrad,
          };
        }

        const stepsize = s.stepsize;
        const out = scaledDirection(owner, updates, stepsize) as typeof updates;
        // The input gradient is the caller's: keep a copy (sharing its buffer) when it is the result.
        const grad = s.grad === inputs.grad ? tidy(() => mapFloatLeaves(owner, ['extra.grad'], [s.grad], (g) => tf.clone(g))) : s.grad;
        return [out, { stepsize, value: s.value, grad, numLinesearchSteps: s.count, decreaseError: s.decreaseError, curvatureError: s.curvatureError }];
      },
    },
  );
}

/** A point on the line: step size, value and slope. */
interface LinePoint {
  at: number;
  value: number;
  slope: number;
}

/** The fields of a search state for the interval `[low, high]` (either order). */
function bracket(low: LinePoint, high: LinePoint): Pick<ZoomState, 'low' | 'valueLow' | 'slopeLow' | 'high' | 'valueHigh' | 'slopeHigh'> {
  return { low: low.at, valueLow: low.value, slopeLow: low.slope, high: high.at, valueHigh: high.value, slopeHigh: high.slope };
}

/** The fields of a search state after trying step `t` from `st`. */
function tried(
  st: ZoomState,
  t: number,
  e: { value: number; slope: number; grad: Updates; decreaseError: number; curvatureError: number },
): Pick<ZoomState, 'count' | 'stepsize' | 'value' | 'slope' | 'grad' | 'decreaseError' | 'curvatureError'> {
  return { count: st.count + 1, stepsize: t, value: e.value, slope: e.slope, grad: e.grad, decreaseError: e.decreaseError, curvatureError: e.curvatureError };
}

/**
 * After a failed search: the best step with sufficient decrease if there is one (or if the last
 * loss was not finite, in which case that is step 0), else the last step tried.
 */
function settle(s: ZoomState): ZoomState {
  if (s.safeStepsize > 0 || s.decreaseError === Infinity) {
    return { ...s, stepsize: s.safeStepsize, value: s.safeValue, grad: s.safeGrad };
  }
  return s;
}

/**
 * The critical point of the cubic through `(a, fa)`, `(b, fb)`, `(c, fc)` with slope `ga` at
 * `a` (NaN if it has none). Writing `p(x) = A x^3 + B x^2 + ga x + fa` with `x` measured from
 * `a`, the two point conditions are a 2x2 linear system for `A` and `B`.
 */
export function cubicMinimizer(a: number, fa: number, ga: number, b: number, fb: number, c: number, fc: number): number {
  const db = b - a;
  const dc = c - a;
  const rb = fb - fa - ga * db;
  const rc = fc - fa - ga * dc;
  const det = db * db * dc * dc * (db - dc);
  const A = (dc * dc * rb - db * db * rc) / det;
  const B = (db * db * db * rc - dc * dc * dc * rb) / det;
  return a + (-B + Math.sqrt(B * B - 3 * A * ga)) / (3 * A);
}

/** The critical point of the parabola through `(a, fa)` and `(b, fb)` with slope `ga` at `a`. */
export function quadraticMinimizer(a: number, fa: number, ga: number, b: number, fb: number): number {
  const db = b - a;
  const B = (fb - fa - ga * db) / (db * db);
  return a - ga / (2 * B);
}
