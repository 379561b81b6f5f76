import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { signOps } from '../internal/sign.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

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
  const owner = ownerOr('scaleByLion');
  checkOptions(owner, options, ['b1', 'b2']);
  const { b1, b2 } = lionOptions(owner, options);
  const step: ElementStep<ScaleByLionState> = {
    owner,
    slotNames: ['state.mu'],
    slots: (s) => [s.mu],
    scalars: () => [b1, 1 - b1, b2, 1 - b2],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m], scalars: [b1s, c1, b2s, c2] }) => {
      const direction = ops.keep(ops.add(ops.mul(c1, g), ops.mul(b1s, m)));
      return { u: signOps(ops, direction), slots: [ops.add(ops.mul(c2, g), ops.mul(b2s, m))] };
    },
    next: (s) => ([mu]) => ({ count: s.count + 1, mu }),
  };
  const tx = declareState<ScaleByLionState>(owner, { count: 'count', mu: 'tree' }, {
    init: (params) => ({ count: 0, mu: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
