import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { emaUpdate } from '../internal/moments.js';
import { checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

// Lion, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/** Options of {@link scaleByLion}. */
export interface ScaleByLionOptions {
  /** Weight of the momentum in the direction, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the momentum, in [0, 1). Default `0.99`. */
  b2?: number;
}

/** State of {@link scaleByLion}: step count and momentum. */
export interface ScaleByLionState {
  count: number;
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
        const [b1s, c1, b2s, c2, zero, one, minusOne] = [b1, 1 - b1, b2, 1 - b2, 0, 1, -1].map((x) => tf.scalar(x));
        const [out, mu] = mapFloatLeavesN(owner, ['updates', 'state.mu'], [updates, state.mu], 2, (g, m) => {
          const s = new Scratch();
          const mix = emaUpdate(s, g, m, b1s, c1);
          // An empty leaf is its own sign. tf.where below broadcasts its scalar branches with
          // tf.broadcastTo, which leaves them one element (shape [1], [1, 1]) for a target with
          // no dimension above 1 to tile, such as [0] or [0, 1]: a [0] leaf got a [1] update.
          if (mix.size === 0) return [mix, emaUpdate(s, g, m, b2s, c2)];
          // sign(mix) as JAX defines it, on every backend: tf.sign maps |x| < 2^-23 to 0 on the
          // wasm backend and NaN to 0 on the cpu backend. Zeros and NaN pass through here.
          const negative = s.op(tf.less(mix, zero));
          const lower = s.op(tf.where(negative, minusOne, mix), negative);
          const positive = s.op(tf.greater(mix, zero), mix);
          const sign = s.op(tf.where(positive, one, lower), positive, lower);
          return [sign, emaUpdate(s, g, m, b2s, c2)];
        });
        return [out, { count: state.count + 1, mu }];
      }) as [typeof updates, ScaleByLionState],
  });
}
