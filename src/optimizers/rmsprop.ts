import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkBoolean, checkOptions } from '../internal/options.js';
import {
  scaleByRms,
  scaleByStddev,
  type ScaleByRmsOptions,
  type ScaleByRmsState,
  type ScaleByStddevState,
} from '../transforms/adaptive.js';
import { trace, type TraceState } from '../transforms/momentum.js';
import { identity, scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';

/**
 * Options of {@link rmsprop}.
 * @group Optimizer options and states
 */
export interface RmspropOptions extends ScaleByRmsOptions {
  /** Divide by the centered second moment (an estimate of the variance). Default `false`. */
  centered?: boolean;
  /** Momentum coefficient in [0, 1] applied after the learning rate; omit it for none. */
  momentum?: number;
  /** Nesterov momentum (needs `momentum`). Default `false`. */
  nesterov?: boolean;
}

/**
 * State of {@link rmsprop}: `[RMS state, learning-rate state, momentum state or {}]`.
 * @group Optimizer options and states
 */
export type RmspropState = [ScaleByRmsState | ScaleByStddevState, ScaleByLearningRateState, TraceState | EmptyState];

/**
 * RMSprop (Hinton 2012), optionally centered (Graves 2013) and with momentum:
 *
 *     rmsprop(lr, o) = chain(centered ? scaleByStddev(o) : scaleByRms(o),
 *                            scaleByLearningRate(lr),
 *                            momentum === undefined ? identity() : trace({ decay: momentum, nesterov }))
 *
 * so `nu = decay * nu + (1 - decay) * g^2; u = -lr * g / sqrt(nu + eps)`, and with momentum the
 * learning-rate-scaled steps are accumulated: `t = u + momentum * t`. This is the order of optax
 * and of `tf.train.rmsprop` (whose `mom = momentum * mom + lr * g / sqrt(ms + eps)`).
 *
 * Defaults: `decay = 0.9, eps = 1e-8` (inside the square root; `epsInSqrt: false` puts it
 * outside, as PyTorch does), `initialScale = 0, centered = false, biasCorrection = false`.
 * `tf.train.rmsprop` uses the same formulas with `eps` defaulting to the backend's 1e-7.
 * @group Optimizers
 * @function
 */
export const rmsprop = /* @__PURE__ */ optimizerAlias(function rmsprop(learningRate: ScalarOrSchedule, options: RmspropOptions = {}): GradientTransformation<RmspropState> {
  const owner = 'rmsprop';
  checkOptions(owner, options, [
    'decay',
    'eps',
    'initialScale',
    'epsInSqrt',
    'biasCorrection',
    'centered',
    'momentum',
    'nesterov',
  ]);
  const { centered = false, momentum, nesterov = false, ...rms } = options;
  checkBoolean(owner, 'centered', centered);
  checkBoolean(owner, 'nesterov', nesterov);
  if (nesterov && momentum === undefined) {
    throw new TypeError(`rmsprop: option 'nesterov' needs 'momentum' (e.g. { momentum: 0.9, nesterov: true })`);
  }
  return asOwner(owner, () =>
    chain(
      centered ? scaleByStddev(rms) : scaleByRms(rms),
      scaleByLearningRate(learningRate),
      // trace's 'decay' is rmsprop's 'momentum' (its own 'decay' is the RMS decay): renamed here only.
      momentum === undefined ? identity() : asOwner(owner, () => trace({ decay: momentum, nesterov }), { rename: { decay: 'momentum' } }),
    ),
  ) as GradientTransformation<RmspropState>;
});

