import { checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { Ops } from '../internal/ops.js';
import type { ElementStep, StepInputs } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';
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
  const owner = ownerOr('scaleByTrustRatio');
  checkOptions(owner, options, TRUST_RATIO_KEYS);
  const minNorm = checkNumber(owner, 'minNorm', options.minNorm ?? 0, { min: 0 });
  const trustCoefficient = checkNumber(owner, 'trustCoefficient', options.trustCoefficient ?? 1, { min: 0, minInclusive: false });
  const eps = checkNumber(owner, 'eps', options.eps ?? 0, { min: 0 });
  // The norms are the step's per-leaf inputs: tf ops per leaf on the composite path, a pass
  // before the step on the fused one (see LeafNorm).
  const step: ElementStep<EmptyState> = {
    owner,
    slotNames: [],
    slots: () => [],
    scalars: () => [minNorm, trustCoefficient, eps],
    usesParams: () => true,
    leafNorms: ['params', 'update'],
    emit: <V>(ops: Ops<V>, { u, scalars: [min, coefficient, epsS], norms: [pNorm, uNorm] }: StepInputs<V>) => {
      const atLeast = (norm: V, floor: V) => ops.where(ops.le(norm, floor), floor, norm);
      const pn = ops.keep(atLeast(pNorm, ops.keep(min)));
      const un = ops.keep(atLeast(uNorm, min));
      const ratio = ops.div(ops.mul(coefficient, pn), eps === 0 ? un : ops.add(un, epsS));
      const zero = ops.keep(ops.constant(0));
      const one = ops.keep(ops.constant(1));
      // Either norm zero: the ratio is 1 (a zero-initialised parameter still moves).
      return { u: ops.mul(u, ops.where(ops.eq(pn, zero), one, ops.where(ops.eq(un, zero), one, ratio))), slots: [] };
    },
    next: (s) => () => s,
  };
  return withElementStep(declareState(owner, {}, { init: () => ({}), update: stepUpdate(step) }), step);
}
