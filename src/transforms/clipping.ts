import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import type { EmptyState, GradientTransformation, Updates } from '../types.js';
import { checkFloatTrees, mapFloatLeaves } from '../internal/leaves.js';
import { checkNumber } from '../internal/options.js';
import { globalNormFactor } from '../internal/global-norm.js';
import { declareState } from '../internal/state.js';
import { clipByValueOps } from '../internal/clip-by-value.js';
import { withElementStep, withRecord } from '../internal/record.js';
import type { ElementStep } from '../internal/element-step.js';
import { stepUpdate } from '../kernels/step.js';

/**
 * Clips every element of the updates to `[-maxDelta, maxDelta]`: `u = min(max(g, -maxDelta),
 * maxDelta)`, as `tf.clipByValue` does on the backend at hand, so a NaN element stays NaN on cpu
 * and webgl, and becomes `-maxDelta` on wasm (whose clamp sends NaN to the lower bound).
 * `maxDelta > 0`. State: `{}`.
 * @group Transforms
 */
export function clip(maxDelta: number): GradientTransformation<EmptyState> {
  const owner = 'clip';
  checkNumber(owner, 'maxDelta', maxDelta, { min: 0, minInclusive: false });
  const step: ElementStep<EmptyState> = {
    owner,
    slotNames: [],
    slots: () => [],
    scalars: () => [-maxDelta, maxDelta],
    usesParams: () => false,
    emit: (ops, { u, scalars: [lo, hi] }) => ({ u: clipByValueOps(ops, u, lo, hi), slots: [] }),
    next: (s) => () => s,
  };
  const tx = declareState<EmptyState>(owner, {}, {
    init: () => ({}),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}

/**
 * Rescales the updates so that their global L2 norm (over all leaves together,
 * `norm = sqrt(sum of g^2)`) is at most `maxNorm` (Pascanu et al. 2013, arXiv:1211.5063):
 *
 *     u = g                        if norm <= maxNorm
 *     u = g * (maxNorm / norm)     otherwise
 *
 * The norm stays on the device (no read back to JS) and cannot overflow: it is
 * {@link treeL2Norm}'s, which scales the elements by a power of two before squaring (the fused
 * kernels sum the squares in float64), so updates whose sum of squares exceeds float32's range
 * (an element above ~1.8e19, or many a little below) are still rescaled to norm `maxNorm`.
 * Unchanged updates are multiplied by exactly 1, so they keep their bits.
 *
 * Non-finite updates, as in optax: a NaN element makes the norm NaN, and every element becomes
 * NaN. An infinite element (and no NaN) makes the norm infinite, so the factor is
 * `maxNorm / Infinity = 0`: infinite elements become NaN (`Infinity * 0`) and finite ones, in
 * every leaf, 0 (with their sign). Either way the bad elements stay non-finite, never silently
 * clipped into finite values. `maxNorm > 0`. State: `{}`.
 * @group Transforms
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<EmptyState> {
  const owner = 'clipByGlobalNorm';
  checkNumber(owner, 'maxNorm', maxNorm, { min: 0, minInclusive: false });
  const tx: GradientTransformation<EmptyState> = {
    init: () => ({}),
    update: (updates, state) => {
      checkFloatTrees(owner, ['updates'], [updates]);
      return tidy(() => {
        const factor = globalNormFactor(updates, maxNorm);
        return [mapFloatLeaves(owner, ['updates'], [updates], (g) => tf.mul(g, factor)), state];
      }) as [typeof updates, EmptyState];
    },
  };
  // chain folds the clip into the kernel of the element steps after it.
  return withRecord(declareState(owner, {}, tx), { steps: { clipNorm: maxNorm, parts: [] } });
}

