import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOps } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { signOps } from '../internal/sign.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// Yogi, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByYogi}.
 * @group Transform options and states
 */
export interface ScaleByYogiOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Rate of the additive second-moment update, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the denominator, outside the square root, >= 0. Default `1e-3`. */
  eps?: number;
  /** Added to the second moment inside the square root, >= 0. Default `0`. */
  epsRoot?: number;
  /** Starting value of both moments, >= 0. Default `1e-6`. */
  initialAccumulatorValue?: number;
}

/**
 * State of {@link scaleByYogi}: step count and the two moments (as Adam's).
 * @group Transform options and states
 */
export interface ScaleByYogiState {
  /** Updates done so far (a JS number, `0` after `init`); the next update bias-corrects with `t = count + 1`. */
  count: number;
  /**
   * First moment: the moving average of the gradients, `mu = (1 - b1) g + b1 mu`, not
   * bias-corrected; float32 tensors shaped as the params, starting at `initialAccumulatorValue`.
   */
  mu: Params;
  /**
   * Yogi's second moment, moved towards `g^2` by the additive step
   * `nu = nu - (1 - b2) sign(nu - g^2) g^2`, not bias-corrected; shaped as the params, starting
   * at `initialAccumulatorValue`.
   */
  nu: Params;
}

const YOGI_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'initialAccumulatorValue'];

/** The option values of {@link scaleByYogi}, checked, with defaults filled in. @internal */
export function yogiOptions(owner: string, options: ScaleByYogiOptions): Required<ScaleByYogiOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-3, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
    initialAccumulatorValue: checkNumber(owner, 'initialAccumulatorValue', options.initialAccumulatorValue ?? 1e-6, { min: 0 }),
  };
}

/**
 * Rescales updates by Yogi (Zaheer et al. 2018, "Adaptive Methods for Nonconvex
 * Optimization", NeurIPS): Adam whose second moment moves towards `g^2` by an additive step of
 * fixed size `(1 - b2) * g^2`, so it cannot shrink fast and the effective step size cannot
 * jump. With `t = count + 1`:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = nu - (1 - b2) * sign(nu - g^2) * g^2
 *     u = (mu / (1 - b1^t)) / (sqrt(nu / (1 - b2^t) + epsRoot) + eps)
 *
 * Both moments start at `initialAccumulatorValue`, and are bias-corrected as Adam's are, both
 * as in optax (the paper starts them at 1e-6 without correction). `sign` is JAX's (0 at 0,
 * NaN at NaN) on every backend. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-3, epsRoot = 0,
 * initialAccumulatorValue = 1e-6`. State: `{ count, mu, nu }`.
 * @group Transforms
 */
export function scaleByYogi(options: ScaleByYogiOptions = {}): GradientTransformation<ScaleByYogiState> {
  const owner = ownerOr('scaleByYogi');
  checkOptions(owner, options, YOGI_KEYS);
  const { b1, b2, eps, epsRoot, initialAccumulatorValue } = yogiOptions(owner, options);
  const step: ElementStep<ScaleByYogiState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    scalars: (s) => {
      const t = s.count + 1;
      return [b1, 1 - b1, 1 - b2, biasCorrection(b1, t), biasCorrection(b2, t), eps, epsRoot];
    },
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, c2, bc1, bc2, epsS, epsRootS] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, b1s, c1));
      const g2 = ops.keep(ops.square(g));
      const direction = signOps(ops, ops.keep(ops.sub(v, g2)));
      const v1 = ops.keep(ops.sub(v, ops.mul(ops.mul(c2, direction), g2)));
      const vHat = ops.div(v1, bc2);
      const root = ops.sqrt(epsRoot === 0 ? vHat : ops.add(vHat, epsRootS));
      return { u: ops.div(ops.div(m1, bc1), ops.add(root, epsS)), slots: [m1, v1] };
    },
    next: (s) => ([mu, nu]) => ({ count: s.count + 1, mu, nu }),
  };
  const tx = declareState<ScaleByYogiState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree' }, {
    init: (params) => ({
      count: 0,
      mu: stateLike(owner, params, initialAccumulatorValue),
      nu: stateLike(owner, params, initialAccumulatorValue),
    }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
