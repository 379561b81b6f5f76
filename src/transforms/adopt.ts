import type { GradientTransformation, Params } from '../types.js';
import { clipByValueOps } from '../internal/clip-by-value.js';
import { stateLike } from '../internal/leaves.js';
import { emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// ADOPT, as optax.contrib.scale_by_adopt.

/**
 * Options of {@link scaleByAdopt} (and of `adopt`).
 * @group Transform options and states
 */
export interface ScaleByAdoptOptions {
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.9999`. */
  b2?: number;
  /** Lower bound of `sqrt(nu)` in the denominator, >= 0. Default `1e-6`. */
  eps?: number;
  /** Use the Nesterov form of the momentum. Default `false`. */
  nesterov?: boolean;
  /** Clip the normalised gradient to `[-clipValueFn(count), clipValueFn(count)]`. Default `true`. */
  useClipping?: boolean;
  /** The clipping bound as a function of the count (updates done before this one). Default `(k) => k ** 0.25`. */
  clipValueFn?: (count: number) => number;
}

/**
 * State of {@link scaleByAdopt}.
 * @group Transform options and states
 */
export interface ScaleByAdoptState {
  /** Updates done so far. */
  count: number;
  /** Moving average of the normalised gradients. */
  mu: Params;
  /** Moving average of the squared gradients (the first update sets it to `g^2`). */
  nu: Params;
}

const ADOPT_KEYS = ['b1', 'b2', 'eps', 'nesterov', 'useClipping', 'clipValueFn'] as const;

/**
 * Rescales updates by ADOPT (Taniguchi et al. 2024, "ADOPT: Modified Adam Can Converge with Any
 * beta2 with the Optimal Rate", NeurIPS, arXiv:2411.02853), as optax contrib: the gradient is
 * normalised by the second moment of the **previous** steps, before it enters the momentum.
 * With `k = count`:
 *
 *     k = 0:  nu = g^2; mu and the update stay 0 (the first step only measures nu)
 *     k > 0:  n = clip(g / max(sqrt(nu), eps), -c, c)   with c = clipValueFn(k) (no clip if !useClipping)
 *             nu = (1 - b2) * g^2 + b2 * nu
 *             mu = (1 - b1) * n + b1 * mu
 *             u = mu        (nesterov: (1 - b1) * n + b1 * mu, with the new mu)
 *
 * On the first step optax's formula, with its decays set to 0 and 1, gives exactly these values
 * (`clipValueFn(0) = 0` clips `n` to 0; without clipping `mu` keeps its zero); here step 0 is a
 * separate branch that writes them directly. `clipValueFn` is evaluated in float64 once per step.
 * Defaults: `b1 = 0.9, b2 = 0.9999, eps = 1e-6, nesterov = false, useClipping = true,
 * clipValueFn = (k) => k ** 0.25`. State: `{ count, mu, nu }`.
 * @group Transforms
 */
export function scaleByAdopt(options: ScaleByAdoptOptions = {}): GradientTransformation<ScaleByAdoptState> {
  const owner = ownerOr('scaleByAdopt');
  checkOptions(owner, options, ADOPT_KEYS);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.9);
  const b2 = checkRate(owner, 'b2', options.b2 ?? 0.9999);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-6, { min: 0 });
  const nesterov = checkBoolean(owner, 'nesterov', options.nesterov ?? false);
  const useClipping = checkBoolean(owner, 'useClipping', options.useClipping ?? true);
  const clipValueFn = options.clipValueFn ?? ((k: number) => k ** 0.25);
  if (typeof clipValueFn !== 'function') {
    throw new TypeError(`${owner}: option 'clipValueFn' must be a function (count) => number, got ${typeof clipValueFn}`);
  }
  // The bound of this update, evaluated once per state (scalars, variant and next all need it).
  const bounds = new WeakMap<ScaleByAdoptState, number>();
  const clipValueAt = (state: ScaleByAdoptState): number => {
    let clipValue = bounds.get(state);
    if (clipValue === undefined) {
      const k = state.count;
      clipValue = Infinity;
      if (useClipping && k > 0) {
        clipValue = clipValueFn(k);
        if (typeof clipValue !== 'number' || Number.isNaN(clipValue) || clipValue < 0) {
          throw new RangeError(`${owner}: clipValueFn returned ${String(clipValue)} at count ${k}; a number >= 0 is required`);
        }
      }
      bounds.set(state, clipValue);
    }
    return clipValue;
  };
  const step: ElementStep<ScaleByAdoptState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    scalars: (s) => [b1, 1 - b1, b2, 1 - b2, eps, ...(useClipping ? [-clipValueAt(s), clipValueAt(s)] : [])],
    usesParams: () => false,
    // Step 0 only measures nu. A bound of 0 clips every element to -0 (tf.clipByValue's fill).
    variant: (s) => (s.count === 0 ? 'first' : useClipping && clipValueAt(s) === 0 ? 'zero' : ''),
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, b2s, c2, epsS, lo, hi], variant }) => {
      // optax: nu with decay 0 is g^2; mu with decay 1 keeps its zero; the update is mu (a copy:
      // a tensor of its own).
      if (variant === 'first') return { u: ops.copy(m), slots: [m, ops.square(g)] };
      const normalised = () => ops.div(g, ops.max(ops.sqrt(v), epsS));
      const n = ops.keep(!useClipping ? normalised() : variant === 'zero' ? ops.constant(-0) : clipByValueOps(ops, normalised(), lo, hi));
      const v1 = emaOfSquaresOps(ops, g, v, b2s, c2);
      const m1 = ops.keep(emaOps(ops, n, m, b1s, c1));
      const u = nesterov ? emaOps(ops, n, m1, b1s, c1) : ops.copy(m1);
      return { u, slots: [m1, v1] };
    },
    next: (s) => {
      clipValueAt(s);
      return ([mu, nu]) => ({ count: s.count + 1, mu, nu });
    },
  };
  const tx = declareState<ScaleByAdoptState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
