import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { biasCorrection, debiasedMomentOps, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// RAdam, Rectified Adam, in optax's operation order. Per-step scalars (including the
// rectification) are JS numbers computed in float64.

/**
 * Options of {@link scaleByRadam} (and of `radam`).
 * @group Transform options and states
 */
export interface ScaleByRadamOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root. Default `1e-8`. */
  eps?: number;
  /** Added inside the square root. Default `0`. */
  epsRoot?: number;
  /** The variance is rectified once `rho_t >= threshold` (at least 4); before, the update is `muHat`. Default `5`. */
  threshold?: number;
  /** Use the Nesterov (NAdam) form of the debiased first moment, as optax's `nesterov`. Default `false`. */
  nesterov?: boolean;
}

/**
 * State of {@link scaleByRadam}: as Adam's.
 * @group Transform options and states
 */
export interface ScaleByRadamState {
  /**
   * Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with
   * `t = count + 1`, and rectifies once `rho_t >= threshold`.
   */
  count: number;
  /** First moment: the moving average of the gradients, not bias-corrected; zeros after `init`. */
  mu: Params;
  /** Second moment: the moving average of the squared gradients, not bias-corrected; zeros after `init`. */
  nu: Params;
}

/** The option values of {@link scaleByRadam}, checked, with defaults filled in. */
function radamOptions(owner: string, options: ScaleByRadamOptions = {}): Required<ScaleByRadamOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
    // r_t is real only for rho_t >= 4.
    threshold: checkNumber(owner, 'threshold', options.threshold ?? 5, { min: 4 }),
    nesterov: checkBoolean(owner, 'nesterov', options.nesterov ?? false),
  };
}

/**
 * The length of RAdam's approximated simple moving average at step `t`,
 * `rho_t = rho_inf - 2 t b2^t / (1 - b2^t)` with `rho_inf = 2 / (1 - b2) - 1`, and the
 * rectification factor `r_t` where `rho_t >= threshold` (`null` before). Float64; optax computes
 * `rho_t` in float32, which moves `r_t` by up to ~0.7% in the first rectified steps.
 */
function radamRectification(b2: number, t: number, threshold: number): number | null {
  const rhoInf = 2 / (1 - b2) - 1;
  const b2t = b2 ** t;
  const rho = rhoInf - (2 * t * b2t) / (1 - b2t);
  if (!(rho >= threshold)) return null;
  return Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
}

/**
 * Rescales updates by Rectified Adam (Liu et al. 2020, arXiv:1908.03265). While the variance
 * of the adaptive rate is intractable (`rho_t < threshold`, the first steps), the update is
 * the bias-corrected momentum alone; after, Adam's update times the rectification `r_t` (see
 * `radamRectification` in the source):
 *
 *     mu = (1 - b1) * g + b1 * mu;   muHat = mu / (1 - b1^t)
 *         nesterov: muHat = b1 * mu / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)
 *     nu = (1 - b2) * g^2 + b2 * nu; nuHat = nu / (1 - b2^t)
 *     u = rho_t >= threshold ? r_t * muHat / (sqrt(nuHat + epsRoot) + eps) : muHat
 *
 * With `nesterov`, as optax's, the look-ahead moment replaces `muHat` in both branches (the
 * plain momentum steps too). Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0,
 * threshold = 5, nesterov = false` (with `b2 = 0.999` the first rectified step is the 6th).
 * State: `{ count, mu, nu }`.
 * @group Transforms
 */
export function scaleByRadam(options: ScaleByRadamOptions = {}): GradientTransformation<ScaleByRadamState> {
  const owner = ownerOr('scaleByRadam');
  checkOptions(owner, options, ['b1', 'b2', 'eps', 'epsRoot', 'threshold', 'nesterov']);
  const { b1, b2, eps, epsRoot, threshold, nesterov } = radamOptions(owner, options);
  const rectification = (s: ScaleByRadamState) => radamRectification(b2, s.count + 1, threshold);
  const step: ElementStep<ScaleByRadamState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    scalars: (s) => {
      const t = s.count + 1;
      const scalars = [b1, 1 - b1, b2, 1 - b2, biasCorrection(b1, t), biasCorrection(b2, t), eps, epsRoot, rectification(s) ?? 0];
      // Nesterov's look-ahead divides the moment by 1 - b1^(t+1): a scalar of that form only.
      return nesterov ? [...scalars, biasCorrection(b1, t + 1)] : scalars;
    },
    usesParams: () => false,
    // Before rho_t reaches the threshold the update is the bias-corrected momentum alone.
    variant: (s) => (rectification(s) === null ? 'momentum' : 'rectified'),
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, b2s, c2, bc1, bc2, epsS, epsRootS, rS, bc1Next], variant }) => {
      const m1 = ops.keep(emaOps(ops, g, m, b1s, c1));
      const v1 = ops.keep(emaOfSquaresOps(ops, g, v, b2s, c2));
      const mHat = debiasedMomentOps(ops, nesterov, m1, g, b1s, c1, bc1, bc1Next);
      if (variant === 'momentum') return { u: mHat, slots: [m1, v1] };
      const vHat = ops.div(v1, bc2);
      const root = ops.sqrt(epsRoot === 0 ? vHat : ops.add(vHat, epsRootS));
      return { u: ops.div(ops.mul(rS, mHat), ops.add(root, epsS)), slots: [m1, v1] };
    },
    next: (s) => ([mu, nu]) => ({ count: s.count + 1, mu, nu }),
  };
  const tx = declareState<ScaleByRadamState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
