import * as tf from '@tensorflow/tfjs-core';
import { flattenFloatTrees } from '../internal/leaves.js';
import { checkInteger, checkRequired, checkTransformation } from '../internal/options.js';
import { declareState, subState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { fusedApply, fusedUpdate, kernelPath, runsFused } from '../kernels/fused.js';
import { fusedSumOfSquares } from '../kernels/tree-ops.js';
import { withFusedWrapper } from '../internal/record.js';
import type { GradientTransformation, StateOf, Updates } from '../types.js';

/**
 * State of {@link applyIfFinite}.
 * @group Wrappers and combinators
 */
export interface ApplyIfFiniteState<S = unknown> {
  /** Non-finite steps in a row, reset by a finite step and by giving up (see below). */
  notfiniteCount: number;
  /** Whether the last step's updates were all finite. */
  lastFinite: boolean;
  /** Non-finite steps seen in all. */
  totalNotfinite: number;
  /** The inner transformation's state, unchanged by a skipped step. */
  inner: S;
}

/**
 * Options of {@link applyIfFinite}.
 * @group Wrappers and combinators
 */
export interface ApplyIfFiniteOptions {
  /** Skipped steps in a row after which a non-finite step is applied anyway (a whole number >= 0). */
  maxConsecutiveErrors: number;
}

/**
 * Skips steps whose incoming updates hold a NaN or an infinity (optax's `apply_if_finite`): such
 * a step returns zero updates and leaves the inner state as it was, so one bad batch (an
 * overflow, a log of zero) does not poison the moments. After `maxConsecutiveErrors` skips in a
 * row, the next non-finite step is passed to `inner` (something is persistently wrong, and the
 * NaN should show) **and the counter starts again from 0**; optax keeps counting there, so after
 * giving up once it applies every later non-finite step too (optax PR #1746).
 *
 *     applyIfFinite(chain(clipByGlobalNorm(1), adamw(1e-3)), { maxConsecutiveErrors: 5 })
 *
 * The test reads one number back from the device per step. Where `inner` runs a fused kernel,
 * the test is the gradients' sum of squares (float64), the same pass global-norm clipping makes,
 * and the kernel reuses it for its clip scale; elsewhere it is one reduction per leaf.
 *
 * State: `{ notfiniteCount, lastFinite, totalNotfinite, inner }`.
 * @group Wrappers and combinators
 */
export function applyIfFinite<T extends GradientTransformation<any>>(
  inner: T,
  options: ApplyIfFiniteOptions,
): GradientTransformation<ApplyIfFiniteState<StateOf<T>>> {
  const owner = 'applyIfFinite';
  checkTransformation(owner, inner);
  checkRequired(owner, options, ['maxConsecutiveErrors'], ['maxConsecutiveErrors']);
  const maxErrors = checkInteger(owner, 'maxConsecutiveErrors', options.maxConsecutiveErrors, 0);
  type S = ApplyIfFiniteState<StateOf<T>>;

  /** The counters after a step whose updates were (not) finite, and whether to apply it. */
  const decide = (state: S, finite: boolean): { apply: boolean; counters: Omit<S, 'inner'> } => {
    const streak = finite ? 0 : state.notfiniteCount + 1;
    const giveUp = !finite && streak > maxErrors;
    return {
      apply: finite || giveUp,
      counters: {
        notfiniteCount: giveUp ? 0 : streak,
        lastFinite: finite,
        totalNotfinite: state.totalNotfinite + (finite ? 0 : 1),
      },
    };
  };

  /** The updates' sum of squares on the fused path (`undefined` on the composite one). */
  const fusedTest = (updates: Updates): number | undefined => {
    if (kernelPath(inner) === 'composite') return undefined;
    const [[leaves]] = flattenFloatTrees(owner, ['updates'], [updates]);
    return fusedSumOfSquares(leaves);
  };

  const tx = declareState<S>(
    owner,
    { notfiniteCount: 'count', lastFinite: 'flag', totalNotfinite: 'count', inner: subState(inner) },
    {
      init: (params) => ({ notfiniteCount: 0, lastFinite: true, totalNotfinite: 0, inner: inner.init(params) }),
      update: (updates, state, params, extra) => {
        const sum = fusedTest(updates);
        const { apply, counters } = decide(state, sum === undefined ? allFinite(owner, updates) : Number.isFinite(sum));
        if (!apply) return [zerosLike(updates), { ...counters, inner: state.inner }];
        const reuse = sum !== undefined && Number.isFinite(sum) ? sum : undefined;
        const [u, s] = fusedUpdate(inner, updates, state.inner, params, extra, reuse);
        return [u, { ...counters, inner: s }];
      },
    },
  );
  return withFusedWrapper(tx, {
    fusable: (programsOnly) => runsFused(inner, programsOnly),
    apply: (grads, state, params, inPlace, _sum, extra) => {
      const sum = fusedTest(grads);
      if (sum === undefined) return undefined;
      const { apply, counters } = decide(state, Number.isFinite(sum));
      // A skipped step changes no parameter: the same tree comes back, as from an in-place step.
      if (!apply) return [params, { ...counters, inner: state.inner }];
      const out = fusedApply(inner, grads, state.inner, params, inPlace, Number.isFinite(sum) ? sum : undefined, extra);
      return out && [out[0], { ...counters, inner: out[1] }];
    },
  });
}

/**
 * Whether every element of every leaf is finite: `sum(g * 0)` is 0 for finite elements and NaN
 * as soon as one is NaN or infinite, so one reduction per leaf and one read decide it.
 */
function allFinite(owner: string, updates: Updates): boolean {
  const [[leaves]] = flattenFloatTrees(owner, ['updates'], [updates]);
  if (leaves.length === 0) return true;
  const probe = tf.tidy(() => {
    const zero = tf.scalar(0);
    return tf.addN(leaves.map((g) => tf.sum(tf.mul(g, zero))));
  });
  const value = probe.dataSync()[0];
  probe.dispose();
  return !Number.isNaN(value);
}

/** New zero tensors with the structure and shapes of `updates`. */
function zerosLike<U extends Updates>(updates: U): U {
  const [[leaves], def] = flattenFloatTrees('applyIfFinite', ['updates'], [updates]);
  return tidy(() => def.unflatten(leaves.map((g) => tf.zerosLike(g)))) as U;
}
