import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, GradientTransformation, Params, Updates } from '../types.js';
import { checkFloatTrees, mapFloatLeaves, missingParams, stateLike } from '../internal/leaves.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions } from '../internal/options.js';
import { declareState } from '../internal/state.js';
import { readDots } from '../internal/dots.js';
import { tidy } from '../internal/tidy.js';
import { treeFlatten } from '../tree/structure.js';
import { describeNode, isPlainObject, isTensor } from '../tree/walk.js';
import { readValue } from './reduce-on-plateau.js';

// Line searches (optax's scale_by_backtracking_linesearch and scale_by_zoom_linesearch): a
// transformation that receives a direction `d` and returns `t * d` for a step size `t` it finds
// by evaluating `extra.valueFn` along `w + t d`. Every scalar of the search (values, slopes,
// step sizes, the decrease and curvature errors) is a float64 JS number, read back once per
// evaluation; the gradient at the accepted point is kept in the state for the next step
// (see valueAndGradFromState).

/** What one evaluation on the line `w + t d` gives. */
interface Evaluation {
  value: number;
  /** `<grad, d>`, the derivative of `t -> f(w + t d)` (NaN when no gradient was computed). */
  slope: number;
  /** The gradient at `w + t d` (owned by the search), or `null` when not computed. */
  grad: Updates | null;
}

/** The extra arguments a line search needs, checked, with `value` read as a number. */
interface LineInputs {
  value: number;
  grad: Updates;
  valueFn: (params: Params) => tf.Scalar | number;
}

/** Reads and checks `extra.value`, `extra.grad` and `extra.valueFn`, naming a missing one. */
function lineInputs(owner: string, updates: Updates, params: Params | undefined, extra: ExtraArgs | undefined): LineInputs & { params: Params } {
  if (params === undefined) throw missingParams(owner);
  const call = 'call update(direction, state, params, { value, grad, valueFn })';
  for (const field of ['value', 'grad', 'valueFn'] as const) {
    if (extra?.[field] === undefined || extra[field] === null) {
      throw new Error(
        `${owner}: needs extra.${field} (${field === 'value' ? 'the loss at params' : field === 'grad' ? 'its gradient at params' : 'a function computing the loss at any params'}); ${call}` +
          (extra === undefined ? ' (no extra argument was given)' : ''),
      );
    }
  }
  const { grad, valueFn } = extra as Required<ExtraArgs>;
  if (typeof valueFn !== 'function') throw new TypeError(`${owner}: extra.valueFn must be a function (params) => loss, got ${describeNode(valueFn)}`);
  checkFloatTrees(owner, ['updates', 'params', 'extra.grad'], [updates, params, grad]);
  const value = readValue(owner, extra);
  return { value, grad, valueFn, params };
}

/** `d * t`, leaf by leaf: the same op whether it makes a trial point or the returned update. */
function scaledDirection(owner: string, direction: Updates, t: number): Updates {
  return tidy(() => {
    const ts = tf.scalar(t);
    return mapFloatLeaves(owner, ['updates'], [direction], (d) => tf.mul(d, ts));
  });
}

/** The loss as a scalar tensor (the gradient needs one), or an error naming `extra.valueFn`. */
function lossTensor(owner: string, loss: unknown): tf.Scalar {
  if (isTensor(loss) && loss.size === 1) return (loss.rank === 0 ? loss : tf.reshape(loss, [])) as tf.Scalar;
  throw new TypeError(
    `${owner}: extra.valueFn must return the loss as a one-element tensor computed with tf ops from its argument ` +
      `(its gradient is taken), got ${describeNode(loss)}`,
  );
}

/**
 * Evaluates the loss at `w + t d` and, if `withGrad`, its gradient and the slope `<grad, d>`:
 * one read-back for the value and the slope together. The trial point is freed.
 */
function evaluate(owner: string, inputs: LineInputs & { params: Params }, direction: Updates, t: number, withGrad: boolean): Evaluation {
  const step = scaledDirection(owner, direction, t);
  const point = tidy(() => mapFloatLeaves(owner, ['params', 'updates'], [inputs.params, step], (w, u) => tf.add(w, u)));
  tf.dispose(step as tf.TensorContainer);
  try {
    if (!withGrad) {
      const loss = tf.tidy(() => {
        const v = inputs.valueFn(point);
        return typeof v === 'number' ? tf.scalar(v) : lossTensor(owner, v);
      });
      const value = loss.dataSync()[0];
      loss.dispose();
      return { value, slope: NaN, grad: null };
    }
    const [leaves, def] = treeFlatten(point);
    const { value: loss, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => lossTensor(owner, inputs.valueFn(def.unflatten(xs))))(leaves);
    const grad = def.unflatten(grads);
    const { dots, extra } = readDots([[grad, direction]], [loss]);
    loss.dispose();
    return { value: extra[0], slope: dots[0], grad };
  } finally {
    tf.dispose(point as tf.TensorContainer);
  }
}

// ---------------------------------------------------------------------------------------------
// Backtracking

/**
 * Options of {@link scaleByBacktrackingLinesearch}.
 * @group Transform options and states
 */
export interface ScaleByBacktrackingLinesearchOptions {
  /** Most step-size reductions per update, a whole number >= 0 (required, as in optax). */
  maxBacktrackingSteps: number;
  /** `c` in the sufficient-decrease condition, in [0, 1). Default `1e-4`. */
  slopeRtol?: number;
  /** Multiplies the step size after each rejected trial, in (0, 1). Default `0.8`. */
  decreaseFactor?: number;
  /** The first trial is `min(increaseFactor * lastStepsize, maxLearningRate)`, >= 1 (Infinity allowed). Default `1.5`. */
  increaseFactor?: number;
  /** The largest step size tried, > 0. Default `1`. */
  maxLearningRate?: number;
  /** Absolute slack `epsilon` of the condition, >= 0. Default `0`. */
  atol?: number;
  /** Relative slack `delta` of the condition, >= 0. Default `0`. */
  rtol?: number;
  /** Compute the gradient at each trial and keep the accepted one in the state. Default `false`. */
  storeGrad?: boolean;
}

/**
 * State of {@link scaleByBacktrackingLinesearch}.
 * @group Transform options and states
 */
export interface ScaleByBacktrackingLinesearchState {
  /** The step size of the last update (1 before the first). optax's `learning_rate`. */
  stepsize: number;
  /** The loss at the accepted point (Infinity before the first update). */
  value: number;
  /** The gradient at the accepted point (`storeGrad`), else `null`. */
  grad: Updates;
  /** Evaluations the last search made. */
  numLinesearchSteps: number;
  /** How far the accepted step misses the condition (0: satisfied; Infinity: non-finite loss, no step). */
  decreaseError: number;
}

/**
 * A backtracking line search for a sufficient decrease (Armijo's condition; Nocedal & Wright,
 * Algorithm 3.1): scales the incoming direction `d` by the first step size `t` in
 * `t0, t0 * decreaseFactor, t0 * decreaseFactor^2, ...` with
 *
 *     f(w + t d) <= (1 + rtol) f(w) + slopeRtol * t * <d, grad f(w)> + atol,
 *
 * starting from `t0 = min(increaseFactor * t_prev, maxLearningRate)` (`t_prev` the last update's
 * step size, 1 at first). It tries at most `maxBacktrackingSteps + 1` step sizes; if none
 * passes, the last one is used anyway, and if the loss there is not finite, the step is 0.
 * `d` must be a descent direction (`<d, grad> < 0`), e.g. `-grad` after `sgd(1)` or `scale(-1)`.
 *
 * `update(direction, state, params, { value, grad, valueFn })`: `value` and `grad` are the loss
 * and its gradient at `params`, `valueFn(params)` the loss anywhere (a missing field is an
 * `Error` naming it). With `storeGrad: true`, `valueFn` must return a scalar tensor built with tf
 * ops from its argument: its gradient is taken at each trial (value and gradient in one pass,
 * since the first trial is usually accepted) and the accepted point's is kept in the state, for
 * {@link valueAndGradFromState}. Otherwise it may return a number.
 *
 * Defaults: `slopeRtol = 1e-4, decreaseFactor = 0.8, increaseFactor = 1.5, maxLearningRate = 1,
 * atol = 0, rtol = 0, storeGrad = false`; `maxBacktrackingSteps` is required. State:
 * `{ stepsize, value, grad, numLinesearchSteps, decreaseError }`.
 *
 * Where it differs from optax: the step size is `stepsize` in the state (optax: `learning_rate`,
 * which would make `getHyperparam(state, 'learningRate')` ambiguous in a chain with a learning
 * rate), and the info fields sit at the top of the state; no `verbose` option.
 * @group Transforms
 */
export function scaleByBacktrackingLinesearch(options: ScaleByBacktrackingLinesearchOptions): GradientTransformation<ScaleByBacktrackingLinesearchState> {
  const owner = 'scaleByBacktrackingLinesearch';
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new TypeError(`${owner}: expected an options object with 'maxBacktrackingSteps'`);
  }
  checkOptions(owner, options, ['maxBacktrackingSteps', 'slopeRtol', 'decreaseFactor', 'increaseFactor', 'maxLearningRate', 'atol', 'rtol', 'storeGrad']);
  const maxSteps = checkInteger(owner, 'maxBacktrackingSteps', options.maxBacktrackingSteps, 0);
  const slopeRtol = checkNumber(owner, 'slopeRtol', options.slopeRtol ?? 1e-4, { min: 0, max: 1, maxInclusive: false });
  const decreaseFactor = checkNumber(owner, 'decreaseFactor', options.decreaseFactor ?? 0.8, { min: 0, max: 1, minInclusive: false, maxInclusive: false });
  const increaseFactor = options.increaseFactor === Infinity ? Infinity : checkNumber(owner, 'increaseFactor', options.increaseFactor ?? 1.5, { min: 1 });
  const maxLearningRate = checkNumber(owner, 'maxLearningRate', options.maxLearningRate ?? 1, { min: 0, minInclusive: false });
  const atol = checkNumber(owner, 'atol', options.atol ?? 0, { min: 0 });
  const rtol = checkNumber(owner, 'rtol', options.rtol ?? 0, { min: 0 });
  const storeGrad = checkBoolean(owner, 'storeGrad', options.storeGrad ?? false);

  const decreaseError = (t: number, slope: number, value: number, newValue: number): number => {
    const e = newValue - (1 + rtol) * value - t * slopeRtol * slope;
    return Number.isNaN(e) ? Infinity : Math.max(e, 0);
  };

  return declareState<ScaleByBacktrackingLinesearchState>(
    owner,
    { stepsize: 'number', value: 'number', grad: 'tree', numLinesearchSteps: 'count', decreaseError: 'number' },
    {
      init: (params) => ({
        stepsize: 1,
        value: Infinity,
        grad: storeGrad ? stateLike(owner, params) : null,
        numLinesearchSteps: 0,
        decreaseError: Infinity,
      }),
      update: (updates, state, params, extra) => {
        const inputs = lineInputs(owner, updates, params, extra);
        const slope = readDots([[updates, inputs.grad]]).dots[0];
        let t = Math.min(increaseFactor * state.stepsize, maxLearningRate);
        let error = Infinity;
        let newValue = inputs.value;
        let grad: Updates | null = null;
        let iter = 0;
        try {
          while (!(error <= atol) && iter <= maxSteps) {
            if (iter > 0) t *= decreaseFactor;
            const e = evaluate(owner, inputs, updates, t, storeGrad);
            if (grad !== null) tf.dispose(grad as tf.TensorContainer);
            ({ value: newValue, grad } = e);
            error = decreaseError(t, slope, inputs.value, newValue);
            iter++;
          }
        } catch (err) {
          if (grad !== null) tf.dispose(grad as tf.TensorContainer);
          throw err;
        }
        const stepsize = error === Infinity ? 0 : t;
        const out = scaledDirection(owner, updates, stepsize) as typeof updates;
        return [out, { stepsize, value: newValue, grad: storeGrad ? grad : null, numLinesearchSteps: iter, decreaseError: error }];
      },
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Zoom (strong Wolfe)

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
  return scaleByZoomLinesearchFor('scaleByZoomLinesearch', options);
}

/** {@link scaleByZoomLinesearch} with the caller's name in error messages. @internal */
export function scaleByZoomLinesearchFor(owner: string, options: ScaleByZoomLinesearchOptions): GradientTransformation<ScaleByZoomLinesearchState> {
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

// ---------------------------------------------------------------------------------------------
// Reusing the search's last evaluation

/**
 * The value and gradient that {@link valueAndGradFromState} returns.
 * @group Transform options and states
 */
export interface ValueAndGrad<P extends Params = Params> {
  /** The loss at the params (a JS number). */
  value: number;
  /** Its gradient, shaped like the params: new tensors the caller owns. */
  grad: P;
}

/**
 * Like `valueAndGrad(valueFn)`, but reuses the loss and gradient a line search computed at the
 * point it accepted (optax's `value_and_grad_from_state`): the line search's state (anywhere in
 * `state`: a chain, `lbfgs`) holds them, so for a full-batch objective the next update costs no
 * extra evaluation.
 *
 * ```ts
 * const vg = valueAndGradFromState(loss);
 * for (let i = 0; i < 50; i++) {
 *   const { value, grad } = vg(params, state);
 *   const [updates, next] = tx.update(grad, state, params, { value, grad, valueFn: loss });
 *   ...
 * }
 * ```
 *
 * Before the first update the stored value is Infinity, so the loss and gradient are computed
 * with `valueFn` (which must then return a scalar tensor built with tf ops from its argument).
 * `grad` is always new tensors owned by the caller (copies sharing the state's buffers); `value`
 * is a JS number. Throws an `Error` when `state` holds no line search's value and gradient, more
 * than one, or a backtracking search without `storeGrad: true` (no gradient kept).
 * @group Transforms
 */
export function valueAndGradFromState<P extends Params>(valueFn: (params: P) => tf.Scalar | number): (params: P, state: unknown) => ValueAndGrad<P> {
  const owner = 'valueAndGradFromState';
  if (typeof valueFn !== 'function') throw new TypeError(`${owner}: expected a function (params) => loss, got ${describeNode(valueFn)}`);
  return (params, state) => {
    const found = findLinesearchState(owner, state);
    if (Number.isFinite(found.value)) {
      if (found.grad === null || found.grad === undefined) {
        throw new Error(`${owner}: the line search keeps no gradient in its state; build it with storeGrad: true`);
      }
      checkFloatTrees(owner, ['params', 'state.grad'], [params, found.grad]);
      return { value: found.value, grad: tidy(() => mapFloatLeaves(owner, ['state.grad'], [found.grad], (g) => tf.clone(g))) as P };
    }
    checkFloatTrees(owner, ['params'], [params]);
    const [leaves, def] = treeFlatten(params);
    const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => lossTensor(owner, valueFn(def.unflatten(xs) as P)))(leaves);
    const v = value.dataSync()[0];
    value.dispose();
    return { value: v, grad: def.unflatten(grads) as P };
  };
}

/** The one line-search state (`{ stepsize, value, grad, ... }`) inside `state`. @internal */
export function findLinesearchState(owner: string, state: unknown): { stepsize: number; value: number; grad: Updates } {
  const found: { stepsize: number; value: number; grad: Updates }[] = [];
  const visit = (node: unknown): void => {
    if (isTensor(node)) return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isPlainObject(node)) return;
    if (typeof node.stepsize === 'number' && typeof node.value === 'number' && 'grad' in node) {
      found.push(node as { stepsize: number; value: number; grad: Updates });
      return;
    }
    for (const key of Object.keys(node)) visit(node[key]);
  };
  visit(state);
  if (found.length !== 1) {
    throw new Error(
      `${owner}: expected the state of exactly one line search (scaleByZoomLinesearch, scaleByBacktrackingLinesearch, lbfgs), found ${found.length}`,
    );
  }
  return found[0];
}
