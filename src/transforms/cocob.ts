import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeaves, stateLike } from '../internal/leaves.js';
import { checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';
import { tidy } from '../tree/tidy.js';

// COCOB-Backprop, as optax.contrib.scale_by_cocob: a coin-betting step per element, with no
// learning rate of its own.

/**
 * Options of {@link scaleByCocob} (and of `cocob`).
 * @group Transform options and states
 */
export interface ScaleByCocobOptions {
  /** The fraction to bet: the first steps move each element by about `1 / alpha`, > 0. Default `100`. */
  alpha?: number;
  /** The initial gradient scale `L` (keeps the first division away from 0), >= 0. Default `1e-8`. */
  eps?: number;
}

/**
 * State of {@link scaleByCocob} (optax's `COCOBState`).
 * @group Transform options and states
 */
export interface ScaleByCocobState {
  /** The parameters at `init` (the starting point every bet is placed from). */
  initParticles: Params;
  /** The negated sum of the gradients, `C`. */
  cumulativeGradients: Params;
  /** The largest gradient magnitude seen, `L` (`eps` after `init`). */
  scale: Params;
  /** The sum of the gradient magnitudes, `G`. */
  subgradients: Params;
  /** The reward, `R` (the wealth won by the bets, floored at 0). */
  reward: Params;
}

const COCOB_KEYS = ['alpha', 'eps'];

/**
 * Rescales updates by COCOB-Backprop (Orabona & Tommasi 2017, "Training Deep Networks without
 * Learning Rates Through Coin Betting", NeurIPS, arXiv:1705.07795, Algorithm 2), as optax
 * contrib. Each element bets on the sign of its negated gradients, starting from the parameters
 * at `init`, `p0`. With `g` the incoming update and `p` the current parameters:
 *
 *     L = max(L, |g|)
 *     G = G + |g|
 *     R = max(R - g * (p - p0), 0)
 *     C = C - g
 *     u = p0 + C / (L * max(G + L, alpha * L)) * (L + R) - p
 *
 * The update moves the parameters to the new bet (it is already a step to add: no learning rate
 * or sign flip follows it in `cocob`). On the first step `u = -sign(g) / alpha` wherever
 * `|g| > eps`. Needs `params`, and the real parameters at `init`. Defaults: `alpha = 100,
 * eps = 1e-8`. State: `{ initParticles, cumulativeGradients, scale, subgradients, reward }`.
 * @group Transforms
 */
export function scaleByCocob(options: ScaleByCocobOptions = {}): GradientTransformation<ScaleByCocobState> {
  const owner = ownerOr('scaleByCocob');
  checkOptions(owner, options, COCOB_KEYS);
  const alpha = checkNumber(owner, 'alpha', options.alpha ?? 100, { min: 0, minInclusive: false });
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const step: ElementStep<ScaleByCocobState> = {
    owner,
    slotNames: ['state.initParticles', 'state.cumulativeGradients', 'state.scale', 'state.subgradients', 'state.reward'],
    slots: (s) => [s.initParticles, s.cumulativeGradients, s.scale, s.subgradients, s.reward],
    scalars: () => [alpha],
    usesParams: () => true,
    emit: (ops, { u: g, p, slots: [p0, c, l, gSum, r], scalars: [alphaS] }) => {
      const absG = ops.keep(ops.abs(g));
      const l1 = ops.keep(ops.max(l, absG));
      const gSum1 = ops.keep(ops.add(gSum, absG));
      const r1 = ops.keep(ops.max(ops.sub(r, ops.mul(g, ops.sub(p!, p0))), ops.constant(0)));
      const c1 = ops.keep(ops.sub(c, g));
      const bet = ops.div(c1, ops.mul(l1, ops.max(ops.add(gSum1, l1), ops.mul(alphaS, l1))));
      // optax's -p + (p0 + ...): the same float32 sum as (p0 + ...) - p.
      const u = ops.sub(ops.add(p0, ops.mul(bet, ops.add(l1, r1))), p!);
      return { u, slots: [p0, c1, l1, gSum1, r1] };
    },
    next: () => ([initParticles, cumulativeGradients, scale, subgradients, reward]) => ({
      initParticles,
      cumulativeGradients,
      scale,
      subgradients,
      reward,
    }),
  };
  const layout = {
    initParticles: 'tree',
    cumulativeGradients: 'tree',
    scale: 'nonNegativeTree',
    subgradients: 'nonNegativeTree',
    reward: 'nonNegativeTree',
  } as const;
  const tx = declareState<ScaleByCocobState>(owner, layout, {
    init: (params) => ({
      initParticles: tidy(() => mapFloatLeaves(owner, ['params'], [params], (x) => tf.clone(x))),
      cumulativeGradients: stateLike(owner, params),
      scale: stateLike(owner, params, eps),
      subgradients: stateLike(owner, params),
      reward: stateLike(owner, params),
    }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
