import * as tf from '@tensorflow/tfjs-core';
import { atLeast, leafNorm } from '../internal/leaf-norms.js';
import { mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { checkNumber, checkOptions } from '../internal/options.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../internal/tidy.js';
import type { EmptyState, GradientTransformation } from '../types.js';

/**
 * Options of {@link scaleByTrustRatio}.
 * @group Transform options and states
 */
export interface ScaleByTrustRatioOptions {
  /** Floor for the parameter and update norms, >= 0. Default `0` (no floor). */
  minNorm?: number;
  /** Multiplies the trust ratio, > 0. Default `1`. */
  trustCoefficient?: number;
  /** Added to the update norm in the denominator, >= 0. Default `0`. */
  eps?: number;
}

const TRUST_RATIO_KEYS = ['minNorm', 'trustCoefficient', 'eps'] as const;

/**
 * Rescales each leaf's update by its layer-wise trust ratio, the ratio of the parameter's norm to
 * the update's norm (You et al. 2017, LARS, arXiv:1708.03888; used by `lars`, `lamb`, `fromage`):
 *
 *     pn = max(||p||, minNorm)      un = max(||u||, minNorm)     (L2 norms over the whole leaf)
 *     ratio = pn == 0 or un == 0 ? 1 : trustCoefficient * pn / (un + eps)
 *     u = u * ratio
 *
 * A leaf is one "layer" (a weight matrix or a bias vector). Where either norm is zero (no floor)
 * the ratio is 1, so a zero-initialised parameter still moves, as optax does. The norms are
 * scalar tensors computed per leaf without overflow (see `treeL2Norm`), never read back to JS;
 * the only element-wise op is the final multiplication. Needs `params` in `update`.
 * Defaults: `minNorm = 0, trustCoefficient = 1, eps = 0`. State: `{}`.
 * @group Transforms
 */
export function scaleByTrustRatio(options: ScaleByTrustRatioOptions = {}): GradientTransformation<EmptyState> {
  return scaleByTrustRatioFor('scaleByTrustRatio', options);
}

/** {@link scaleByTrustRatio} with the caller's name in error messages. @internal */
export function scaleByTrustRatioFor(owner: string, options: ScaleByTrustRatioOptions = {}): GradientTransformation<EmptyState> {
  checkOptions(owner, options, TRUST_RATIO_KEYS);
  const minNorm = checkNumber(owner, 'minNorm', options.minNorm ?? 0, { min: 0 });
  const trustCoefficient = checkNumber(owner, 'trustCoefficient', options.trustCoefficient ?? 1, { min: 0, minInclusive: false });
  const eps = checkNumber(owner, 'eps', options.eps ?? 0, { min: 0 });
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state, params) => {
      if (params === undefined) throw missingParams(owner);
      return tidy(() => {
        const minS = tf.scalar(minNorm);
        const coefficient = tf.scalar(trustCoefficient);
        const epsS = tf.scalar(eps);
        const zero = tf.scalar(0);
        const one = tf.scalar(1);
        const out = mapFloatLeaves(owner, ['updates', 'params'], [updates, params], (u, p) => {
          const pn = atLeast(leafNorm(p), minS);
          const un = atLeast(leafNorm(u), minS);
          const ratio = tf.div(tf.mul(coefficient, pn), eps === 0 ? un : tf.add(un, epsS));
          const degenerate = tf.logicalOr(tf.equal(pn, zero), tf.equal(un, zero));
          return tf.mul(u, tf.where(degenerate, one, ratio));
        });
        return [out, state];
      }) as [typeof updates, EmptyState];
    },
  });
}
