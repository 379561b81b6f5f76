import type { GradientTransformation, Params } from '../types.js';
import { stateLike } from '../internal/leaves.js';
import { biasCorrection, emaOps } from '../internal/moments.js';
import { checkBoolean, checkRate, checkRequired } from '../internal/options.js';
import { optionName, ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

/**
 * State of {@link ema}: updates done, and the moving average of the updates (not debiased).
 * @group Wrappers and combinators
 */
export interface EmaState {
  /** Updates done so far. */
  count: number;
  /** The exponential moving average of the incoming updates, started at zero. */
  ema: Params;
}

/**
 * Options of {@link ema}.
 * @group Wrappers and combinators
 */
export interface EmaOptions {
  /** Weight of the old average, in [0, 1) (in [0, 1] with `debias: false`). Required. */
  decay: number;
  /** Divide the average by `1 - decay^t` to undo its pull towards the zero start. Default `true`. */
  debias?: boolean;
}

/**
 * Replaces the updates by their exponential moving average (optax's `ema`). With `t = count + 1`
 * the number of this update:
 *
 *     ema = (1 - decay) * g + decay * ema
 *     u = ema / (1 - decay^t)      (debias: true, the default)
 *     u = ema                      (debias: false)
 *
 * The average starts at zero; the correction `1 - decay^t` is computed in float64 from the step
 * count, as Adam's is. Unlike `trace` (momentum, `t = g + decay * t`), the new update is
 * weighted by `1 - decay`, so a constant input `g` gives `u = g` from the first step when
 * debiased. With `debias: false` the returned updates are the state's average itself (the same
 * tensors), as in optax.
 *
 * Defaults: `debias = true`; `decay` is required. State: `{ count, ema }`, the stored average
 * not debiased.
 * @group Wrappers and combinators
 */
export function ema(options: EmaOptions): GradientTransformation<EmaState> {
  const owner = ownerOr('ema');
  checkRequired(owner, options, ['decay'], ['decay', 'debias']);
  const debias = checkBoolean(owner, 'debias', options.debias ?? true);
  // decay = 1 keeps the average at zero, and with the correction divides 0 by 0.
  // `signum` calls the decay 'beta'.
  const decay = checkRate(owner, optionName('decay'), options.decay, !debias);
  const step: ElementStep<EmaState> = {
    owner,
    slotNames: ['state.ema'],
    slots: (s) => [s.ema],
    scalars: (s) => [decay, 1 - decay, biasCorrection(decay, s.count + 1)],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m], scalars: [d, c, bc] }) => {
      const m1 = ops.keep(emaOps(ops, g, m, d, c));
      return { u: debias ? ops.div(m1, bc) : m1, slots: [m1] };
    },
    next: (s) => ([average]) => ({ count: s.count + 1, ema: average }),
  };
  const tx = declareState<EmaState>(owner, { count: 'count', ema: 'tree' }, {
    init: (params) => ({ count: 0, ema: stateLike(owner, params) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
