import * as tf from '@tensorflow/tfjs-core';
import { HyperRate } from '../internal/hyper.js';
import { checkFloatTrees, flattenFloatTrees, mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { checkNumber, checkRequired, checkTransformation } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { Scratch } from '../internal/scratch.js';
import { declareState, subState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { findStatesWithFields, type FoundState } from '../internal/find-state.js';
import { describeNode, formatPath } from '../tree/walk.js';
import type { GradientTransformation, Params, ScalarOrSchedule, StateOf } from '../types.js';

/**
 * State of {@link scheduleFree} (optax's `ScheduleFreeState`, in camelCase, plus the learning
 * rate). The parameters the user holds are `y`; `z` is here; the evaluation point `x` is not
 * stored but recovered from the two (see {@link scheduleFreeEvalParams}).
 * @group Wrappers and combinators
 */
export interface ScheduleFreeState<S = unknown> {
  /** Updates done (optax's `step_count`, which starts at 1, is `count + 1`). */
  count: number;
  /** The learning rate the next update weighs its average with (`schedule(count)` for a schedule). */
  learningRate: number;
  /** The interpolation between `x` and `z`, the value the next update uses (optax keeps it here too). */
  b1: number;
  /** The sum of the averaging weights so far, `sum_i maxLr_i^weightLrPower` (a float64 JS number). */
  weightSum: number;
  /** The largest learning rate used so far (0 before the first update). */
  maxLr: number;
  /** The base optimizer's state. */
  baseOptimizerState: S;
  /** The base optimizer's iterate `z`, a tree like the parameters. */
  z: Params;
}

/**
 * Options of {@link scheduleFree}.
 * @group Wrappers and combinators
 */
export interface ScheduleFreeOptions {
  /**
   * The learning rate (a number >= 0 or a schedule), the one the base optimizer uses: it sets
   * the averaging weights. A schedule should warm up but not decay.
   */
  learningRate: ScalarOrSchedule;
  /** Interpolation `y = (1 - b1) z + b1 x`, in (0, 1]. Default `0.9`. */
  b1?: number;
  /** Exponent of the averaging weights `maxLr^weightLrPower`, >= 0. Default `2`. */
  weightLrPower?: number;
}

/** The fields of a schedule-free state, to recognise one inside a larger state. */
const FIELDS = ['b1', 'baseOptimizerState', 'count', 'learningRate', 'maxLr', 'weightSum', 'z'];

/**
 * Schedule-free learning (Defazio et al. 2024, "The Road Less Scheduled", arXiv:2405.15682), as
 * optax's `contrib.schedule_free`: the base optimizer's momentum is replaced by interpolation and
 * averaging, so that a constant learning rate (after a warmup) does as well as a tuned decay.
 * The base optimizer should have no momentum of its own (`adam(lr, { b1: 0 })`, `sgd(lr)`) and
 * the same learning rate as given here.
 *
 *     const tx = scheduleFree(sgd(0.1), { learningRate: 0.1 });
 *     // train as usual; evaluate at scheduleFreeEvalParams(state, params)
 *
 * With `y` the parameters the user holds (where gradients are taken), `z` the base optimizer's
 * iterate and `x` the average (the evaluation point), one update with learning rate `lr` and
 * base updates `u = base(g)`:
 *
 *     maxLr   = max(maxLr, lr)
 *     w       = maxLr^weightLrPower,   weightSum += w,   c = w / weightSum   (0 while weightSum is 0)
 *     x       = (y - (1 - b1) z) / b1                      the previous average, recovered
 *     z'      = z + u
 *     x'      = (1 - c) x + c z'
 *     y'      = b1 x' + (1 - b1) z'
 *     updates = y' - y
 *
 * so that `y' = y + updates`. For SGD this is `z' = z - lr g(y)` and `x'` the weighted mean of
 * the `z`s. `init` sets `z = y` (a copy), `weightSum = maxLr = 0`. The scalars (`maxLr`, `w`,
 * `weightSum`, `c`) are JS numbers in float64; `c` is NaN when `w` or `weightSum` is, as in optax.
 *
 * Defaults: `b1 = 0.9, weightLrPower = 2` (optax's). State: `{ count, learningRate, b1, weightSum,
 * maxLr, baseOptimizerState, z }`.
 *
 * Where this differs from optax, and why:
 * - A schedule is evaluated at `count`, the updates done before this one (0 first), as every
 *   schedule in this library and the base optimizer's are; optax evaluates it at `step_count`,
 *   which starts at 1, so its averaging weights run one step ahead of the rate its base
 *   optimizer steps with (with a warmup from 0, its first step has weight `lr(1) > 0` but moves
 *   `z` by `lr(0) = 0`). Here the weight and the step use the same rate, as in the authors'
 *   PyTorch code. A constant rate gives the same results either way.
 * - `learningRate` is in the state as the value the next update uses, like every rate in this
 *   library; `maxLr` is the largest of the values used, so a rate set with `setHyperparam`
 *   counts towards it from its update on. `setHyperparam(state, 'learningRate', v)` sets this
 *   rate only (the averaging weights); the base optimizer keeps its own copy, at
 *   `baseOptimizerState...learningRate` (`scheduleFreeAdamw` and `scheduleFreeSgd` keep the two
 *   in step; or build with `injectHyperparams` to change both).
 * - The update and {@link scheduleFreeEvalParams} both read `b1` from the state (optax's update
 *   reads the option, its eval function the state), so a value injected or set is used by both.
 * - No `stateDtype` option: states are float32, as the parameters.
 * @group Wrappers and combinators
 */
export function scheduleFree<T extends GradientTransformation<any>>(
  baseOptimizer: T,
  options: ScheduleFreeOptions,
): GradientTransformation<ScheduleFreeState<StateOf<T>>> {
  return scheduleFreeSynced(baseOptimizer, options);
}

/**
 * {@link scheduleFree} with `syncBase`, which gives the base state the rate the wrapper is about
 * to use before each update: `scheduleFreeSgd` and `scheduleFreeAdamw` keep one learning rate for
 * the user, and their base optimizer's copy follows it. Internal because the hook reaches into
 * a base state whose layout only those optimizers know; the public factory has no place for it.
 * @internal
 */
export function scheduleFreeSynced<S>(
  baseOptimizer: GradientTransformation<S>,
  options: ScheduleFreeOptions,
  syncBase?: (baseState: S, learningRate: number) => S,
): GradientTransformation<ScheduleFreeState<S>> {
  const owner = ownerOr('scheduleFree');
  checkTransformation(owner, baseOptimizer, 'a base optimizer');
  checkRequired(owner, options, ['learningRate'], ['learningRate', 'b1', 'weightLrPower']);
  const lr = new HyperRate(owner, 'learningRate', options.learningRate);
  const b1 = new HyperRate(owner, 'b1', checkInterpolation(owner, 'b1', options.b1 ?? 0.9));
  const power = checkNumber(owner, 'weightLrPower', options.weightLrPower ?? 2, { min: 0 });
  type State = ScheduleFreeState<S>;

  return declareState<State>(
    owner,
    {
      count: 'count',
      learningRate: lr,
      b1,
      weightSum: 'number',
      maxLr: 'number',
      baseOptimizerState: subState(baseOptimizer),
      z: 'tree',
    },
    {
      init: (params) => {
        checkFloatTrees(owner, ['params'], [params]);
        const baseOptimizerState = baseOptimizer.init(params);
        // A copy, so that z stays the same when the parameters are written in place.
        const z = tidy(() => mapFloatLeaves(owner, ['params'], [params], (p) => tf.clone(p)));
        return { count: 0, learningRate: lr.at(0), b1: b1.at(0), weightSum: 0, maxLr: 0, baseOptimizerState, z };
      },
      update: (updates, state, params, extra) => {
        const beta = checkInterpolation(owner, 'state.b1', state.b1, true);
        if (params === undefined) throw missingParams(owner);
        checkFloatTrees(owner, ['updates', 'params', 'state.z'], [updates, params, state.z]);
        const rate = state.learningRate;
        const maxLr = Math.max(state.maxLr, rate);
        const weight = maxLr ** power;
        const weightSum = state.weightSum + weight;
        const c = averagingWeight(weight, weightSum);
        const nextRate = lr.next(rate, state.count);
        const baseState = syncBase ? syncBase(state.baseOptimizerState, rate) : state.baseOptimizerState;
        return tidy(() => {
          const [baseUpdates, nextBase] = baseOptimizer.update(updates, baseState, params, extra);
          const [[y, z, u], def] = flattenFloatTrees(owner, ['params', 'state.z', 'base optimizer updates'], [params, state.z, baseUpdates]);
          const b1S = tf.scalar(beta);
          const oneMinusB1 = tf.scalar(1 - beta);
          const cS = tf.scalar(c);
          const oneMinusC = tf.scalar(1 - c);
          const out: tf.Tensor[] = [];
          const zNext: tf.Tensor[] = [];
          for (let i = 0; i < y.length; i++) {
            const s = new Scratch();
            const z1 = s.keep(s.add(z[i], u[i]));
            const x = s.div(s.sub(y[i], s.mul(oneMinusB1, z[i])), b1S);
            const x1 = s.add(s.mul(oneMinusC, x), s.mul(cS, z1));
            const y1 = s.add(s.mul(b1S, x1), s.mul(oneMinusB1, z1));
            out.push(s.sub(y1, y[i]));
            zNext.push(z1);
          }
          const next: State = {
            count: state.count + 1,
            learningRate: nextRate,
            b1: state.b1,
            weightSum,
            maxLr,
            baseOptimizerState: nextBase,
            z: def.unflatten(zNext) as Params,
          };
          return [def.unflatten(out), next];
        }) as [typeof updates, State];
      },
    },
  );
}

/**
 * `w / weightSum` as optax computes it: NaN if either is NaN, 0 for `0 / 0` (no rate above 0
 * yet, e.g. the first step of a warmup from 0).
 */
function averagingWeight(weight: number, weightSum: number): number {
  if (Number.isNaN(weight) || Number.isNaN(weightSum)) return NaN;
  const c = weight / weightSum;
  return Number.isNaN(c) ? 0 : c;
}

/** Checks `b1` in (0, 1]: it is divided by, and 1 makes `y = x`. */
function checkInterpolation(owner: string, name: string, value: unknown, inState = false): number {
  if (!inState) return checkNumber(owner, name, value, { min: 0, minInclusive: false, max: 1 });
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new RangeError(`${owner}: ${name} must be a number in (0, 1], got ${describeNode(value)}`);
  }
  return value;
}

/**
 * The evaluation parameters `x` of a schedule-free optimizer (optax's
 * `schedule_free_eval_params`): the average the method converges with, recovered from the
 * parameters `y` the user holds and `z` in the state,
 *
 *     x = (y - (1 - b1) z) / b1
 *
 * with the `b1` in the state (the one the last update used). Returns new tensors; nothing is
 * disposed or changed.
 *
 * `state` is the state of `scheduleFree`, `scheduleFreeAdamw` or `scheduleFreeSgd`, or a state
 * holding exactly one such state (inside a `chain`, `injectHyperparams`, ...).
 *
 * @throws TypeError when `state` holds no schedule-free state, or more than one; the errors of
 * the tree checks when `params` does not match `state.z`.
 * @group Wrappers and combinators
 */
export function scheduleFreeEvalParams<P extends Params>(state: unknown, params: P): P {
  const owner = 'scheduleFreeEvalParams';
  const [found, path] = findScheduleFreeState(owner, state);
  const b1 = checkInterpolation(owner, formatPath([...path, 'b1'], 'state'), found.b1, true);
  const zName = formatPath([...path, 'z'], 'state');
  checkFloatTrees(owner, ['params', zName], [params, found.z as Params]);
  return tidy(() => {
    const b1S = tf.scalar(b1);
    const oneMinusB1 = tf.scalar(1 - b1);
    return mapFloatLeaves(owner, ['params', zName], [params, found.z as Params], (y, z) => {
      const s = new Scratch();
      return s.div(s.sub(y, s.mul(oneMinusB1, z)), b1S);
    });
  }) as P;
}

/** The one schedule-free state in `state` (itself or nested) and its path. */
function findScheduleFreeState(owner: string, state: unknown): FoundState {
  const found = findStatesWithFields(state, FIELDS);
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    throw new TypeError(
      `${owner}: expected the state of scheduleFree, scheduleFreeAdamw or scheduleFreeSgd ` +
        `({${FIELDS.join(', ')}}) or a state holding one, got ${describeNode(state)}`,
    );
  }
  throw new TypeError(
    `${owner}: the state holds ${found.length} schedule-free states, at ${found.map(([, p]) => formatPath(p, 'state')).join(', ')}; pass the one to evaluate`,
  );
}

