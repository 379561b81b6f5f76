import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { emaOfSquaresOps } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// Adadelta, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByAdadelta}.
 * @group Transform options and states
 */
export interface ScaleByAdadeltaOptions {
  /** Decay of both running averages, in [0, 1). Default `0.9`. */
  rho?: number;
  /** Added inside both square roots. Default `1e-6`. */
  eps?: number;
}

/**
 * State of {@link scaleByAdadelta}: the running averages of squared gradients and updates.
 * @group Transform options and states
 */
export interface ScaleByAdadeltaState {
  /** E[g^2], the running average of squared gradients. */
  eG: Params;
  /** E[u^2], the running average of squared updates. */
  eX: Params;
}

/** The option values of {@link scaleByAdadelta}, checked, with defaults filled in. */
function adadeltaOptions(owner: string, options: ScaleByAdadeltaOptions = {}): Required<ScaleByAdadeltaOptions> {
  return {
    rho: checkRate(owner, 'rho', options.rho ?? 0.9),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-6, { min: 0 }),
  };
}

/**
 * Rescales updates by Adadelta (Zeiler 2012, arXiv:1212.5701), whose step size is the ratio of
 * running RMS values and so carries the units of the parameters:
 *
 *     eG = (1 - rho) * g^2 + rho * eG
 *     u = (sqrt(eX + eps) / sqrt(eG + eps)) * g        (with the previous eX)
 *     eX = (1 - rho) * u^2 + rho * eX
 *
 * Defaults: `rho = 0.9, eps = 1e-6`. State: `{ eG, eX }`, both starting at zero.
 * @group Transforms
 */
export function scaleByAdadelta(options: ScaleByAdadeltaOptions = {}): GradientTransformation<ScaleByAdadeltaState> {
  const owner = ownerOr('scaleByAdadelta');
  checkOptions(owner, options, ['rho', 'eps']);
  const { rho, eps } = adadeltaOptions(owner, options);
  const step: ElementStep<ScaleByAdadeltaState> = {
    owner,
    slotNames: ['state.eG', 'state.eX'],
    slots: (s) => [s.eG, s.eX],
    scalars: () => [rho, 1 - rho, eps],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [a, b], scalars: [d, c, epsS] }) => {
      const a1 = ops.keep(emaOfSquaresOps(ops, g, a, d, c));
      const u = ops.keep(ops.mul(ops.div(ops.sqrt(ops.add(b, epsS)), ops.sqrt(ops.add(a1, epsS))), g));
      return { u, slots: [a1, emaOfSquaresOps(ops, u, b, d, c)] };
    },
    next: () => ([eG, eX]) => ({ eG, eX }),
  };
  const tx = declareState<ScaleByAdadeltaState>(owner, { eG: 'nonNegativeTree', eX: 'nonNegativeTree' }, {
    init: (params) => ({ eG: stateLike(owner, params), eX: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
