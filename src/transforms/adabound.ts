import type { GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { HyperRate } from '../internal/hyper.js';
import { stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOfSquaresOps, emaOps } from '../internal/moments.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

// AdaBound: Adam whose per-element step size is clipped into a band that narrows towards a
// final SGD step size. Not in optax; follows the authors' reference implementation.

/**
 * Options of {@link scaleByAdabound} (and of `adabound`, with its weight decay).
 * @group Transform options and states
 */
export interface ScaleByAdaboundOptions {
  /** The SGD step size the bounds converge to, > 0. Default `0.1`. */
  finalLr?: number;
  /** How fast the bounds converge, > 0. Default `1e-3`. */
  gamma?: number;
  /** Decay of the first moment, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to `sqrt(nu)` in the denominator. Default `1e-8`. */
  eps?: number;
}

/**
 * State of {@link scaleByAdabound}.
 * @group Transform options and states
 */
export interface ScaleByAdaboundState {
  /** Updates done so far. */
  count: number;
  /** Moving average of the gradients. */
  mu: Params;
  /** Moving average of the squared gradients. */
  nu: Params;
  /** The learning rate the next update uses (read with `getHyperparam`, set with `setHyperparam`). */
  learningRate: number;
}

const ADABOUND_KEYS = ['finalLr', 'gamma', 'b1', 'b2', 'eps'] as const;

/** The options of {@link scaleByAdabound}, checked, with defaults filled in. @internal */
export function adaboundOptions(owner: string, options: ScaleByAdaboundOptions): Required<ScaleByAdaboundOptions> {
  checkOptions(owner, options, ADABOUND_KEYS);
  return {
    finalLr: checkNumber(owner, 'finalLr', options.finalLr ?? 0.1, { min: 0, minInclusive: false }),
    gamma: checkNumber(owner, 'gamma', options.gamma ?? 1e-3, { min: 0, minInclusive: false }),
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.999),
    eps: checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 }),
  };
}

/**
 * AdaBound's step (Luo, Xiong, Liu & Sun 2019, "Adaptive Gradient Methods with Dynamic Bound of
 * Learning Rate", ICLR, arXiv:1902.09843), as a positive step to **subtract** (the `adabound`
 * alias negates it). With `t = count + 1` and `lr` the learning rate of this update:
 *
 *     mu = (1 - b1) * g + b1 * mu
 *     nu = (1 - b2) * g^2 + b2 * nu
 *     stepSize = lr * sqrt(1 - b2^t) / (1 - b1^t)          (float64, once per step)
 *     final = finalLr * lr / lr0                            (lr0: the learning rate at count 0)
 *     lower = final * (1 - 1 / (gamma * t + 1)),  upper = final * (1 + 1 / (gamma * t))
 *     u = clip(stepSize / (sqrt(nu) + eps), lower, upper) * mu
 *
 * The learning rate lives in this transformation, not in a `scaleByLearningRate` after it,
 * because the clipping band is in absolute step sizes: it cannot be applied to a direction that
 * is scaled afterwards. The band scales with the learning rate as in the reference
 * implementation (`final_lr = final_lr * lr / base_lr`): `finalLr` is the final step size for the
 * initial learning rate, and a schedule (or `setHyperparam`) that halves the learning rate halves
 * the band too. With a constant learning rate `final = finalLr`. If the learning rate at count 0
 * is 0 the band is not rescaled (`final = finalLr`). `eps` is added to `sqrt(nu)` before the bias
 * correction, folded into `stepSize`, as in the reference implementation (and PyTorch's Adam).
 *
 * Defaults: `finalLr = 0.1, gamma = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8`.
 * State: `{ count, mu, nu, learningRate }`, moments starting at zero.
 * @group Transforms
 */
export function scaleByAdabound(
  learningRate: ScalarOrSchedule,
  options: ScaleByAdaboundOptions = {},
): GradientTransformation<ScaleByAdaboundState> {
  const owner = ownerOr('scaleByAdabound');
  const { finalLr, gamma, b1, b2, eps } = adaboundOptions(owner, options);
  const lr = new HyperRate(owner, 'learningRate', learningRate);
  const baseLr = lr.at(0);
  const bandScale = (used: number) => (baseLr === 0 ? 1 : used / baseLr);
  const step: ElementStep<ScaleByAdaboundState> = {
    owner,
    slotNames: ['state.mu', 'state.nu'],
    slots: (s) => [s.mu, s.nu],
    scalars: (s) => {
      const t = s.count + 1;
      const used = s.learningRate;
      const final = finalLr * bandScale(used);
      return [
        b1,
        1 - b1,
        b2,
        1 - b2,
        (used * Math.sqrt(biasCorrection(b2, t))) / biasCorrection(b1, t),
        final * (1 - 1 / (gamma * t + 1)),
        final * (1 + 1 / (gamma * t)),
        eps,
      ];
    },
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m, v], scalars: [b1s, c1, b2s, c2, stepS, lowerS, upperS, epsS] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, b1s, c1));
      const v1 = ops.keep(emaOfSquaresOps(ops, g, v, b2s, c2));
      const raw = ops.div(stepS, ops.add(ops.sqrt(v1), epsS));
      const clipped = ops.min(ops.max(raw, lowerS), upperS);
      return { u: ops.mul(clipped, m1), slots: [m1, v1] };
    },
    next: (s) => {
      const learningRate = lr.next(s.learningRate, s.count);
      return ([mu, nu]) => ({ count: s.count + 1, mu, nu, learningRate });
    },
  };
  const tx = declareState<ScaleByAdaboundState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree', learningRate: lr }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params), nu: stateLike(owner, params), learningRate: lr.at(0) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
