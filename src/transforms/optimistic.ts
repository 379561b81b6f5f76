import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';
import { checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';

/**
 * Options of {@link scaleByOptimisticGradient}.
 * @group Transform options and states
 */
export interface ScaleByOptimisticGradientOptions {
  /** Weight of the current gradient, >= 0. Default `1`. */
  alpha?: number;
  /** Weight of the negative momentum (the change since the last gradient), >= 0. Default `1`. */
  beta?: number;
}

/**
 * State of {@link scaleByOptimisticGradient}: optax's `previous_gradient`, and a step count in
 * place of its `is_initial_step` flag (`count === 0`), as every count in this library.
 * @group Transform options and states
 */
export interface ScaleByOptimisticGradientState {
  /** Updates done so far; on the first (`count === 0`) the previous gradient is the current one. */
  count: number;
  /** The last incoming updates (zeros before the first update). */
  previousGradient: Params;
}

/** The options of {@link scaleByOptimisticGradient}, checked, with defaults filled in. */
function optimisticOptions(owner: string, options: ScaleByOptimisticGradientOptions): Required<ScaleByOptimisticGradientOptions> {
  return {
    alpha: checkNumber(owner, 'alpha', options.alpha ?? 1, { min: 0 }),
    beta: checkNumber(owner, 'beta', options.beta ?? 1, { min: 0 }),
  };
}

/**
 * Generalized optimistic gradients (Mokhtari, Ozdaglar & Pattathil 2019, arXiv:1901.08511;
 * Daskalakis et al. 2017, arXiv:1711.00141): a step along the current gradient plus a
 * negative momentum that extrapolates its change, an approximation of the extra-gradient
 * method for saddle-point problems:
 *
 *     u = (alpha + beta) * g - beta * gPrev
 *
 * with `gPrev = g` on the first update (so it is `alpha * g`), as optax does since its issue
 * #1082. Defaults: `alpha = 1, beta = 1` (numbers; optax's transform does not take schedules
 * either). State: `{ count, previousGradient }`.
 * @group Transforms
 */
export function scaleByOptimisticGradient(options: ScaleByOptimisticGradientOptions = {}): GradientTransformation<ScaleByOptimisticGradientState> {
  const owner = ownerOr('scaleByOptimisticGradient');
  checkOptions(owner, options, ['alpha', 'beta']);
  const { alpha, beta } = optimisticOptions(owner, options);
  const step: ElementStep<ScaleByOptimisticGradientState> = {
    owner,
    slotNames: ['state.previousGradient'],
    slots: (s) => [s.previousGradient],
    scalars: () => [alpha, alpha + beta, beta],
    usesParams: () => false,
    // On the first update gPrev = g: (alpha + beta) g - beta g, computed as alpha * g.
    variant: (s) => (s.count === 0 ? 'first' : ''),
    emit: (ops, { u: g, slots: [prev], scalars: [alphaS, both, betaS], variant }) => ({
      u: variant === 'first' ? ops.mul(alphaS, g) : ops.sub(ops.mul(both, g), ops.mul(betaS, prev)),
      slots: [ops.copy(g)],
    }),
    next: (s) => ([previousGradient]) => ({ count: s.count + 1, previousGradient }),
  };
  const tx = declareState<ScaleByOptimisticGradientState>(owner, { count: 'count', previousGradient: 'tree' }, {
    init: (params) => ({ count: 0, previousGradient: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
