import type { GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { HyperRate } from '../internal/hyper.js';
import { biasCorrection, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { momentField, momentsLike } from '../internal/packed-slots.js';
import { checkStateDtype, momentFormats, type StateDtype } from '../internal/state-dtype.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// AdEMAMix, as optax.contrib.scale_by_ademamix.

/**
 * Options of {@link scaleByAdemamix} (and of `ademamix`).
 * @group Transform options and states
 */
export interface ScaleByAdemamixOptions {
  /** Decay of the fast moving average, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Decay of the slow moving average, in [0, 1] (a number or a schedule). Default `0.9999`. */
  b3?: ScalarOrSchedule;
  /** Weight of the slow average, >= 0 (a number or a schedule). Default `6` here, `5` in `ademamix` (as optax). */
  alpha?: ScalarOrSchedule;
  /** Added to the denominator, outside the square root. Default `1e-8`. */
  eps?: number;
  /** Added to the second moment inside the square root. Default `0`. */
  epsRoot?: number;
  /**
   * How the moments are stored: `'float32'` (the default), `'bfloat16'` or `'int8'`; see
   * `scaleByAdam`'s `stateDtype`.
   */
  stateDtype?: StateDtype;
}

/**
 * State of {@link scaleByAdemamix}.
 * @group Transform options and states
 */
export interface ScaleByAdemamixState {
  /** Updates done so far. */
  count: number;
  /** Fast moving average of the gradients (decay `b1`, bias-corrected). */
  m1: Params;
  /** Slow moving average of the gradients (decay `b3`, not bias-corrected). */
  m2: Params;
  /** Moving average of the squared gradients. */
  nu: Params;
  /** The `b3` the next update uses. */
  b3: number;
  /** The `alpha` the next update uses. */
  alpha: number;
}

const ADEMAMIX_KEYS = ['b1', 'b2', 'b3', 'alpha', 'eps', 'epsRoot', 'stateDtype'] as const;

/**
 * Rescales updates by AdEMAMix (Pagliardini, Ablin & Grangier 2024, "The AdEMAMix Optimizer:
 * Better, Faster, Older", arXiv:2409.03137), as optax contrib: Adam whose numerator mixes a fast
 * and a slow moving average of the gradients. With `t = count + 1`, `b3` and `alpha` at `count`:
 *
 *     m1 = (1 - b1) * g + b1 * m1
 *     m2 = (1 - b3) * g + b3 * m2
 *     nu = (1 - b2) * g^2 + b2 * nu
 *     u = (m1 / (1 - b1^t) + alpha * m2) / (sqrt(nu / (1 - b2^t) + epsRoot) + eps)
 *
 * `b3` and `alpha` are numbers or schedules of the count (the paper warms both up); the values
 * the next update uses are kept in the state (optax keeps a second counter, `count_m2`, always
 * equal to `count`; here the one count serves both). Defaults: `b1 = 0.9, b2 = 0.999,
 * b3 = 0.9999, alpha = 6` (optax's `scale_by_ademamix`; its `ademamix` alias uses 5), `eps = 1e-8,
 * epsRoot = 0`, `stateDtype = 'float32'` (`'bfloat16'`, `'int8'`: the three moments packed, see
 * `scaleByAdam`). State: `{ count, m1, m2, nu, b3, alpha }`.
 * @group Transforms
 */
export function scaleByAdemamix(options: ScaleByAdemamixOptions = {}): GradientTransformation<ScaleByAdemamixState> {
  const owner = ownerOr('scaleByAdemamix');
  checkOptions(owner, options, ADEMAMIX_KEYS);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.9);
  const b2 = checkRate(owner, 'b2', options.b2 ?? 0.999);
  const b3Option = options.b3 ?? 0.9999;
  if (typeof b3Option === 'number') checkRate(owner, 'b3', b3Option, true);
  const b3 = new HyperRate(owner, 'b3', b3Option);
  const alpha = new HyperRate(owner, 'alpha', options.alpha ?? 6);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const epsRoot = checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 });
  const stateDtype = checkStateDtype(owner, options.stateDtype);
  const step: ElementStep<ScaleByAdemamixState> = {
    owner,
    slotNames: ['state.m1', 'state.m2', 'state.nu'],
    slots: (s) => [s.m1, s.m2, s.nu],
    slotFormats: momentFormats(stateDtype, [true, true, false]),
    // b3 and alpha as the state holds them: a schedule's value at count, or one set by setHyperparam.
    scalars: (s) => {
      const t = s.count + 1;
      return [b1, 1 - b1, b2, 1 - b2, s.b3, 1 - s.b3, s.alpha, biasCorrection(b1, t), biasCorrection(b2, t), eps, epsRoot];
    },
    usesParams: () => false,
    emit: (ops, { u: g, slots: [fast, slow, v], scalars }) => {
      const [b1s, c1, b2s, c2, b3s, c3, alphaS, bc1, bc2, epsS, epsRootS] = scalars;
      const fast1 = ops.keep(emaOps(ops, g, fast, b1s, c1));
      const slow1 = ops.keep(emaOps(ops, g, slow, b3s, c3));
      const v1 = ops.keep(emaOfSquaresOps(ops, g, v, b2s, c2));
      const vHat = ops.div(v1, bc2);
      const root = ops.sqrt(epsRoot === 0 ? vHat : ops.add(vHat, epsRootS));
      const numerator = ops.add(ops.div(fast1, bc1), ops.mul(alphaS, slow1));
      return { u: ops.div(numerator, ops.add(root, epsS)), slots: [fast1, slow1, v1] };
    },
    next: (s) => {
      const k = s.count;
      if (s.b3 > 1) throw new RangeError(`${owner}: b3 must be in [0, 1], got ${s.b3} at count ${k}`);
      const b3Next = b3.next(s.b3, k);
      const alphaNext = alpha.next(s.alpha, k);
      return ([m1, m2, nu]) => ({ count: k + 1, m1, m2, nu, b3: b3Next, alpha: alphaNext });
    },
  };
  const signedField = momentField(stateDtype, 'tree');
  const layout = { count: 'count', m1: signedField, m2: signedField, nu: momentField(stateDtype, 'nonNegativeTree'), b3, alpha } as const;
  const tx = declareState<ScaleByAdemamixState>(owner, layout, {
    init: (params) => ({
      count: 0,
      m1: momentsLike(owner, params, stateDtype, true),
      m2: momentsLike(owner, params, stateDtype, true),
      nu: momentsLike(owner, params, stateDtype, false),
      b3: b3.at(0),
      alpha: alpha.at(0),
    }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
