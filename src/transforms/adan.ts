import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

/**
 * Options of {@link scaleByAdan}.
 * @group Transform options and states
 */
export interface ScaleByAdanOptions {
  /** Decay of the gradients' moving average, in [0, 1). Default `0.98`. */
  b1?: number;
  /** Decay of the gradient differences' moving average, in [0, 1). Default `0.92`. */
  b2?: number;
  /** Decay of the moving average of squares, in [0, 1). Default `0.99`. */
  b3?: number;
  /** Added to the denominator, outside the square root, >= 0. Default `1e-8`. */
  eps?: number;
  /** Added inside the square root, >= 0. Default `0` (`adan` uses `1e-8`, as optax). */
  epsRoot?: number;
}

/**
 * State of {@link scaleByAdan} (optax's fields `m, v, n, g`; its `t` is our `count`).
 * @group Transform options and states
 */
export interface ScaleByAdanState {
  /** Updates done so far. */
  count: number;
  /** Moving average of the gradients. */
  m: Params;
  /** Moving average of the gradient differences `g_t - g_{t-1}`. */
  v: Params;
  /** Moving average of the squared look-ahead gradients `(g_t + b2 (g_t - g_{t-1}))^2`. */
  n: Params;
  /** The last gradient (zeros before the first update). */
  g: Params;
}

const ADAN_KEYS = ['b1', 'b2', 'b3', 'eps', 'epsRoot'] as const;

/** The options of {@link scaleByAdan}, checked, with defaults filled in. @internal */
function adanOptions(owner: string, options: ScaleByAdanOptions): Required<ScaleByAdanOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.98),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.92),
    b3: checkRate(owner, 'b3', options.b3 ?? 0.99),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
    epsRoot: checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 }),
  };
}

/**
 * Rescales updates by Adan, the adaptive Nesterov momentum algorithm (Xie et al. 2022,
 * arXiv:2208.06677, Algorithm 1, with the moving-average decays written as in Adam: the paper's
 * `beta_i` is `1 - b_i` here, as in the authors' code and optax). With `t = count + 1` and
 * `d = g - gPrev` (`d = 0` on the first update):
 *
 *     m = (1 - b1) * g + b1 * m
 *     v = (1 - b2) * d + b2 * v
 *     n = (1 - b3) * (g + b2 * d)^2 + b3 * n
 *     u = (m / (1 - b1^t) + b2 * v / (1 - b2^t)) / (sqrt(n / (1 - b3^t) + epsRoot) + eps)
 *
 * Defaults: `b1 = 0.98, b2 = 0.92, b3 = 0.99, eps = 1e-8, epsRoot = 0`. State:
 * `{ count, m, v, n, g }`, all starting at zero.
 *
 * Where we differ from optax, and why: the gradient difference enters `n` and `u` with the
 * weight `b2` (the paper's `1 - beta_2`, 0.92 by default), as in the paper and the authors'
 * code; optax weighs it by `1 - b2` (0.08), a bug reported in optax PR #1715. The two agree on
 * the first update, where `d = 0`.
 * @group Transforms
 */
export function scaleByAdan(options: ScaleByAdanOptions = {}): GradientTransformation<ScaleByAdanState> {
  const owner = ownerOr('scaleByAdan');
  checkOptions(owner, options, ADAN_KEYS);
  const { b1, b2, b3, eps, epsRoot } = adanOptions(owner, options);
  const step: ElementStep<ScaleByAdanState> = {
    owner,
    slotNames: ['state.m', 'state.v', 'state.n', 'state.g'],
    slots: (s) => [s.m, s.v, s.n, s.g],
    scalars: (s) => {
      const t = s.count + 1;
      return [b1, 1 - b1, b2, 1 - b2, b3, 1 - b3, biasCorrection(b1, t), biasCorrection(b2, t), biasCorrection(b3, t), eps, epsRoot];
    },
    usesParams: () => false,
    // The first update has no previous gradient: d = 0, whatever the state holds.
    variant: (s) => (s.count === 0 ? 'first' : ''),
    emit: (ops, { u: g, slots: [m0, v0, n0, gPrev], scalars, variant }) => {
      const [b1s, c1, b2s, c2, b3s, c3, bc1, bc2, bc3, epsS, epsRootS] = scalars;
      const d = ops.keep(variant === 'first' ? ops.constant(0) : ops.sub(g, gPrev));
      const m1 = ops.keep(emaOps(ops, g, m0, b1s, c1));
      const v1 = ops.keep(emaOps(ops, d, v0, b2s, c2));
      const lookahead = ops.add(g, ops.mul(b2s, d));
      const n1 = ops.keep(emaOfSquaresOps(ops, lookahead, n0, b3s, c3));
      const direction = ops.add(ops.div(m1, bc1), ops.mul(b2s, ops.div(v1, bc2)));
      const nHat = ops.div(n1, bc3);
      const root = ops.sqrt(epsRoot === 0 ? nHat : ops.add(nHat, epsRootS));
      // A copy of the gradient for the state (the caller may free the gradients).
      return { u: ops.div(direction, ops.add(root, epsS)), slots: [m1, v1, n1, ops.copy(g)] };
    },
    next: (s) => ([m, v, n, g]) => ({ count: s.count + 1, m, v, n, g }),
  };
  const tx = declareState<ScaleByAdanState>(owner, { count: 'count', m: 'tree', v: 'tree', n: 'nonNegativeTree', g: 'tree' }, {
    init: (params) => ({ count: 0, m: stateLike(owner, params), v: stateLike(owner, params), n: stateLike(owner, params), g: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
