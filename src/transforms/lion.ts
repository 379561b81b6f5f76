import type { GradientTransformation, Params } from '../types.js';
import { checkChoice, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { signOps } from '../internal/sign.js';
import { tanhOps } from '../internal/tanh.js';
import type { Ops } from '../internal/ops.js';
import { declareState } from '../internal/state.js';
import { momentField, momentsLike } from '../internal/packed-slots.js';
import { checkStateDtype, momentFormats, type StateDtype } from '../internal/state-dtype.js';
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
  /**
   * How the interpolation `x` becomes the direction (optax's `mode`): `'hard'`, `sign(x)` (the
   * default, Lion as published); `'smooth'`, `tanh(smoothBeta * x)`; `'refined'`, `x` where
   * `|x| < 1` and `sign(x)` elsewhere (`x` clipped to [-1, 1]).
   */
  mode?: LionMode;
  /** The slope of `'smooth'` at 0, a finite number > 0; only with `mode: 'smooth'`. Default `1`. */
  smoothBeta?: number;
  /**
   * How the moments are stored: `'float32'` (the default), `'bfloat16'` or `'int8'`; see
   * `scaleByAdam`'s `stateDtype`.
   */
  stateDtype?: StateDtype;
}

/**
 * The forms of Lion's direction: see {@link ScaleByLionOptions.mode}.
 * @group Transform options and states
 */
export type LionMode = 'hard' | 'smooth' | 'refined';

/** The option names of {@link scaleByLion}, which `lion` takes too. */
export const LION_KEYS = ['b1', 'b2', 'mode', 'smoothBeta', 'stateDtype'] as const;

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
  const mode = checkChoice(owner, 'mode', options.mode ?? 'hard', ['hard', 'smooth', 'refined'] as const);
  const smoothBeta = checkNumber(owner, 'smoothBeta', options.smoothBeta ?? 1, { min: 0, minInclusive: false });
  if (options.smoothBeta !== undefined && mode !== 'smooth') {
    // optax ignores it; here a slope that would change nothing is a mistake worth naming.
    throw new TypeError(`${owner}: option 'smoothBeta' needs mode: 'smooth', got mode ${JSON.stringify(mode)}`);
  }
  return {
    b1: checkRate(owner, 'b1', options.b1 ?? 0.9),
    b2: checkRate(owner, 'b2', options.b2 ?? 0.99),
    mode,
    smoothBeta,
    stateDtype: checkStateDtype(owner, options.stateDtype),
  };
}

/** Lion's direction from the interpolation `x` (kept by the caller: the forms read it more than once). */
function lionDirection<V>(ops: Ops<V>, mode: LionMode, x: V, smoothBeta: V | undefined): V {
  if (mode === 'smooth') return tanhOps(ops, ops.keep(ops.mul(smoothBeta!, x)));
  if (mode === 'refined') return ops.where(ops.lt(ops.abs(x), ops.constant(1)), x, signOps(ops, x));
  return signOps(ops, x);
}

/**
 * Rescales updates by Lion (Chen et al. 2023, "Symbolic Discovery of Optimization
 * Algorithms", arXiv:2302.06675): the sign of an interpolation between gradient and momentum,
 * so (in the default mode) every coordinate moves by exactly the learning rate:
 *
 *     x = (1 - b1) * g + b1 * mu
 *     u = sign(x)                             mode 'hard' (the default)
 *     u = tanh(smoothBeta * x)                mode 'smooth'
 *     u = |x| < 1 ? x : sign(x)               mode 'refined'
 *     mu = (1 - b2) * g + b2 * mu
 *
 * The modes are optax's (`scale_by_lion(mode=, smooth_beta=)`): the smooth and refined forms
 * move a coordinate by less than the learning rate where the interpolation is small. `sign` is
 * JAX's on every backend (NaN stays NaN); `tanh` is float32's rational approximation, the one
 * XLA uses on CPU, within 7 ulps of the exact value, so every mode runs fused.
 *
 * Defaults: `b1 = 0.9, b2 = 0.99, mode = 'hard', smoothBeta = 1`. `smoothBeta` must be > 0 and
 * is a `TypeError` without `mode: 'smooth'` (optax ignores it). `stateDtype = 'float32'`
 * (`'bfloat16'`, `'int8'`: `mu` packed, see `scaleByAdam`). State: `{ count, mu }`, `mu`
 * starting at zero.
 * @group Transforms
 */
export function scaleByLion(options: ScaleByLionOptions = {}): GradientTransformation<ScaleByLionState> {
  const owner = ownerOr('scaleByLion');
  checkOptions(owner, options, LION_KEYS);
  const { b1, b2, mode, smoothBeta, stateDtype } = lionOptions(owner, options);
  const step: ElementStep<ScaleByLionState> = {
    owner,
    slotNames: ['state.mu'],
    slots: (s) => [s.mu],
    slotFormats: momentFormats(stateDtype, [true]),
    // smoothBeta is a scalar of the smooth form only, so the hard form's kernel is unchanged.
    scalars: () => (mode === 'smooth' ? [b1, 1 - b1, b2, 1 - b2, smoothBeta] : [b1, 1 - b1, b2, 1 - b2]),
    usesParams: () => false,
    emit: (ops, { u: g, slots: [m], scalars: [b1s, c1, b2s, c2, betaS] }) => {
      const direction = ops.keep(ops.add(ops.mul(c1, g), ops.mul(b1s, m)));
      return { u: lionDirection(ops, mode, direction, betaS), slots: [ops.add(ops.mul(c2, g), ops.mul(b2s, m))] };
    },
    next: (s) => ([mu]) => ({ count: s.count + 1, mu }),
  };
  const tx = declareState<ScaleByLionState>(owner, { count: 'count', mu: momentField(stateDtype, 'tree') }, {
    init: (params) => ({ count: 0, mu: momentsLike(owner, params, stateDtype, true) }),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
