import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule, Schedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { masked, type MaskedState } from '../combine/masked.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { checkOptions, checkScalarOrSchedule } from '../internal/options.js';
import { scaleByAdam, type ScaleByAdamOptions, type ScaleByAdamState } from '../transforms/adaptive.js';
import { addDecayedWeights, addDecayedWeightsDownTo, checkMaskOption, type AddDecayedWeightsState, type Mask } from '../transforms/decay.js';
import { trace, type TraceState } from '../transforms/momentum.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { scaleByTrustRatio } from '../transforms/trust-ratio.js';

// The layer-wise trust-ratio optimizers: LARS, LAMB and Fromage, as optax composes them.
// Fused as chains of element steps on wasm and cpu: the trust ratio
// reads per-leaf norms, computed in a pass before the step; composite tf ops elsewhere.

// ---------------------------------------------------------------------------------------------
// LAMB

/**
 * Options of {@link lamb}: Adam's (without `nesterov`), weight decay and its mask.
 * @group Optimizer options and states
 */
export interface LambOptions extends Omit<ScaleByAdamOptions, 'nesterov' | 'eps'> {
  /** Added to the denominator, outside the square root. Default `1e-6` (not Adam's `1e-8`). */
  eps?: number;
  /** Decoupled weight-decay rate (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link lamb}: `[scaleByAdam, addDecayedWeights, scaleByTrustRatio, scaleByLearningRate]` states.
 * @group Optimizer options and states
 */
export type LambState = [ScaleByAdamState, AddDecayedWeightsState, EmptyState, ScaleByLearningRateState];

/**
 * LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning: Training BERT in 76
 * minutes", arXiv:1904.00962): the Adam direction plus decoupled weight decay, rescaled per
 * leaf by the trust ratio `||p|| / ||r||`, as optax composes it:
 *
 *     lamb(lr, o) = chain(scaleByAdam({ b1, b2, eps, epsRoot }), addDecayedWeights(o.weightDecay, { mask }),
 *                         scaleByTrustRatio(), scaleByLearningRate(lr))
 *     r = mHat / (sqrt(vHat + epsRoot) + eps) + weightDecay * p
 *     u = -lr * (||p|| / ||r||) * r          (ratio 1 where either norm is 0)
 *
 * The paper's optional scaling function `phi` of `||p||` is the identity here, as in optax and
 * the paper's experiments. Defaults: `b1 = 0.9, b2 = 0.999, eps = 1e-6, epsRoot = 0,
 * weightDecay = 0`, mask: all leaves.
 * @group Optimizers
 * @function
 */
export const lamb = /* @__PURE__ */ optimizerAlias(function lamb(learningRate: ScalarOrSchedule, options: LambOptions = {}): GradientTransformation<LambState> {
  checkOptions('lamb', options, ['b1', 'b2', 'eps', 'epsRoot', 'weightDecay', 'mask']);
  const { b1, b2, eps = 1e-6, epsRoot, weightDecay = 0, mask } = options;
  return asOwner('lamb', () =>
    chain(
      scaleByAdam({ b1, b2, eps, epsRoot }),
      addDecayedWeights(weightDecay, { mask }),
      scaleByTrustRatio(),
      scaleByLearningRate(learningRate),
    ),
  );
});

// ---------------------------------------------------------------------------------------------
// LARS

/**
 * Options of {@link lars}.
 * @group Optimizer options and states
 */
export interface LarsOptions {
  /** Weight-decay rate added to the gradient before the trust ratio (a number >= 0 or a schedule). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay); optax's `weight_decay_mask`. Default: all. */
  mask?: Mask;
  /** Multiplies the trust ratio, > 0. Default `0.001`. */
  trustCoefficient?: number;
  /** Added to the update norm in the trust ratio's denominator, >= 0. Default `0`. */
  eps?: number;
  /** Which parameters get the trust ratio (`true` = scale this leaf); the others pass unscaled. Default: all. */
  trustRatioMask?: Mask;
  /** Momentum coefficient, in [0, 1]. Default `0.9`. */
  momentum?: number;
  /** Use Nesterov momentum. Default `false`. */
  nesterov?: boolean;
}

/**
 * State of {@link lars}: `[addDecayedWeights, masked(scaleByTrustRatio), scaleByLearningRate,
 * trace]` states.
 * @group Optimizer options and states
 */
export type LarsState = [AddDecayedWeightsState, MaskedState<EmptyState>, ScaleByLearningRateState, TraceState];

/**
 * LARS (You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional Networks",
 * arXiv:1708.03888): SGD with momentum whose step is rescaled per leaf by the trust ratio, as
 * optax composes it (the learning rate is applied before the momentum):
 *
 *     lars(lr, o) = chain(addDecayedWeights(o.weightDecay, { mask: o.mask }),
 *                         masked(scaleByTrustRatio({ trustCoefficient, eps }), o.trustRatioMask ?? true),
 *                         scaleByLearningRate(lr), trace({ decay: o.momentum, nesterov }))
 *     r = g + weightDecay * p
 *     r = trustCoefficient * ||p|| / (||r|| + eps) * r      (ratio 1 where either norm is 0)
 *     m = -lr * r + momentum * m;   u = m   (nesterov: u = -lr * r + momentum * m)
 *
 * `mask` is optax's `weight_decay_mask` under the name every optimizer here uses. Defaults:
 * `weightDecay = 0, trustCoefficient = 0.001, eps = 0, momentum = 0.9, nesterov = false`; both
 * masks: all leaves (optax's `True`; the usual choice excludes biases and norm scales from both).
 * @group Optimizers
 * @function
 */
export const lars = /* @__PURE__ */ optimizerAlias(function lars(learningRate: ScalarOrSchedule, options: LarsOptions = {}): GradientTransformation<LarsState> {
  const owner = 'lars';
  checkOptions(owner, options, ['weightDecay', 'mask', 'trustCoefficient', 'eps', 'trustRatioMask', 'momentum', 'nesterov']);
  const { weightDecay = 0, mask, trustCoefficient = 0.001, eps = 0, trustRatioMask = true, momentum = 0.9, nesterov = false } = options;
  checkMaskOption(owner, trustRatioMask, 'trustRatioMask');
  return asOwner(
    owner,
    () =>
      chain(
        addDecayedWeights(weightDecay, { mask }),
        masked(scaleByTrustRatio({ trustCoefficient, eps }), trustRatioMask),
        scaleByLearningRate(learningRate),
        trace({ decay: momentum, nesterov }),
      ),
    { rename: { decay: 'momentum' } },
  );
});

// ---------------------------------------------------------------------------------------------
// Fromage

/**
 * Options of {@link fromage}.
 * @group Optimizer options and states
 */
export interface FromageOptions {
  /** Floor for the parameter and update norms in the trust ratio, >= 0. Default `1e-6`. */
  minNorm?: number;
}

/**
 * State of {@link fromage}: `[scaleByTrustRatio, scaleByLearningRate, addDecayedWeights]`
 * states. The learning-rate state holds the scaled rate `lr / sqrt(1 + lr^2)` and the decay
 * state the (negative) rate `1 / sqrt(1 + lr^2) - 1`, as in optax's chain.
 * @group Optimizer options and states
 */
export type FromageState = [EmptyState, ScaleByLearningRateState, AddDecayedWeightsState];

/**
 * Fromage, Frobenius matched gradient descent (Bernstein et al. 2020, "On the distance between
 * two neural networks and the stability of learning", arXiv:2002.03432): a trust-ratio step
 * followed by a shrink that keeps each leaf's norm from growing, as optax composes it:
 *
 *     fromage(lr, o) = chain(scaleByTrustRatio({ minNorm }), scaleByLearningRate(lr / sqrt(1 + lr^2)),
 *                            addDecayedWeights(1 / sqrt(1 + lr^2) - 1))
 *     p' = (p - lr * (||p|| / ||g||) * g) / sqrt(1 + lr^2)
 *
 * (norms floored at `minNorm`). With a schedule, both rates follow `lr(count)`. The decay rate is
 * negative, which `addDecayedWeights` itself does not accept; fromage builds it internally.
 * `getHyperparam(state, 'learningRate')` reads the scaled rate `lr / sqrt(1 + lr^2)` (optax's
 * chain holds the same), and setting it does not change the shrink. Default: `minNorm = 1e-6`.
 * @group Optimizers
 * @function
 */
export const fromage = /* @__PURE__ */ optimizerAlias(function fromage(learningRate: ScalarOrSchedule, options: FromageOptions = {}): GradientTransformation<FromageState> {
  const owner = 'fromage';
  checkOptions(owner, options, ['minNorm']);
  // Checked first: both rates below are computed from it.
  const lr = checkScalarOrSchedule(owner, 'learningRate', learningRate, { min: 0 });
  const shrink = (rate: number) => 1 / Math.sqrt(1 + rate * rate);
  let stepRate: ScalarOrSchedule;
  let decayRate: ScalarOrSchedule;
  if (typeof lr === 'number') {
    stepRate = lr * shrink(lr);
    decayRate = shrink(lr) - 1;
  } else {
    const schedule: Schedule = lr;
    stepRate = (count) => schedule(count) * shrink(schedule(count));
    decayRate = (count) => shrink(schedule(count)) - 1;
  }
  const chained = asOwner(owner, () =>
    chain(
      scaleByTrustRatio({ minNorm: options.minNorm ?? 1e-6 }),
      scaleByLearningRate(stepRate),
      // The shrink factor minus one lies in (-1, 0]: a decay rate below zero.
      addDecayedWeightsDownTo(-1, decayRate),
    ),
  );
  // Nothing in the chain builds per-leaf state, so nothing in it looks at the params at init;
  // check them here, as every optimizer does, so that a bad tree fails at init, not at update.
  return {
    ...chained,
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return chained.init(params);
    },
  };
});
