import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// ACProp, as optax.contrib.scale_by_acprop: the denominator of step t is the second moment of
// the steps before it.

/**
 * Options of {@link scaleByAcprop} (and of `acprop`).
 * @group Transform options and states
 */
export interface ScaleByAcpropOptions {
  /** Decay of the moving average of the gradients, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment of the prediction error, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root, >= 0. Default `1e-16`. */
  eps?: number;
  /** Added to the stored second moment at every step, >= 0. Default `1e-16`. */
  epsRoot?: number;
}

/**
 * State of {@link scaleByAcprop} (optax keeps it in a `ScaleByBeliefState`).
 * @group Transform options and states
 */
export interface ScaleByAcpropState {
  /** Updates done so far (a JS number, `0` after `init`). */
  count: number;
  /** Moving average of the gradients. */
  mu: Params;
  /** Moving average of `(g - mu)^2` (with the `mu` of the step before), plus `epsRoot` once per step. */
  nu: Params;
}

const ACPROP_KEYS = ['b1', 'b2', 'eps', 'epsRoot'];

/**
 * Rescales updates by ACProp (Zhuang et al. 2021, "Momentum Centering and Asynchronous Update
 * for Adaptive Gradient Methods", NeurIPS, arXiv:2110.05454), as optax contrib: an asynchronous
 * AdaBelief whose denominator at step `t` holds only the gradients of the steps before. With
 * `k = count` and `mu`, `nu` the state before this update:
 *
 *     u = g / (sqrt(nu / (1 - b2^k)) + eps)        (k = 0: u = g / (1 + eps))
 *     nu = (1 - b2) * (g - mu)^2 + b2 * nu + epsRoot
 *     mu = (1 - b1) * g + b1 * mu
 *
 * This is what optax 0.2.8's code computes: the numerator is the gradient itself, and the
 * prediction error is taken from the previous mean (optax's docstring writes `g_t - m_t`, its
 * code `g_t - m_{t-1}`), so `mu` only enters the next steps' `nu`. The first update has no
 * second moment yet and divides by `1 + eps`. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-16,
 * epsRoot = 1e-16`. State: `{ count, mu, nu }`, both starting at zero.
 * @group Transforms
 */
export function scaleByAcprop(options: ScaleByAcpropOptions = {}): GradientTransformation<ScaleByAcpropState> {
  const owner = ownerOr('scaleByAcprop');
  checkOptions(owner, options, ACPROP_KEYS);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.9);
  const b2 = checkRate(owner, 'b2', options.b2 ?? 0.999);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-16, { min: 0 });
  const epsRoot = checkNumber(owner, 'epsRoot', options.epsRoot ?? 1e-16, { min: 0 });
  const step: ElementStep<ScaleByAcpropState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    // 1 - b2^k debiases the nu of the k steps before this one (1 - b2 on the first, unused).
    scalars: (s) => [b1, 1 - b1, b2, 1 - b2, biasCorrection(b2, Math.max(s.count, 1)), eps, epsRoot],
    usesParams: () => false,
    variant: (s) => (s.count === 0 ? 'first' : ''),
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, b2s, c2, bc2, epsS, epsRootS], variant }) => {
      // optax sets the debiased nu to 1 on the first step: sqrt(1) + eps.
      const root = variant === 'first' ? ops.constant(1) : ops.sqrt(ops.div(v, bc2));
      const u = ops.div(g, ops.add(root, epsS));
      const v1 = ops.add(emaOfSquaresOps(ops, ops.sub(g, m), v, b2s, c2), epsRootS);
      const m1 = emaOps(ops, g, m, b1s, c1);
      return { u, slots: [m1, v1] };
    },
    next: (s) => ([mu, nu]) => ({ count: s.count + 1, mu, nu }),
  };
  const tx = declareState<ScaleByAcpropState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
