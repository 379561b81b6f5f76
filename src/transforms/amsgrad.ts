import type { GradientTransformation, Params } from '../types.js';
import { biasCorrection, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { momentField, momentsLike } from '../internal/packed-slots.js';
import { checkStateDtype, momentFormats, type StateDtype } from '../internal/state-dtype.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// AMSGrad, Adam with the running maximum of the second moment, in optax's operation order.
// Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByAmsgrad} (and of `amsgrad`).
 * @group Transform options and states
 */
export interface ScaleByAmsgradOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root. Default `1e-8`. */
  eps?: number;
  /** Added inside the square root. Default `0`. */
  epsRoot?: number;
  /** Divide the first moment by `1 - b1^t`. Default `true` (`false` is the original paper). */
  biasCorrectionMu?: boolean;
  /** Divide the second moment by `1 - b2^t` before the maximum. Default `true`. */
  biasCorrectionNu?: boolean;
  /**
   * How the moments are stored: `'float32'` (the default), `'bfloat16'` or `'int8'`; see
   * `scaleByAdam`'s `stateDtype`.
   */
  stateDtype?: StateDtype;
}

/**
 * State of {@link scaleByAmsgrad}: step count, the two moments and the running maximum of the second. Every tree is shaped as the params.
 * @group Transform options and states
 */
export interface ScaleByAmsgradState {
  /** Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with `t = count + 1`. */
  count: number;
  /** First moment: the moving average of the gradients, not bias-corrected; zeros after `init`. */
  mu: Params;
  /** Second moment: the moving average of the squared gradients, not bias-corrected; zeros after `init`. */
  nu: Params;
  /** The running maximum of the second moment, bias-corrected first when `biasCorrectionNu` (the default); zeros after `init`. */
  nuMax: Params;
}

const AMSGRAD_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'biasCorrectionMu', 'biasCorrectionNu', 'stateDtype'];

/** The option values of {@link scaleByAmsgrad}, checked, with defaults filled in. */
function amsgradOptions(owner: string, options: ScaleByAmsgradOptions = {}): Required<ScaleByAmsgradOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
    biasCorrectionMu: checkBoolean(owner, 'biasCorrectionMu', options.biasCorrectionMu ?? true),
    biasCorrectionNu: checkBoolean(owner, 'biasCorrectionNu', options.biasCorrectionNu ?? true),
    stateDtype: checkStateDtype(owner, options.stateDtype),
  };
}

/**
 * Rescales updates by AMSGrad (Reddi, Kale & Kumar 2018, "On the Convergence of Adam and
 * Beyond"): Adam whose denominator uses the largest second moment seen so far, so the
 * effective step size never grows. As optax does, the maximum is taken over the
 * bias-corrected second moment:
 *
 *     mu = (1 - b1) * g + b1 * mu;      muHat = mu / (1 - b1^t)   (biasCorrectionMu)
 *     nu = (1 - b2) * g^2 + b2 * nu;    nuMax = max(nuMax, nu / (1 - b2^t))   (biasCorrectionNu)
 *     u = muHat / (sqrt(nuMax + epsRoot) + eps)
 *
 * Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0`, both corrections on,
 * `stateDtype = 'float32'` (`'bfloat16'`, `'int8'`: the three moments packed, see `scaleByAdam`).
 * State: `{ count, mu, nu, nuMax }`, all starting at zero.
 * @group Transforms
 */
export function scaleByAmsgrad(options: ScaleByAmsgradOptions = {}): GradientTransformation<ScaleByAmsgradState> {
  const owner = ownerOr('scaleByAmsgrad');
  checkOptions(owner, options, AMSGRAD_KEYS);
  const { b1, b2, eps, epsRoot, biasCorrectionMu, biasCorrectionNu, stateDtype } = amsgradOptions(owner, options);
  const step: ElementStep<ScaleByAmsgradState> = {
    owner,
    slotNames: ['state.mu', 'state.nu', 'state.nuMax'],
    slots: (s) => [s.mu, s.nu, s.nuMax],
    slotFormats: momentFormats(stateDtype, [true, false, false]),
    scalars: (s) => {
      const t = s.count + 1;
      return [b1, 1 - b1, b2, 1 - b2, biasCorrection(b1, t), biasCorrection(b2, t), eps, epsRoot];
    },
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m, v, vMax], scalars: [b1s, c1, b2s, c2, bc1, bc2, epsS, epsRootS] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, b1s, c1));
      const v1 = ops.keep(emaOfSquaresOps(ops, g, v, b2s, c2));
      const mHat = biasCorrectionMu ? ops.div(m1, bc1) : m1;
      const vEff = biasCorrectionNu ? ops.div(v1, bc2) : v1;
      const vMax1 = ops.keep(ops.max(vMax, vEff));
      const root = ops.sqrt(epsRoot === 0 ? vMax1 : ops.add(vMax1, epsRootS));
      return { u: ops.div(mHat, ops.add(root, epsS)), slots: [m1, v1, vMax1] };
    },
    next: (s) => ([mu, nu, nuMax]) => ({ count: s.count + 1, mu, nu, nuMax }),
  };
  const nonNegative = momentField(stateDtype, 'nonNegativeTree');
  const tx = declareState<ScaleByAmsgradState>(owner, { count: 'count', mu: momentField(stateDtype, 'tree'), nu: nonNegative, nuMax: nonNegative }, {
    init: (params) => ({
      count: 0,
      mu: momentsLike(owner, params, stateDtype, true),
      nu: momentsLike(owner, params, stateDtype, false),
      nuMax: momentsLike(owner, params, stateDtype, false),
    }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
