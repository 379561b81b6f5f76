import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOps } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// Adamax, Adam with the infinity norm, in optax's operation order. Per-step scalars are JS
// numbers computed in float64.

/**
 * Options of {@link scaleByAdamax} (and of `adamax`).
 * @group Transform options and states
 */
export interface ScaleByAdamaxOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the infinity norm, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to `|g|` before the maximum, so the denominator is never 0. Default `1e-8`. */
  eps?: number;
}

/**
 * State of {@link scaleByAdamax}: step count, first moment and infinity norm.
 * @group Transform options and states
 */
export interface ScaleByAdamaxState {
  /** Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with `t = count + 1`. */
  count: number;
  /** First moment: the moving average of the gradients `mu = (1 - b1) g + b1 mu`, not bias-corrected; zeros after `init`. */
  mu: Params;
  /** Exponentially weighted infinity norm of the gradients. */
  nu: Params;
}

/** The option values of {@link scaleByAdamax}, checked, with defaults filled in. */
function adamaxOptions(owner: string, options: ScaleByAdamaxOptions = {}): Required<ScaleByAdamaxOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
  };
}

/**
 * Rescales updates by Adamax, Adam with the infinity norm (Kingma & Ba 2015, section 7.1).
 * With `t = count + 1`:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = max(|g| + eps, b2 * nu)
 *     u = (mu / (1 - b1^t)) / nu
 *
 * The infinity norm needs no bias correction. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8`.
 * State: `{ count, mu, nu }`, both starting at zero.
 * @group Transforms
 */
export function scaleByAdamax(options: ScaleByAdamaxOptions = {}): GradientTransformation<ScaleByAdamaxState> {
  const owner = ownerOr('scaleByAdamax');
  checkOptions(owner, options, ['b1', 'b2', 'eps']);
  const { b1, b2, eps } = adamaxOptions(owner, options);
  const step: ElementStep<ScaleByAdamaxState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    scalars: (s) => [b1, 1 - b1, b2, eps, biasCorrection(b1, s.count + 1)],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, b2s, epsS, bc1] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, b1s, c1));
      const v1 = ops.keep(ops.max(ops.add(ops.abs(g), epsS), ops.mul(b2s, v)));
      return { u: ops.div(ops.div(m1, bc1), v1), slots: [m1, v1] };
    },
    next: (s) => ([mu, nu]) => ({ count: s.count + 1, mu, nu }),
  };
  const tx = declareState<ScaleByAdamaxState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
