import type { GradientTransformation, Params } from '../types.js';
import { clipByValueOps } from '../internal/clip-by-value.js';
import { stateLike } from '../internal/leaves.js';
import { checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { signOps } from '../internal/sign.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

/**
 * Options of {@link scaleByRprop} (and of `rprop`).
 * @group Transform options and states
 */
export interface ScaleByRpropOptions {
  /** Multiplies a step size where the gradient changed sign, in (0, 1). Default `0.5`. */
  etaMinus?: number;
  /** Multiplies a step size where the gradient kept its sign, > 1. Default `1.2`. */
  etaPlus?: number;
  /** Smallest step size, > 0. Default `1e-6`. */
  minStepSize?: number;
  /** Largest step size, >= `minStepSize`. Default `50`. */
  maxStepSize?: number;
}

/**
 * State of {@link scaleByRprop} (optax's field names, in camelCase).
 * @group Transform options and states
 */
export interface ScaleByRpropState {
  /** The per-element step sizes, starting at the learning rate. */
  stepSizes: Params;
  /**
   * The last direction returned: `stepSize * sign(g)`, or 0 where the gradient had just changed
   * sign. Only its sign is read by the next update.
   */
  prevUpdates: Params;
}

const RPROP_KEYS = ['etaMinus', 'etaPlus', 'minStepSize', 'maxStepSize'] as const;

/** The options of {@link scaleByRprop}, checked, with defaults filled in. @internal */
export function rpropOptions(owner: string, learningRate: unknown, options: ScaleByRpropOptions): Required<ScaleByRpropOptions> & { learningRate: number } {
  checkOptions(owner, options, RPROP_KEYS);
  if (typeof learningRate === 'function') {
    throw new TypeError(
      `${owner}: option 'learningRate' is Rprop's initial step size and must be a number, got a function; ` +
        `Rprop adapts its step sizes itself, so a schedule has no meaning here`,
    );
  }
  const lr = checkNumber(owner, 'learningRate', learningRate, { min: 0, minInclusive: false });
  const etaMinus = checkNumber(owner, 'etaMinus', options.etaMinus ?? 0.5, { min: 0, max: 1, minInclusive: false, maxInclusive: false });
  const etaPlus = checkNumber(owner, 'etaPlus', options.etaPlus ?? 1.2, { min: 1, minInclusive: false });
  const minStepSize = checkNumber(owner, 'minStepSize', options.minStepSize ?? 1e-6, { min: 0, minInclusive: false });
  const maxStepSize = checkNumber(owner, 'maxStepSize', options.maxStepSize ?? 50, { min: minStepSize });
  return { learningRate: lr, etaMinus, etaPlus, minStepSize, maxStepSize };
}

/**
 * Rescales updates by Rprop, "resilient backpropagation" (Riedmiller & Braun 1993, "A direct
 * adaptive method for faster backpropagation learning: the RPROP algorithm"), in the Rprop-
 * form that PyTorch's `torch.optim.Rprop` implements (Igel & Hüsken 2003). Only the sign of each
 * gradient element is used; each element has its own step size, which grows while the sign
 * stays and shrinks when it flips. Per element, with `prev` the gradient kept from the last
 * update (0 at first):
 *
 *     s = g * prev
 *     stepSize = clip(stepSize * (s > 0 ? etaPlus : s < 0 ? etaMinus : 1), minStepSize, maxStepSize)
 *     g' = s < 0 ? 0 : g               (a flip: no move this step, and no flip seen next step)
 *     u = stepSize * sign(g');  prev = g'
 *
 * `u` is an unsigned direction: `rprop` follows it with `scale(-1)`. The step sizes start at
 * `learningRate` (a number > 0; not a schedule). Defaults, as optax and PyTorch:
 * `etaMinus = 0.5, etaPlus = 1.2, minStepSize = 1e-6, maxStepSize = 50`.
 * State: `{ stepSizes, prevUpdates }`; `prevUpdates` holds this update's `u`, whose sign is
 * the sign of `g'`, so the next update reads the flip from it.
 *
 * Where we differ from optax, on purpose (the API fixes it): optax returns the *previous*
 * update's direction and keeps this one for the next call, so each of its steps uses a
 * step size and sign one gradient stale (its first update is all zeros). Here, as in the paper
 * and PyTorch, the step taken uses the current gradient and the step size just adapted. As in
 * PyTorch, the step size is clipped to `[minStepSize, maxStepSize]` on every update, the first
 * included (optax leaves it unclipped where `s = 0`); it makes a difference only when
 * `learningRate` lies outside that range.
 * @group Transforms
 */
export function scaleByRprop(learningRate: number, options: ScaleByRpropOptions = {}): GradientTransformation<ScaleByRpropState> {
  const owner = ownerOr('scaleByRprop');
  const o = rpropOptions(owner, learningRate, options);
  const step: ElementStep<ScaleByRpropState> = {
    owner,
    slotNames: ['state.stepSizes', 'state.prevUpdates'],
    slots: (s) => [s.stepSizes, s.prevUpdates],
    scalars: () => [o.etaPlus, o.etaMinus, o.minStepSize, o.maxStepSize],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [stepSize, prev], scalars: [plus, minus, lo, hi] }) => {
      const [zero, one] = [ops.constant(0), ops.constant(1)];
      const product = ops.keep(ops.mul(g, prev));
      const flipped = ops.keep(ops.lt(product, zero));
      const adapted = () => {
        const factor = ops.where(ops.gt(product, zero), plus, ops.where(flipped, minus, one));
        return clipByValueOps(ops, ops.mul(stepSize, factor), lo, hi);
      };
      // Equal bounds: every step size is that bound (tf.clipByValue's fill), shaped by a mask.
      const step1 = ops.keep(o.minStepSize === o.maxStepSize ? ops.where(flipped, lo, lo) : adapted());
      const direction = ops.mul(step1, signOps(ops, g));
      const u = ops.keep(ops.where(flipped, zero, direction));
      return { u, slots: [step1, u] };
    },
    next: () => ([stepSizes, prevUpdates]) => ({ stepSizes, prevUpdates }),
  };
  const tx = declareState<ScaleByRpropState>(owner, { stepSizes: 'tree', prevUpdates: 'tree' }, {
    init: (params) => ({ stepSizes: stateLike(owner, params, o.learningRate), prevUpdates: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
