import type { GradientTransformation, Params } from '../types.js';
import { adamMomentScalars, debiasedMomentOps, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { momentField, momentsLike } from '../internal/packed-slots.js';
import { checkStateDtype, momentFormats, type StateDtype } from '../internal/state-dtype.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// AdaBelief, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByBelief} (and of `adabelief`).
 * @group Transform options and states
 */
export interface ScaleByBeliefOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment of the prediction error, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root, >= 0. Default `1e-16` (optax's; the paper uses 1e-8). */
  eps?: number;
  /** Added to the stored second moment at every step, >= 0. Default `1e-16` (optax's; the paper uses 0). */
  epsRoot?: number;
  /** Use the Nesterov form of the first moment, as `scaleByAdam` does. Default `false`. */
  nesterov?: boolean;
  /**
   * How the moments are stored: `'float32'` (the default), `'bfloat16'` or `'int8'`; see
   * `scaleByAdam`'s `stateDtype`.
   */
  stateDtype?: StateDtype;
}

/**
 * State of {@link scaleByBelief}: step count, first moment and second moment of the prediction error.
 * @group Transform options and states
 */
export interface ScaleByBeliefState {
  /** Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with `t = count + 1`. */
  count: number;
  /** Moving average of the gradients. */
  mu: Params;
  /** Moving average of `(g - mu)^2`, plus `epsRoot` once per step. */
  nu: Params;
}

const BELIEF_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'nesterov', 'stateDtype'];

/** The option values of {@link scaleByBelief}, checked, with defaults filled in. */
function beliefOptions(owner: string, options: ScaleByBeliefOptions): Required<ScaleByBeliefOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-16, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 1e-16, { min: 0 }),
    nesterov: checkBoolean(owner, 'nesterov', options.nesterov ?? false),
    stateDtype: checkStateDtype(owner, options.stateDtype),
  };
}

/**
 * Rescales updates by AdaBelief (Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes
 * by the Belief in Observed Gradients", arXiv:2010.07468): Adam whose second moment tracks the
 * squared distance of the gradient from its moving average, not the squared gradient. With
 * `t = count + 1`:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = (1 - b2) * (g - mu)^2 + b2 * nu + epsRoot
 *     muHat = mu / (1 - b1^t)
 *         nesterov: muHat = b1 * mu / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)
 *     u = muHat / (sqrt(nu / (1 - b2^t)) + eps)
 *
 * The prediction error uses the *new* mean, and `epsRoot` is added to the stored `nu` (so it
 * accumulates across steps), both as in optax and the paper's algorithm. Defaults: `b1 = 0.9,
 * b2 = 0.999, eps = 1e-16, epsRoot = 1e-16, nesterov = false` (optax's; the paper's are
 * `eps = 1e-8, epsRoot = 0`), `stateDtype = 'float32'` (`'bfloat16'`, `'int8'`: both moments
 * packed, see `scaleByAdam`). State: `{ count, mu, nu }`, both starting at zero.
 * @group Transforms
 */
export function scaleByBelief(options: ScaleByBeliefOptions = {}): GradientTransformation<ScaleByBeliefState> {
  const owner = ownerOr('scaleByBelief');
  checkOptions(owner, options, BELIEF_KEYS);
  const { b1, b2, eps, epsRoot, nesterov, stateDtype } = beliefOptions(owner, options);
  const step: ElementStep<ScaleByBeliefState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    slotFormats: momentFormats(stateDtype, [true, false]),
    scalars: (s) => adamMomentScalars(b1, b2, eps, epsRoot, s.count),
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, b2s, c2, bc1, bc1Next, bc2, epsS, epsRootS] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, b1s, c1));
      const v1 = ops.keep(ops.add(emaOfSquaresOps(ops, ops.sub(g, m1), v, b2s, c2), epsRootS));
      const mHat = debiasedMomentOps(ops, nesterov, m1, g, b1s, c1, bc1, bc1Next);
      const root = ops.sqrt(ops.div(v1, bc2));
      return { u: ops.div(mHat, ops.add(root, epsS)), slots: [m1, v1] };
    },
    next: (s) => ([mu, nu]) => ({ count: s.count + 1, mu, nu }),
  };
  const layout = { count: 'count', mu: momentField(stateDtype, 'tree'), nu: momentField(stateDtype, 'nonNegativeTree') } as const;
  const tx = declareState<ScaleByBeliefState>(owner, layout, {
    init: (params) => ({ count: 0, mu: momentsLike(owner, params, stateDtype, true), nu: momentsLike(owner, params, stateDtype, false) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
