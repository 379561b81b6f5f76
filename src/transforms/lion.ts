import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { emaUpdate } from '../internal/moments.js';
import { checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { signOf, signScalars } from '../internal/sign.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

// Lion, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByLion}.
 * @group Transform options and states
 */
export interface ScaleByLionOptions {
  /** Weight of the momentum in the direction, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the momentum, in [0, 1). Default `0.99`. */
  b2?: number;
}

/**
 * State of {@link scaleByLion}: step count and momentum.
 * @group Transform options and states
 */
export interface ScaleByLionState {
  /** Updates done so far (a JS number, `0` after `init`); Lion's update does not depend on it. */
  count: number;
  /**
   * The momentum `mu = (1 - b2) g + b2 mu`, float32 tensors shaped as the params, zeros after
   * `init`. The direction uses the interpolation with `b1` taken before this update of `mu`.
   */
  mu: Params;
}

/** The option values of {@link scaleByLion}, checked, with defaults filled in. */
function lionOptions(owner: string, options: ScaleByLionOptions = {}): Required<ScaleByLionOptions> {
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.99),
  };
}

/**
 * Rescales updates by Lion (Chen et al. 2023, "Symbolic Discovery of Optimization
 * Algorithms", arXiv:2302.06675): the sign of an interpolation between gradient and momentum,
 * so every coordinate moves by exactly the learning rate:
 *
 *     u = sign((1 - b1) * g + b1 * mu)
 *     mu = (1 - b2) * g + b2 * mu
 *
 * Defaults: `b1 = 0.9, b2 = 0.99`. State: `{ count, mu }`, `mu` starting at zero.
 * @group Transforms
 */
export function scaleByLion(options: ScaleByLionOptions = {}): GradientTransformation<ScaleByLionState> {
  return scaleByLionFor('scaleByLion', options);
}

/** {@link scaleByLion} with the caller's name in error messages. @internal */
export function scaleByLionFor(owner: string, options: ScaleByLionOptions = {}): GradientTransformation<ScaleByLionState> {
  checkOptions(owner, options, ['b1', 'b2']);
  const { b1, b2 } = lionOptions(owner, options);
  return declareState(owner, { count: 'count', mu: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const [b1s, c1, b2s, c2] = [b1, 1 - b1, b2, 1 - b2].map((x) => tf.scalar(x));
        const signs = signScalars();
        const [out, mu] = mapFloatLeavesN(owner, ['updates', 'state.mu'], [updates, state.mu], 2, (g, m) => {
          const s = new Scratch();
          const sign = signOf(s, emaUpdate(s, g, m, b1s, c1), signs);
          return [sign, emaUpdate(s, g, m, b2s, c2)];
        });
        return [out, { count: state.count + 1, mu }];
      }) as [typeof updates, ScaleByLionState],
  });
}
