import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { HyperRate } from '../internal/hyper.js';
import { mapFloatLeaves, stateLike } from '../internal/leaves.js';
import { describeNode, formatPath } from '../tree/walk.js';
import { findStatesWithFields } from '../internal/find-state.js';
import { checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// Averaged SGD as PyTorch's torch.optim.ASGD computes it. Not in optax.

/**
 * Options of {@link scaleByAsgd} (and of `asgd`, with its weight decay).
 * @group Transform options and states
 */
export interface ScaleByAsgdOptions {
  /** Decay term, >= 0. Default `1e-4`. */
  lambd?: number;
  /** Power of the step-size decay, >= 0. Default `0.75`. */
  alpha?: number;
  /** The step count from which averaging starts, >= 0. Default `1e6`. */
  t0?: number;
}

/**
 * State of {@link scaleByAsgd}.
 * @group Transform options and states
 */
export interface ScaleByAsgdState {
  /** Updates done so far. */
  count: number;
  /** The running average of the parameters after each update (read it with `asgdAverage`). */
  ax: Params;
  /** The learning rate the next update uses (read with `getHyperparam`, set with `setHyperparam`). */
  learningRate: number;
}

const ASGD_KEYS = ['lambd', 'alpha', 't0'] as const;

/** The options of {@link scaleByAsgd}, checked, with defaults filled in. @internal */
export function asgdOptions(owner: string, options: ScaleByAsgdOptions): Required<ScaleByAsgdOptions> {
  checkOptions(owner, options, ASGD_KEYS);
  return {
    lambd: checkNumber(owner, 'lambd', options.lambd ?? 1e-4, { min: 0 }),
    alpha: checkNumber(owner, 'alpha', options.alpha ?? 0.75, { min: 0 }),
    t0: checkNumber(owner, 't0', options.t0 ?? 1e6, { min: 0 }),
  };
}

/**
 * The step of averaged SGD (Polyak & Juditsky 1992; the step-size schedule of Bottou 2012,
 * "Stochastic Gradient Descent Tricks") as PyTorch's `ASGD` computes it, as a positive step to
 * **subtract** (the `asgd` alias negates it). With `k = count` (updates done before this one)
 * and `lr` the learning rate of this update, in float64:
 *
 *     eta = lr / (1 + lambd * lr * k)^alpha
 *     mu = 1 / max(1, k - t0)
 *     u = lambd * eta * p + eta * g             (PyTorch: p = p * (1 - lambd * eta) - eta * g)
 *     ax = mu == 1 ? p - u : ax + mu * ((p - u) - ax)
 *
 * `p - u` is exactly the parameter the alias's update leads to, so `ax` averages the parameters
 * the caller holds after each step; read it with {@link asgdAverage}. Needs `params`.
 * PyTorch computes the next `eta` and `mu` at the end of a step from that step's learning rate;
 * here they are computed from the count and the learning rate the update uses, which is the
 * same for a constant learning rate and follows a schedule (or `setHyperparam`) at once.
 * Defaults: `lambd = 1e-4, alpha = 0.75, t0 = 1e6`. State: `{ count, ax, learningRate }`,
 * `ax` starting at zero (PyTorch's `ax` also starts at zero and is overwritten while `mu = 1`).
 * @group Transforms
 */
export function scaleByAsgd(learningRate: ScalarOrSchedule, options: ScaleByAsgdOptions = {}): GradientTransformation<ScaleByAsgdState> {
  const owner = ownerOr('scaleByAsgd');
  const { lambd, alpha, t0 } = asgdOptions(owner, options);
  const lr = new HyperRate(owner, 'learningRate', learningRate);
  /** The step's rates, from the state: decay `lambd * eta`, `eta` and the averaging weight `mu`. */
  const rates = (s: ScaleByAsgdState) => {
    const used = s.learningRate;
    const eta = used / (1 + lambd * used * s.count) ** alpha;
    return [lambd * eta, eta, 1 / Math.max(1, s.count - t0)];
  };
  const step: ElementStep<ScaleByAsgdState> = {
    owner,
    slotNames: ['state.ax'],
    slots: (s) => [s.ax],
    scalars: rates,
    usesParams: () => true,
    // Until t0 the average is the latest parameters themselves.
    variant: (s) => (rates(s)[2] === 1 ? 'latest' : ''),
    emit: (ops, { u: g, p, slots: [a], scalars: [decayS, etaS, muS], variant }) => {
      const u = ops.keep(ops.add(ops.mul(decayS, p!), ops.mul(etaS, g)));
      const next = ops.sub(p!, u);
      const a1 = variant === 'latest' ? next : ops.add(a, ops.mul(muS, ops.sub(next, a)));
      return { u, slots: [a1] };
    },
    next: (s) => {
      const learningRate = lr.next(s.learningRate, s.count);
      return ([ax]) => ({ count: s.count + 1, ax, learningRate });
    },
  };
  const tx = declareState<ScaleByAsgdState>(owner, { count: 'count', ax: 'tree', learningRate: lr }, {
    init: (params) => ({ count: 0, ax: stateLike(owner, params), learningRate: lr.at(0) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}

const ASGD_FIELDS = ['ax', 'count', 'learningRate'];

/**
 * The averaged parameters of `asgd` (PyTorch's `state['ax']`): the running average, from step
 * `t0` on, of the parameters after each update (before `t0`, the latest parameters). `state` is
 * the state of `asgd` or `scaleByAsgd`, or a state holding exactly one such state (inside a
 * `chain`, `injectHyperparams`, ...). Returns new tensors (copies): nothing in the state is
 * shared, so they can be disposed freely.
 *
 * @throws TypeError when `state` holds no ASGD state, or more than one.
 * @group Transforms
 */
export function asgdAverage(state: unknown): Params {
  const owner = 'asgdAverage';
  const found = findStatesWithFields(state, ASGD_FIELDS);
  if (found.length !== 1) {
    const where = found.map(([, path]) => formatPath(path, 'state')).join(', ');
    throw new TypeError(
      found.length === 0
        ? `${owner}: expected the state of asgd or scaleByAsgd ({${ASGD_FIELDS.join(', ')}}) or a state holding one, got ${describeNode(state)}`
        : `${owner}: the state holds ${found.length} ASGD states (at ${where}); pass the one you mean`,
    );
  }
  const [asgdState, path] = found[0];
  const axName = formatPath([...path, 'ax'], 'state');
  return tidy(() => mapFloatLeaves(owner, [axName], [asgdState.ax as Params], (a) => tf.clone(a)));
}
