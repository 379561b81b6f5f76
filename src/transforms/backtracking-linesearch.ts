import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Updates } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions } from '../internal/options.js';
import { declareState } from '../internal/state.js';
import { readDots } from '../internal/dots.js';
import { evaluate, lineInputs, scaledDirection } from './line-evaluation.js';

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
