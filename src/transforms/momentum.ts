import type { GradientTransformation, Params } from '../types.js';
import { checkBoolean, checkOptions, checkRate } from '../internal/options.js';
import { declareState } from '../internal/state.js';
import { momentField, momentsLike } from '../internal/packed-slots.js';
import { checkStateDtype, momentFormats, type StateDtype } from '../internal/state-dtype.js';
import type { ElementStep } from '../internal/element-step.js';
import { optionName, ownerOr } from '../internal/owner.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';

/**
 * State of {@link trace}: the momentum buffer, one tensor per parameter.
 * @group Transform options and states
 */
export interface TraceState {
  /**
   * The momentum buffer `t = g + decay * t` (undamped), float32 tensors shaped as the params,
   * zeros after `init`. Without Nesterov it is also the update.
   */
  trace: Params;
}

/**
 * Options of {@link trace}.
 * @group Transform options and states
 */
export interface TraceOptions {
  /** The momentum coefficient, in [0, 1]. Required. */
  decay: number;
  /** Use Nesterov's look-ahead form. Default `false`. */
  nesterov?: boolean;
  /**
   * How the moments are stored: `'float32'` (the default), `'bfloat16'` or `'int8'`; see
   * `scaleByAdam`'s `stateDtype`.
   */
  stateDtype?: StateDtype;
}

/**
 * Heavy-ball momentum (Polyak 1964), or Nesterov momentum (Sutskever et al. 2013):
 *
 *     t = g + decay * t
 *     u = t                  (nesterov: false)
 *     u = g + decay * t      (nesterov: true)
 *
 * The trace starts at zero and is not damped by `(1 - decay)`; this is the convention of optax,
 * `tf.train.momentum` and PyTorch's SGD (with dampening 0), unlike an exponential moving average.
 * `stateDtype = 'float32'` (`'bfloat16'`, `'int8'`: the trace packed, see `scaleByAdam`).
 * State: `{ trace }`.
 * @group Transforms
 */
export function trace(options: TraceOptions): GradientTransformation<TraceState> {
  const owner = ownerOr('trace');
  // `sgd`, `rmsprop` and `lars` call the decay 'momentum'.
  const decayOption = optionName('decay');
  checkOptions(owner, options, ['decay', 'nesterov', 'stateDtype']);
  if (options === undefined || options.decay === undefined) {
    throw new TypeError(`${owner}: option '${decayOption}' is required (the momentum coefficient, e.g. 0.9)`);
  }
  const decay = checkRate(owner, decayOption, options.decay, true);
  const nesterov = checkBoolean(owner, 'nesterov', options.nesterov ?? false);
  const stateDtype = checkStateDtype(owner, options.stateDtype);
  const step: ElementStep<TraceState> = {
    owner,
    slotNames: ['state.trace'],
    slots: (s) => [s.trace],
    slotFormats: momentFormats(stateDtype, [true]),
    scalars: () => [decay],
    usesParams: () => false,
    emit: (ops, { u: g, slots: [t], scalars: [d] }) => {
      const t1 = ops.keep(ops.add(g, ops.mul(d, t)));
      return { u: nesterov ? ops.add(g, ops.mul(d, t1)) : t1, slots: [t1] };
    },
    next: () => ([trace]) => ({ trace }),
  };
  const tx = declareState<TraceState>(owner, { trace: momentField(stateDtype, 'tree') }, {
    init: (params) => ({ trace: momentsLike(owner, params, stateDtype, true) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
