import * as tf from '@tensorflow/tfjs-core';
import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkInteger, checkNumber, checkOptions, checkTransformation } from '../internal/options.js';
import { identity, scaleByLearningRate, scale, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByLbfgs, type ScaleByLbfgsOptions, type ScaleByLbfgsState } from '../transforms/lbfgs.js';
import { scaleByZoomLinesearch } from '../transforms/zoom-linesearch.js';
import { findLinesearchState, valueAndGradFromState } from '../transforms/value-and-grad-from-state.js';
import { applyUpdates } from '../combine/apply-updates.js';
import { disposeReplaced } from '../tree/memory.js';
import { readDot } from '../internal/dots.js';
import { mapFloatLeaves } from '../internal/leaves.js';
import { valueAndGrad } from '../tree/grad.js';

// Runs as composite tf ops on every backend (no fused kernel: the work is inner products and
// function evaluations, not an element-wise update).

/**
 * Options of {@link lbfgs}.
 * @group Optimizer options and states
 */
export interface LbfgsOptions extends ScaleByLbfgsOptions {
  /**
   * The line search that picks the step size: any transformation reading `extra`. Default
   * `scaleByZoomLinesearch({ maxLinesearchSteps: 20, initialGuessStrategy: 'one' })`; `null`
   * for none (the step is then `learningRate` times the direction).
   */
  linesearch?: GradientTransformation<any> | null;
}

/**
 * State of {@link lbfgs}: `[scaleByLbfgs state, scale(-1) or learning-rate state, line-search
 * state]`; the last is a `ScaleByZoomLinesearchState` by default, the given line search's state
 * otherwise (`{}` with `linesearch: null`).
 * @group Optimizer options and states
 */
export type LbfgsState = [ScaleByLbfgsState, EmptyState | ScaleByLearningRateState, unknown];

/**
 * L-BFGS (Liu & Nocedal 1989; Nocedal & Wright, Algorithms 7.4 and 7.5) with a line search:
 *
 *     lbfgs(lr, o) = chain(scaleByLbfgs(o), lr == null ? scale(-1) : scaleByLearningRate(lr), o.linesearch)
 *
 * Every update needs the loss, its gradient and a way to evaluate it elsewhere:
 * `update(grad, state, params, { value, grad, valueFn })`, with `valueFn(params)` returning a
 * scalar tensor built with tf ops from its argument (the line search differentiates it). Get
 * `value` and `grad` from {@link valueAndGradFromState}, which reuses the line search's last
 * evaluation, or let {@link minimizeLbfgs} run the loop. Meant for deterministic (full-batch)
 * objectives of small to medium size: the memory holds `2 * memorySize` parameter-sized trees.
 *
 * Defaults: no learning rate (`undefined` or `null`, optax's `None`: the line search sets the
 * step), `memorySize = 10`,
 * `scaleInitPrecond = true`, the zoom (strong Wolfe) line search with at most 20 evaluations
 * starting from step 1 at every update.
 * @group Optimizers
 * @function
 */
export const lbfgs = /* @__PURE__ */ optimizerAlias(function lbfgs(learningRate?: ScalarOrSchedule | null, options: LbfgsOptions = {}): GradientTransformation<LbfgsState> {
  const owner = 'lbfgs';
  checkOptions(owner, options, ['memorySize', 'scaleInitPrecond', 'linesearch']);
  const { linesearch, ...rest } = options;
  if (linesearch !== undefined && linesearch !== null) checkTransformation(owner, linesearch, "option 'linesearch' to be a gradient transformation");
  return asOwner(owner, () =>
    chain<GradientTransformation<any>[]>(
      scaleByLbfgs(rest),
      learningRate === undefined || learningRate === null ? scale(-1) : scaleByLearningRate(learningRate),
      linesearch === undefined ? scaleByZoomLinesearch({ maxLinesearchSteps: 20, initialGuessStrategy: 'one' }) : linesearch ?? identity(),
    ),
  ) as unknown as GradientTransformation<LbfgsState>;
});

/**
 * Options of {@link minimizeLbfgs}.
 * @group Optimizer options and states
 */
export interface MinimizeLbfgsOptions extends LbfgsOptions {
  /** Most L-BFGS updates, a whole number >= 0. Default `100`. */
  maxIterations?: number;
  /** Stop once the gradient's L2 norm is at most this, >= 0. Default `1e-5`. */
  tol?: number;
  /** A learning rate for {@link lbfgs} (default: none, `undefined` or `null`: the line search sets the step). */
  learningRate?: ScalarOrSchedule | null;
}

/**
 * What {@link minimizeLbfgs} returns.
 * @group Optimizer options and states
 */
export interface MinimizeLbfgsResult<P extends Params> {
  /** The final parameters: new tensors owned by the caller. */
  params: P;
  /** The loss there. */
  value: number;
  /** Its gradient's L2 norm there. */
  gradNorm: number;
  /** The L-BFGS updates made. */
  iterations: number;
  /** Whether it stopped because `gradNorm <= tol` (not for lack of iterations or progress). */
  converged: boolean;
}

/**
 * Minimizes a deterministic loss with {@link lbfgs}, running the whole loop (what optax leaves
 * to the user, see optax #1201):
 *
 *     const { params, value, iterations } = minimizeLbfgs(loss, params0, { maxIterations: 50 });
 *
 * Each iteration reuses the loss and gradient the line search computed at the point it accepted
 * ({@link valueAndGradFromState}), so an iteration whose first trial step passes costs one
 * evaluation of the loss and its gradient. Stops when the gradient's norm is at most `tol`
 * (`converged: true`), after `maxIterations` updates, or when the line search can make no
 * progress (a step of 0). `loss(params)` must return a scalar tensor built with tf ops from its
 * argument. `params0` is not changed or disposed; everything else made on the way is freed.
 *
 * Defaults: `maxIterations = 100, tol = 1e-5`, and {@link lbfgs}'s (`memorySize = 10`,
 * `scaleInitPrecond = true`, the zoom line search); `learningRate` and `linesearch` are passed
 * to {@link lbfgs}.
 * @group Optimizers
 */
export function minimizeLbfgs<P extends Params>(loss: (params: P) => tf.Scalar, params: P, options: MinimizeLbfgsOptions = {}): MinimizeLbfgsResult<P> {
  const owner = 'minimizeLbfgs';
  checkOptions(owner, options, ['maxIterations', 'tol', 'learningRate', 'memorySize', 'scaleInitPrecond', 'linesearch']);
  const { maxIterations = 100, tol = 1e-5, learningRate, ...lbfgsOpts } = options;
  checkInteger(owner, 'maxIterations', maxIterations, 0);
  checkNumber(owner, 'tol', tol, { min: 0 });
  const tx = lbfgs(learningRate, lbfgsOpts);
  // Without a line search nothing is stored to reuse: evaluate afresh.
  const fromState = valueAndGradFromState(loss);
  const fresh = valueAndGrad(loss);
  const vg = (p: P, st: unknown): { value: number; grad: Params } => {
    if (options.linesearch !== null) return fromState(p, st);
    const { value: v, grads } = fresh(p);
    const n = v.dataSync()[0];
    v.dispose();
    return { value: n, grad: grads as Params };
  };
  let state = tx.init(params);
  let current: P = params;
  let iterations = 0;
  let value = NaN;
  let gradNorm = NaN;
  let converged = false;
  // Frees what the loop made, never the caller's params.
  const free = (old: unknown[], keep: unknown[]) => disposeReplaced(old, [...keep, params]);
  try {
    for (;;) {
      const { value: v, grad } = vg(current, state);
      value = v;
      gradNorm = Math.sqrt(readDot(grad, grad));
      if (gradNorm <= tol || iterations >= maxIterations) {
        converged = gradNorm <= tol;
        free([grad], []);
        break;
      }
      const [updates, next] = tx.update(grad, state, current, { value: v, grad, valueFn: loss as (p: Params) => tf.Scalar });
      const nextParams = applyUpdates<P>(current, updates as never);
      free([current, state, grad, updates], [nextParams, next]);
      current = nextParams;
      state = next;
      iterations++;
      if (options.linesearch !== null && findLinesearchState(owner, state).stepsize === 0) break;
    }
  } catch (err) {
    free([current, state], []);
    throw err;
  }
  free([state], [current]);
  // The caller owns the result: copies of params0 (sharing its buffers) if no step was made.
  const result = current === params ? (mapFloatLeaves(owner, ['params'], [params], (t) => tf.clone(t)) as P) : current;
  return { params: result, value, gradNorm, iterations, converged };
}
