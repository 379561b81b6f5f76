import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, Updates } from '../types.js';
import { flattenFloatTrees, mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { checkNumber, checkOptions, checkRequired } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { treeL2Norm } from '../tree/math.js';
import type { TreeDef } from '../tree/structure.js';
import { tidy } from '../tree/tidy.js';
import { describeNode } from '../tree/walk.js';

// DoG and DoWG, as optax.contrib.scale_by_dog and scale_by_dowg: SGD whose step size is a ratio
// of tree-wide norms (the distance travelled from the initial parameters over the gradients'),
// so they are not element-wise and run as tf ops. The norms stay on the device as float32
// scalar tensors in the state: no read-back per step.

/** How {@link scaleByDog} sets its first step (optax's `init_step` tags, camelCased). */
type DogInitStep = readonly ['distance' | 'learningRate' | 'heuristic', number];

/**
 * Options of {@link scaleByDog} (and of `dog`).
 * @group Transform options and states
 */
export interface ScaleByDogOptions {
  /**
   * How the first step is set, `[tag, value]` with `value > 0`: `['distance', r]` starts the
   * distance estimate at `r` (the paper's `r_eps`); `['learningRate', eta]` makes the first step
   * size `eta` (the estimate starts at 0); `['heuristic', alpha]` starts it at
   * `alpha * (1 + ||x0||)` (the authors suggest `alpha = 1e-6`, `1e-4` with batch normalisation).
   * Required for `scaleByDog`; `dog` defaults it to `['heuristic', 1e-6]`.
   */
  initStep?: readonly ['distance' | 'learningRate' | 'heuristic', number];
  /** Added to the sum of squared gradient norms under the square root, >= 0. Default `1e-8`. */
  eps?: number;
}

/**
 * State of {@link scaleByDog} (optax's `DoGState`).
 * @group Transform options and states
 */
export interface ScaleByDogState {
  /** `true` until the first update (whose step is `initStep`'s with `'learningRate'`). */
  isInitStep: boolean;
  /** The parameters at `init`, `x0`. */
  initParams: Params;
  /** The largest distance `||x - x0||` seen (starting at `r_eps`), a float32 scalar tensor. */
  maxDist: tf.Scalar;
  /** The sum of the squared global norms of the gradients so far, a float32 scalar tensor. */
  sumSqNormGrads: tf.Scalar;
}

const DOG_TAGS = ['distance', 'learningRate', 'heuristic'] as const;

/** Checks the `initStep` option: a pair of a known tag and a number > 0. */
function checkInitStep(owner: string, value: unknown): DogInitStep {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') {
    throw new TypeError(`${owner}: option 'initStep' must be a pair [tag, value] such as ['heuristic', 1e-6], got ${describeNode(value)}`);
  }
  const tag = value[0];
  if (!(DOG_TAGS as readonly string[]).includes(tag)) {
    const hint = tag === 'learning_rate' ? " (optax's 'learning_rate' is 'learningRate' here)" : '';
    throw new RangeError(`${owner}: option 'initStep' must start with 'distance', 'learningRate' or 'heuristic', got ${JSON.stringify(tag)}${hint}`);
  }
  checkNumber(owner, 'initStep', value[1], { min: 0, minInclusive: false });
  return [tag as DogInitStep[0], value[1] as number];
}

/** A copy of the parameters given to `init` (the state keeps them; the caller may free theirs). */
function initialParams(owner: string, params: Params): Params {
  return tidy(() => mapFloatLeaves(owner, ['params'], [params], (x) => tf.clone(x)));
}

/**
 * The leaves of the updates, their structure, and the global distance of the params from the
 * initial ones (`||x0 - x||`, or its square, a scalar tensor), after the checks of every tree. The
 * norms are `treeL2Norm`'s: optax's plain float32 sums where those neither overflow nor
 * underflow, and leaves without elements add nothing. Call it inside a tidy.
 */
function leavesAndDistance(owner: string, updates: Updates, params: Params, initParams: Params, squared: boolean): [tf.Tensor[], TreeDef, tf.Scalar] {
  const [[gs, ps, p0s], def] = flattenFloatTrees(owner, ['updates', 'params', 'state.initParams'], [updates, params, initParams]);
  return [gs, def, treeL2Norm(ps.map((p, i) => tf.sub(p0s[i], p)), { squared })];
}

/**
 * Rescales updates by DoG, Distance over Gradients (Ivgi, Hinder & Carmon 2023, "DoG is SGD's
 * Best Friend: A Parameter-Free Dynamic Step Size Schedule", ICML, arXiv:2302.12022), as optax
 * contrib: the update is `eta * g` with one step size for the whole tree,
 *
 *     maxDist = max(maxDist, ||x - x0||)            (starts at r_eps, see initStep)
 *     sumSqNormGrads = sumSqNormGrads + ||g||^2
 *     eta = maxDist / sqrt(sumSqNormGrads + eps)    (initStep 'learningRate': its value on the first update)
 *
 * where the norms are global (over every leaf, `treeL2Norm`) and `x0` the parameters at `init`.
 * The distances and sums are float32 scalar tensors in the state, so an update reads nothing
 * back; the norms make it composite on every backend. The authors recommend averaging the
 * iterates (`averageParams`). Needs `params`, and the real parameters at `init`. `initStep` is
 * required, as in optax; `eps = 1e-8`. State: `{ isInitStep, initParams, maxDist, sumSqNormGrads }`.
 * @group Transforms
 */
export function scaleByDog(options: ScaleByDogOptions): GradientTransformation<ScaleByDogState> {
  const owner = ownerOr('scaleByDog');
  checkRequired(owner, options, ['initStep'], ['initStep', 'eps']);
  const [tag, value] = checkInitStep(owner, options.initStep);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const layout = { isInitStep: 'flag', initParams: 'tree', maxDist: 'nonNegativeTree', sumSqNormGrads: 'nonNegativeTree' } as const;
  return declareState<ScaleByDogState>(owner, layout, {
    init: (params) => {
      const initParams = initialParams(owner, params);
      const maxDist = tidy(() =>
        tag === 'heuristic' ? tf.mul(tf.scalar(value), tf.add(tf.scalar(1), treeL2Norm(initParams))) : tf.scalar(tag === 'distance' ? value : 0),
      ) as tf.Scalar;
      return { isInitStep: true, initParams, maxDist, sumSqNormGrads: tf.scalar(0) };
    },
    update: <U extends Updates>(updates: U, state: ScaleByDogState, params?: Params): [U, ScaleByDogState] => {
      if (params === undefined) throw missingParams(owner);
      return tidy(() => {
        const [gs, def, dist] = leavesAndDistance(owner, updates, params, state.initParams, false);
        const maxDist = tf.maximum(state.maxDist, dist) as tf.Scalar;
        const sumSqNormGrads = tf.add(state.sumSqNormGrads, treeL2Norm(gs, { squared: true })) as tf.Scalar;
        const eta =
          state.isInitStep && tag === 'learningRate' ? tf.scalar(value) : tf.div(maxDist, tf.sqrt(tf.add(sumSqNormGrads, tf.scalar(eps))));
        const next: ScaleByDogState = { isInitStep: false, initParams: state.initParams, maxDist, sumSqNormGrads };
        return [def.unflatten(gs.map((g) => tf.mul(eta, g))) as U, next];
      });
    },
  });
}

/**
 * Options of {@link scaleByDowg} (and of `dowg`).
 * @group Transform options and states
 */
export interface ScaleByDowgOptions {
  /** The initial estimate of the squared distance to the solution, > 0. Default: `eps`. */
  initEstimSqDist?: number;
  /** Added to the denominator of the step size, and the default initial estimate, > 0. Default `1e-4`. */
  eps?: number;
}

/**
 * State of {@link scaleByDowg} (optax's `DoWGState`).
 * @group Transform options and states
 */
export interface ScaleByDowgState {
  /** The parameters at `init`, `x0`. */
  initParams: Params;
  /** The sum of the squared gradient norms, each weighted by the estimate of its step, a float32 scalar tensor. */
  weightedSqNormGrads: tf.Scalar;
  /** The estimate of the squared distance to the solution (the largest `||x - x0||^2` seen), a float32 scalar tensor. */
  estimSqDist: tf.Scalar;
}

/**
 * Rescales updates by DoWG, Distance over Weighted Gradients (Khaled, Mishchenko & Jin 2023,
 * "DoWG Unleashed: An Efficient Universal Parameter-Free Gradient Descent Method", NeurIPS,
 * arXiv:2305.16284), as optax contrib: the update is `eta * g` with one step size for the whole
 * tree,
 *
 *     estimSqDist = max(estimSqDist, ||x - x0||^2)
 *     weightedSqNormGrads = estimSqDist * ||g||^2 + weightedSqNormGrads
 *     eta = estimSqDist / (sqrt(weightedSqNormGrads) + eps)
 *
 * where the norms are global (over every leaf, `treeL2Norm`) and `x0` the parameters at `init`.
 * The estimates are float32 scalar tensors in the state (no read-back per step); the norms make
 * it composite on every backend. Needs `params`, and the real parameters at `init`. Defaults:
 * `eps = 1e-4`, `initEstimSqDist = eps`. State: `{ initParams, weightedSqNormGrads, estimSqDist }`.
 * @group Transforms
 */
export function scaleByDowg(options: ScaleByDowgOptions = {}): GradientTransformation<ScaleByDowgState> {
  const owner = ownerOr('scaleByDowg');
  checkOptions(owner, options, ['initEstimSqDist', 'eps']);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-4, { min: 0, minInclusive: false });
  const initEstimSqDist = checkNumber(owner, 'initEstimSqDist', options.initEstimSqDist ?? eps, { min: 0, minInclusive: false });
  const layout = { initParams: 'tree', weightedSqNormGrads: 'nonNegativeTree', estimSqDist: 'nonNegativeTree' } as const;
  return declareState<ScaleByDowgState>(owner, layout, {
    init: (params) => ({ initParams: initialParams(owner, params), weightedSqNormGrads: tf.scalar(0), estimSqDist: tf.scalar(initEstimSqDist) }),
    update: <U extends Updates>(updates: U, state: ScaleByDowgState, params?: Params): [U, ScaleByDowgState] => {
      if (params === undefined) throw missingParams(owner);
      return tidy(() => {
        const [gs, def, distSq] = leavesAndDistance(owner, updates, params, state.initParams, true);
        const estimSqDist = tf.maximum(state.estimSqDist, distSq) as tf.Scalar;
        const weightedSqNormGrads = tf.add(tf.mul(estimSqDist, treeL2Norm(gs, { squared: true })), state.weightedSqNormGrads) as tf.Scalar;
        const eta = tf.div(estimSqDist, tf.add(tf.sqrt(weightedSqNormGrads), tf.scalar(eps)));
        const next: ScaleByDowgState = { initParams: state.initParams, weightedSqNormGrads, estimSqDist };
        return [def.unflatten(gs.map((g) => tf.mul(eta, g))) as U, next];
      });
    },
  });
}
