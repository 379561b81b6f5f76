import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { mapFloatLeavesN, stateLike } from '../internal/leaves.js';
import { emaOfSquaresUpdate } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

// Adadelta, in optax's operation order. Per-step scalars are JS numbers computed in float64.

/**
 * Options of {@link scaleByAdadelta}.
 * @group Transform options and states
 */
export interface ScaleByAdadeltaOptions {
  /** Decay of both running averages, in [0, 1). Default `0.9`. */
  rho?: number;
  /** Added inside both square roots. Default `1e-6`. */
  eps?: number;
}

/**
 * State of {@link scaleByAdadelta}: the running averages of squared gradients and updates.
 * @group Transform options and states
 */
export interface ScaleByAdadeltaState {
  /** E[g^2], the running average of squared gradients. */
  eG: Params;
  /** E[u^2], the running average of squared updates. */
  eX: Params;
}

/** The option values of {@link scaleByAdadelta}, checked, with defaults filled in. */
function adadeltaOptions(owner: string, options: ScaleByAdadeltaOptions = {}): Required<ScaleByAdadeltaOptions> {
  return {
    rho: checkRate(owner, 'rho', options.rho ?? 0.9),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-6, { min: 0 }),
  };
}

/**
 * Rescales updates by Adadelta (Zeiler 2012, arXiv:1212.5701), whose step size is the ratio of
 * running RMS values and so carries the units of the parameters:
 *
 *     eG = (1 - rho) * g^2 + rho * eG
 *     u = (sqrt(eX + eps) / sqrt(eG + eps)) * g        (with the previous eX)
 *     eX = (1 - rho) * u^2 + rho * eX
 *
 * Defaults: `rho = 0.9, eps = 1e-6`. State: `{ eG, eX }`, both starting at zero.
 * @group Transforms
 */
export function scaleByAdadelta(options: ScaleByAdadeltaOptions = {}): GradientTransformation<ScaleByAdadeltaState> {
  return scaleByAdadeltaFor('scaleByAdadelta', options);
}

/** {@link scaleByAdadelta} with the caller's name in error messages. @internal */
export function scaleByAdadeltaFor(owner: string, options: ScaleByAdadeltaOptions = {}): GradientTransformation<ScaleByAdadeltaState> {
  checkOptions(owner, options, ['rho', 'eps']);
  const { rho, eps } = adadeltaOptions(owner, options);
  return declareState(owner, { eG: 'tree', eX: 'tree' }, {
    init: (params) => ({ eG: stateLike(owner, params), eX: stateLike(owner, params) }),
    update: (updates, state) =>
      tidy(() => {
        const [d, c, epsS] = [rho, 1 - rho, eps].map((x) => tf.scalar(x));
        const [out, eG, eX] = mapFloatLeavesN(owner, ['updates', 'state.eG', 'state.eX'], [updates, state.eG, state.eX], 3, (g, a, b) => {
          const s = new Scratch();
          const a1 = s.keep(emaOfSquaresUpdate(s, g, a, d, c));
          const u = s.keep(s.mul(s.div(s.sqrt(s.add(b, epsS)), s.sqrt(s.add(a1, epsS))), g));
          return [u, a1, emaOfSquaresUpdate(s, u, b, d, c)];
        });
        return [out, { eG, eX }];
      }) as [typeof updates, ScaleByAdadeltaState],
  });
}
