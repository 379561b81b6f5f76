import * as tf from '@tensorflow/tfjs-core';
import { atLeast, leafNorm, leafRms } from '../internal/leaf-norms.js';
import { checkFloatTrees, mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkOptions } from '../internal/options.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { treeL2Norm } from '../tree/math.js';
import { checkTrees, formatPath } from '../tree/walk.js';
import type { EmptyState, GradientTransformation } from '../types.js';

// Scalings and clips by norms taken per block (a block is one leaf: a weight matrix, a bias
// vector) or over the whole tree, as optax defines them. Every norm is a tensor computed on the
// device inside the update's tidy; nothing is read back to JS. State: `{}` for all of them.

// ---------------------------------------------------------------------------------------------
// normalizeByUpdateNorm

/**
 * Options of {@link normalizeByUpdateNorm}.
 * @group Transform options and states
 */
export interface NormalizeByUpdateNormOptions {
  /** Multiplies the normalised updates, a finite number other than 0. Default `1`. */
  scaleFactor?: number;
  /** Added to the norm, >= 0. Default `1e-6`. */
  eps?: number;
}

/**
 * Divides the updates by their global L2 norm (over all leaves together), so that the result
 * has norm `|scaleFactor|` (a little less, by `eps`):
 *
 *     u = g / ((||g|| + eps) / scaleFactor)
 *
 * in optax's operation order. The norm is `treeL2Norm`'s (no overflow). With `eps = 0`, all-zero
 * updates give NaN, as in optax. Defaults: `scaleFactor = 1, eps = 1e-6`. State: `{}`.
 * @group Transforms
 */
export function normalizeByUpdateNorm(options: NormalizeByUpdateNormOptions = {}): GradientTransformation<EmptyState> {
  const owner = 'normalizeByUpdateNorm';
  checkOptions(owner, options, ['scaleFactor', 'eps']);
  const scaleFactor = checkNumber(owner, 'scaleFactor', options.scaleFactor ?? 1);
  if (scaleFactor === 0) throw new RangeError(`${owner}: option 'scaleFactor' must be a finite number other than 0, got 0`);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-6, { min: 0 });
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state) => {
      checkFloatTrees(owner, ['updates'], [updates]);
      return tidy(() => {
        const denom = tf.div(tf.add(treeL2Norm(updates), tf.scalar(eps)), tf.scalar(scaleFactor));
        return [mapFloatLeaves(owner, ['updates'], [updates], (g) => tf.div(g, denom)), state];
      }) as [typeof updates, EmptyState];
    },
  });
}

// ---------------------------------------------------------------------------------------------
// clipByBlockRms

/**
 * Clips each leaf's update so that its root mean square is at most `threshold`:
 *
 *     u = g / max(1, rms(g) / threshold),    rms(g) = sqrt(mean(g^2)) over the leaf
 *
 * A leaf already within the threshold is divided by exactly 1 (its bits are kept). An empty leaf
 * passes through. `threshold > 0`. State: `{}`.
 * @group Transforms
 */
export function clipByBlockRms(threshold: number): GradientTransformation<EmptyState> {
  const owner = 'clipByBlockRms';
  checkNumber(owner, 'threshold', threshold, { min: 0, minInclusive: false });
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state) =>
      tidy(() => {
        const one = tf.scalar(1);
        const limit = tf.scalar(threshold);
        const out = mapFloatLeaves(owner, ['updates'], [updates], (g) =>
          g.size === 0 ? g : tf.div(g, tf.maximum(one, tf.div(leafRms(g), limit))),
        );
        return [out, state];
      }) as [typeof updates, EmptyState],
  });
}

// ---------------------------------------------------------------------------------------------
// scaleByParamBlockNorm, scaleByParamBlockRms

/**
 * Options of {@link scaleByParamBlockNorm} and {@link scaleByParamBlockRms}.
 * @group Transform options and states
 */
export interface ScaleByParamBlockOptions {
  /** Floor for the parameter's norm (or RMS), >= 0. Default `1e-3`. */
  minScale?: number;
}

/**
 * Multiplies each leaf's update by the L2 norm of its parameter, floored at `minScale`:
 *
 *     u = g * max(||p||, minScale)      (optax's safe_norm: `||p|| <= minScale ? minScale : ||p||`)
 *
 * Needs `params`. Default `minScale = 1e-3`. State: `{}`.
 * @group Transforms
 */
export function scaleByParamBlockNorm(options: ScaleByParamBlockOptions = {}): GradientTransformation<EmptyState> {
  return paramBlockScaling('scaleByParamBlockNorm', options, leafNorm);
}

/**
 * Multiplies each leaf's update by the root mean square of its parameter, floored at `minScale`:
 *
 *     u = g * max(rms(p), minScale),    rms(p) = sqrt(mean(p^2)) over the leaf
 *
 * Needs `params`. An empty leaf passes through. Default `minScale = 1e-3`. State: `{}`.
 * @group Transforms
 */
export function scaleByParamBlockRms(options: ScaleByParamBlockOptions = {}): GradientTransformation<EmptyState> {
  return paramBlockScaling('scaleByParamBlockRms', options, leafRms);
}

/** Scales each leaf's update by `measure(p)` floored at `minScale`. */
function paramBlockScaling(
  owner: string,
  options: ScaleByParamBlockOptions,
  measure: (p: tf.Tensor) => tf.Scalar,
): GradientTransformation<EmptyState> {
  checkOptions(owner, options, ['minScale']);
  const minScale = checkNumber(owner, 'minScale', options.minScale ?? 1e-3, { min: 0 });
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state, params) => {
      if (params === undefined) throw missingParams(owner);
      return tidy(() => {
        const floor = tf.scalar(minScale);
        const out = mapFloatLeaves(owner, ['updates', 'params'], [updates, params], (g, p) =>
          g.size === 0 ? g : tf.mul(g, atLeast(measure(p), floor)),
        );
        return [out, state];
      }) as [typeof updates, EmptyState];
    },
  });
}

// ---------------------------------------------------------------------------------------------
// adaptiveGradClip

/**
 * Options of {@link adaptiveGradClip}.
 * @group Transform options and states
 */
export interface AdaptiveGradClipOptions {
  /** Floor for the parameters' unit norms, so zero-initialised units can move, >= 0. Default `1e-3`. */
  eps?: number;
  /**
   * The axis or axes over which a unit's norm is taken. Default: by rank, as optax: the whole
   * leaf for scalars and vectors (after dropping size-1 dimensions), axis 0 for rank 2 and 3
   * (linear layers, `[in, out]`), axes 0-2 for rank 4 (HWIO convolutions), 0-3 for rank 5.
   */
  axis?: number | number[];
}

/** The smallest gradient-norm divisor, as optax's `unitwise_clip` (`div_eps`). */
const DIV_EPS = 1e-6;

/**
 * Adaptive gradient clipping (Brock et al. 2021, "High-Performance Large-Scale Image Recognition
 * Without Normalization", arXiv:2102.06171): clips each unit's gradient (a column of a weight
 * matrix, an output channel of a convolution) to at most `clipping` times its parameters' norm:
 *
 *     maxNorm = clipping * max(||p_unit||, eps)
 *     u_unit = ||g_unit|| < maxNorm ? g_unit : g_unit * (maxNorm / max(||g_unit||, 1e-6))
 *
 * The unit norms are taken with `tf.sum` along the unit axes (`sqrt(sum(x^2))`, no overflow
 * guard, as optax). Leaves of rank above 5 need `axis`: without it the update throws an `Error`
 * naming the leaf. Needs `params`. `clipping > 0`; defaults: `eps = 1e-3`, `axis` by rank.
 * State: `{}`.
 * @group Transforms
 */
export function adaptiveGradClip(clipping: number, options: AdaptiveGradClipOptions = {}): GradientTransformation<EmptyState> {
  const owner = 'adaptiveGradClip';
  checkNumber(owner, 'clipping', clipping, { min: 0, minInclusive: false });
  checkOptions(owner, options, ['eps', 'axis']);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-3, { min: 0 });
  const axis = options.axis === undefined ? undefined : checkAxes(owner, options.axis);
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state, params) => {
      if (params === undefined) throw missingParams(owner);
      checkFloatTrees(owner, ['updates', 'params'], [updates, params]);
      checkTrees([updates], { names: ['updates'], owner, checkLeaf: ([g], path) => unitAxes(owner, g as tf.Tensor, axis, path) });
      return tidy(() => {
        const clip = tf.scalar(clipping);
        const floor = tf.scalar(eps);
        const divEps = tf.scalar(DIV_EPS);
        const out = mapFloatLeaves(owner, ['updates', 'params'], [updates, params], (g, p) => {
          // An empty leaf has nothing to clip; tfjs-backend-wasm 4.22's reductions and select
          // over empty tensors read (and its select writes) memory they do not own.
          if (g.size === 0) return tf.clone(g);
          const axes = unitAxes(owner, g, axis, []);
          const gNorm = unitNorm(g, axes);
          const maxNorm = tf.mul(clip, tf.maximum(unitNorm(p, axes), floor));
          const clipped = tf.mul(g, tf.div(maxNorm, tf.maximum(gNorm, divEps)));
          return tf.where(tf.less(gNorm, maxNorm), g, clipped);
        });
        return [out, state];
      }) as [typeof updates, EmptyState];
    },
  });
}

/** `sqrt(sum(x^2))` over `axes` (all of them for `null`), keeping the reduced dimensions. */
function unitNorm(x: tf.Tensor, axes: number[] | null): tf.Tensor {
  return tf.sqrt(tf.sum(tf.square(x), axes ?? undefined, true));
}

/** Checks the `axis` option: a whole number or an array of them. */
function checkAxes(owner: string, axis: unknown): number[] {
  const list = Array.isArray(axis) ? axis : [axis];
  list.forEach((a, i) => checkInteger(owner, Array.isArray(axis) ? `axis[${i}]` : 'axis', a, -Infinity));
  return list as number[];
}

/**
 * The unit axes of a leaf (`null`: all of them), as optax's `unitwise_norm` picks them; an axis
 * outside the leaf's rank, or a rank above 5 without `axis`, is an `Error` naming the path.
 */
function unitAxes(owner: string, x: tf.Tensor, axis: number[] | undefined, path: readonly (string | number)[]): number[] | null {
  const where = () => `${formatPath(path, 'updates')} (shape [${x.shape.join(', ')}])`;
  if (axis !== undefined) {
    for (const a of axis) {
      if (a < -x.rank || a >= x.rank) throw new Error(`${owner}: axis ${a} is outside the rank of ${where()}`);
    }
    return axis.map((a) => (a < 0 ? a + x.rank : a));
  }
  if (x.shape.filter((d) => d !== 1).length <= 1) return null;
  if (x.rank === 2 || x.rank === 3) return [0];
  if (x.rank === 4) return [0, 1, 2];
  if (x.rank === 5) return [0, 1, 2, 3];
  throw new Error(`${owner}: no default unit axes for ${where()}; pass the 'axis' option for leaves of rank above 5`);
}
