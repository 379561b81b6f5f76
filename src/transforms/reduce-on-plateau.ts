import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import type { ExtraArgs, GradientTransformation } from '../types.js';
import { checkFloatTrees, mapFloatLeaves } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkOptions } from '../internal/options.js';
import { declareState } from '../internal/state.js';
import { describeNode, formatPath, isTensor } from '../tree/walk.js';

/**
 * State of {@link reduceOnPlateau}: JS numbers only (optax's fields, in camelCase).
 * @group Wrappers and combinators
 */
export interface ReduceOnPlateauState {
  /** The factor the updates are multiplied by: 1 at first, times `factor` at each plateau. */
  scale: number;
  /** The best (lowest) averaged loss seen so far; `Infinity` at first. */
  bestValue: number;
  /** Evaluations in a row without an improvement (reset at each reduction and during cooldown). */
  plateauCount: number;
  /** Evaluations left before plateaus are counted again after a reduction. */
  cooldownCount: number;
  /** Losses averaged since the last evaluation: 0 to `accumulationSize - 1`. */
  count: number;
  /** The mean of those losses (0 when `count` is 0). */
  avgValue: number;
}

/**
 * Options of {@link reduceOnPlateau}.
 * @group Wrappers and combinators
 */
export interface ReduceOnPlateauOptions {
  /** Multiplies the scale at each plateau, in (0, 1). Default `0.1`. */
  factor?: number;
  /** Evaluations without improvement that make a plateau, a whole number >= 1. Default `10`. */
  patience?: number;
  /** Relative improvement needed, in [0, 1). Default `1e-4`. */
  rtol?: number;
  /** Absolute improvement needed, >= 0 (`rtol` and `atol` may not both be 0). Default `0`. */
  atol?: number;
  /** Evaluations after a reduction during which plateaus are not counted, a whole number >= 0. Default `0`. */
  cooldown?: number;
  /** Losses averaged into one evaluation, a whole number >= 1. Default `1`. */
  accumulationSize?: number;
  /** The scale never goes below this, in [0, 1]. Default `0`. */
  minScale?: number;
}

/**
 * Scales the updates down when the loss stops improving (optax contrib's `reduce_on_plateau`,
 * like Keras's `ReduceLROnPlateau`). Every update reads the loss from `extra.value` (a number, or
 * a one-element tensor read once with `dataSync`):
 *
 *     update(updates, state, params, { value: loss })
 *
 * The losses are averaged over `accumulationSize` updates; then one evaluation of that mean `v`
 * runs, and the average restarts:
 *
 *     improved = v < (1 - rtol) * bestValue - atol;  if improved, bestValue = v
 *     plateauCount = improved ? 0 : plateauCount + 1
 *     in cooldown (cooldownCount > 0): cooldownCount -= 1, plateauCount = 0
 *     otherwise, if plateauCount = patience:
 *       scale = scale * factor, plateauCount = 0, cooldownCount = cooldown
 *     scale = max(scale, minScale)   (outside cooldown)
 *
 * and the updates are multiplied by the scale after this step's evaluation: `u = scale * g`.
 * Put it last in a chain, `chain(adam(lr), reduceOnPlateau())`, so that it scales the learning
 * rate's steps. Reductions happen after `patience` evaluations without improvement (Keras and
 * PyTorch wait for `patience + 1`).
 *
 * Defaults: `factor = 0.1, patience = 10, rtol = 1e-4, atol = 0, cooldown = 0,
 * accumulationSize = 1, minScale = 0`. State: `{ scale, bestValue, plateauCount,
 * cooldownCount, count, avgValue }`, all JS numbers; `getHyperparam(state, 'scale')` reads the
 * scale.
 *
 * Where we differ from optax, and why: the loss average, the comparisons and the scale are
 * computed in float64 as JS numbers (optax keeps them in the parameters' dtype), and the scale
 * is rounded to float32 only to multiply the updates; so a value within float32 rounding of the
 * threshold may count as an improvement here and not in optax. `patience` must be at least 1:
 * with optax's `patience = 0` the scale is cut on every *improvement* and never on a plateau.
 * `minScale` must lie in [0, 1] (the scale starts at 1 and only falls; a larger floor would
 * raise it), and `rtol` in [0, 1) (optax allows 1, where the first threshold `0 * Infinity` is
 * NaN and nothing ever counts as an improvement).
 * @group Wrappers and combinators
 */
export function reduceOnPlateau(options: ReduceOnPlateauOptions = {}): GradientTransformation<ReduceOnPlateauState> {
  const owner = 'reduceOnPlateau';
  checkOptions(owner, options, ['factor', 'patience', 'rtol', 'atol', 'cooldown', 'accumulationSize', 'minScale']);
  const factor = checkNumber(owner, 'factor', options.factor ?? 0.1, { min: 0, max: 1, minInclusive: false, maxInclusive: false });
  const patience = checkInteger(owner, 'patience', options.patience ?? 10, 1);
  const rtol = checkNumber(owner, 'rtol', options.rtol ?? 1e-4, { min: 0, max: 1, maxInclusive: false });
  const atol = checkNumber(owner, 'atol', options.atol ?? 0, { min: 0 });
  if (rtol === 0 && atol === 0) {
    throw new RangeError(`${owner}: options 'rtol' and 'atol' are both 0; at least one must be > 0, or any tiny change counts as an improvement`);
  }
  const cooldown = checkInteger(owner, 'cooldown', options.cooldown ?? 0, 0);
  const accumulationSize = checkInteger(owner, 'accumulationSize', options.accumulationSize ?? 1, 1);
  const minScale = checkNumber(owner, 'minScale', options.minScale ?? 0, { min: 0, max: 1 });

  /** The state after one evaluation of the averaged loss in `state.avgValue`. */
  const evaluate = (state: ReduceOnPlateauState): ReduceOnPlateauState => {
    const v = state.avgValue;
    const improved = v < (1 - rtol) * state.bestValue - atol;
    const bestValue = improved ? v : state.bestValue;
    const plateauCount = improved ? 0 : state.plateauCount + 1;
    // Fields in the order init gives them, so that logged states line up.
    if (state.cooldownCount > 0) {
      return { scale: state.scale, bestValue, plateauCount: 0, cooldownCount: state.cooldownCount - 1, count: 0, avgValue: 0 };
    }
    const reduce = plateauCount === patience;
    return {
      scale: Math.max(reduce ? state.scale * factor : state.scale, minScale),
      bestValue,
      plateauCount: reduce ? 0 : plateauCount,
      cooldownCount: reduce ? cooldown : 0,
      count: 0,
      avgValue: 0,
    };
  };

  return declareState<ReduceOnPlateauState>(
    owner,
    { scale: 'number', bestValue: 'number', plateauCount: 'count', cooldownCount: 'count', count: 'count', avgValue: 'number' },
    {
      init: (params) => {
        checkFloatTrees(owner, ['params'], [params]);
        return { scale: 1, bestValue: Infinity, plateauCount: 0, cooldownCount: 0, count: 0, avgValue: 0 };
      },
      update: (updates, state, _params, extra) => {
        if (!(Number.isFinite(state.scale) && state.scale >= 0)) {
          throw new RangeError(`${owner}: ${formatPath(['scale'], 'state')} must be a finite number >= 0, got ${state.scale}`);
        }
        checkFloatTrees(owner, ['updates'], [updates]);
        const value = readValue(owner, extra);
        const count = state.count + 1;
        const avgValue = (state.count * state.avgValue + value) / count;
        let next: ReduceOnPlateauState = { ...state, count, avgValue };
        if (count >= accumulationSize) next = evaluate(next);
        const out = tidy(() => {
          const s = tf.scalar(next.scale);
          return mapFloatLeaves(owner, ['updates'], [updates], (g) => tf.mul(s, g));
        }) as typeof updates;
        return [out, next];
      },
    },
  );
}

/** The loss in `extra.value` as a JS number, checked before anything is computed. @internal */
export function readValue(owner: string, extra: ExtraArgs | undefined): number {
  const value: unknown = extra?.value;
  if (value === undefined || value === null) {
    throw new Error(
      `${owner}: needs the loss in extra.value; call update(updates, state, params, { value: loss })` +
        (extra === undefined ? ' (no extra argument was given)' : ''),
    );
  }
  if (typeof value === 'number') return value;
  if (isTensor(value)) {
    if (value.isDisposed) throw new Error(`${owner}: extra.value was disposed; pass the loss before disposing it`);
    if (value.size !== 1) {
      throw new Error(`${owner}: extra.value must be a number or a tensor of one element (the loss), got ${describeNode(value)}`);
    }
    return value.dataSync()[0];
  }
  throw new TypeError(`${owner}: extra.value must be a number or a tensor of one element (the loss), got ${describeNode(value)}`);
}
