import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { emaOfSquaresUpdate, emaUpdate } from '../internal/moments.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../internal/tidy.js';

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
  return scaleByAdoptFor('scaleByAdopt', options);
}

/** {@link scaleByAdopt} with the caller's name in error messages. @internal */
export function scaleByAdoptFor(owner: string, options: ScaleByAdoptOptions = {}): GradientTransformation<ScaleByAdoptState> {
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
  return declareState(owner, { count: 'count', mu: 'tree', nu: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params) }),
    update: (updates, state) => {
      const k = state.count;
      let clipValue = Infinity;
      if (useClipping && k > 0) {
        clipValue = clipValueFn(k);
        if (typeof clipValue !== 'number' || Number.isNaN(clipValue) || clipValue < 0) {
          throw new RangeError(`${owner}: clipValueFn returned ${String(clipValue)} at count ${k}; a number >= 0 is required`);
        }
      }
      return tidy(() => {
        const [b1s, c1, b2s, c2, epsS] = [b1, 1 - b1, b2, 1 - b2, eps].map((x) => tf.scalar(x));
        const [out, mu, nu] = mapFloatLeavesN(
          owner,
          ['updates', 'state.mu', 'state.nu'],
          [updates, state.mu, state.nu],
          3,
          (g, m, v) => {
            const s = new Scratch();
            if (k === 0) {
              // optax: nu with decay 0 is g^2; mu with decay 1 keeps its zero; the update is mu.
              return [tf.clone(m), m, s.square(g)];
            }
            const root = s.sqrt(v);
            const raw = s.div(g, s.op(tf.maximum(root, epsS), root));
            const n = s.keep(useClipping ? s.op(tf.clipByValue(raw, -clipValue, clipValue), raw) : raw);
            const v1 = emaOfSquaresUpdate(s, g, v, b2s, c2);
            const m1 = s.keep(emaUpdate(s, n, m, b1s, c1));
            const u = nesterov ? emaUpdate(s, n, m1, b1s, c1) : tf.clone(m1);
            n.dispose();
            return [u, m1, v1];
          },
        );
        return [out, { count: k + 1, mu, nu }];
      }) as [typeof updates, ScaleByAdoptState];
    },
  });
}
