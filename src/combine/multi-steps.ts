import * as tf from '@tensorflow/tfjs-core';
import { flattenFloatTrees, stateLike } from '../internal/leaves.js';
import { HyperRate } from '../internal/hyper.js';
import { checkBoolean, checkRequired, checkTransformation } from '../internal/options.js';
import { declareState, subState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { fusedApply, fusedSpecOf, kernelPath, runsFused } from '../kernels/fused.js';
import { fusedAxpy, fusedFill } from '../kernels/tree-ops.js';
import { withFusedWrapper } from '../internal/record.js';
import { disposeReplaced } from '../tree/memory.js';
import { describeNode } from '../tree/walk.js';
import type { GradientTransformation, Params, ScalarOrSchedule, StateOf, Updates } from '../types.js';

/**
 * State of {@link multiSteps}.
 * @group Wrappers and combinators
 */
export interface MultiStepsState<S = unknown> {
  /** Micro-steps accumulated in the current cycle (0 right after an update). */
  miniStep: number;
  /** Updates of `inner` done (cycles completed). */
  gradientStep: number;
  /** The accumulated gradients of this cycle, divided by `k` with `useGradMean` (a tree like the params). */
  accGrads: Params;
  /** The inner transformation's state. */
  inner: S;
}

/**
 * Options of {@link multiSteps}.
 * @group Wrappers and combinators
 */
export interface MultiStepsOptions {
  /** Micro-steps per update, `k` (a whole number >= 1, or a schedule of the gradient step). */
  everyK: ScalarOrSchedule;
  /** Give `inner` the mean of the `k` gradients (`true`, the default) or their sum. */
  useGradMean?: boolean;
}

/**
 * Gradient accumulation (optax's `MultiSteps`): `k - 1` calls out of `k` add the gradients to an
 * accumulator and return zero updates without calling `inner`; the `k`-th gives `inner` the mean
 * (or, with `useGradMean: false`, the sum) of the `k` gradients and returns its updates. So `k`
 * micro-batches of size `b` step like one batch of size `k·b`, in the memory of one.
 *
 *     multiSteps(adamw(1e-3), { everyK: 4 })
 *
 * `k = everyK(gradientStep)` is fixed for a cycle when it starts. The accumulator holds
 * `sum(g_i) / k` (each `g_i / k` added as it comes, so the mean needs no extra pass), or the plain
 * sum; it is the only parameter-sized buffer the wrapper keeps (optax #472). On a fused path the
 * accumulation is one kernel over all leaves (in place under `trainStep`), and `inner`'s update
 * runs its own kernel; under `trainStep` the accumulating steps leave the parameters untouched
 * rather than adding zeros.
 *
 * State: `{ miniStep, gradientStep, accGrads, inner }`; {@link hasUpdated} tells whether the last
 * call updated.
 * @group Wrappers and combinators
 */
export function multiSteps<T extends GradientTransformation<any>>(
  inner: T,
  options: MultiStepsOptions,
): GradientTransformation<MultiStepsState<StateOf<T>>> {
  const owner = 'multiSteps';
  checkTransformation(owner, inner);
  checkRequired(owner, options, ['everyK'], ['everyK', 'useGradMean']);
  const everyK = new HyperRate(owner, 'everyK', options.everyK, 1);
  const useMean = checkBoolean(owner, 'useGradMean', options.useGradMean ?? true);
  type S = MultiStepsState<StateOf<T>>;

  /** `k` for the cycle that starts at `gradientStep`, checked to be a whole number >= 1. */
  const kAt = (gradientStep: number): number => {
    const k = everyK.at(gradientStep);
    if (!Number.isInteger(k)) {
      throw new RangeError(`${owner}: option 'everyK' must be a whole number >= 1, got ${describeNode(k)} at gradient step ${gradientStep}`);
    }
    return k;
  };
  kAt(0);

  /** `acc + g / k` (or `acc + g`) per leaf, fused where a kernel exists. */
  const accumulate = (acc: readonly tf.Tensor[], g: readonly tf.Tensor[], k: number, inPlace: boolean): tf.Tensor[] => {
    const factor = useMean ? 1 / k : 1;
    return (
      fusedAxpy(acc, g, factor, inPlace) ??
      tf.tidy(() => {
        const f = tf.scalar(factor);
        return acc.map((a, j) => tf.add(a, tf.mul(g[j], f)));
      })
    );
  };

  /**
   * The trees lined up: gradient and accumulator leaves, and the structure to rebuild; with
   * `params`, checked against them too, before an in-place step changes anything.
   */
  const leavesOf = (updates: Updates, state: S, params?: Params) => {
    const names = ['updates', 'state.accGrads', ...(params === undefined ? [] : ['params'])];
    const trees = [updates, state.accGrads, ...(params === undefined ? [] : [params])];
    const [[g, acc], def] = flattenFloatTrees(owner, names, trees);
    return { g, acc, def };
  };

  const tx = declareState<S>(
    owner,
    { miniStep: 'count', gradientStep: 'count', accGrads: 'tree', inner: subState(inner) },
    {
      init: (params) => ({ miniStep: 0, gradientStep: 0, accGrads: stateLike(owner, params), inner: inner.init(params) }),
      update: (updates, state, params, extra) => {
        const k = kAt(state.gradientStep);
        const { g, acc, def } = leavesOf(updates, state);
        if (state.miniStep + 1 < k) {
          const next = accumulate(acc, g, k, false);
          const zeros = tidy(() => g.map((x) => tf.zerosLike(x)));
          return [def.unflatten(zeros) as typeof updates, { ...state, miniStep: state.miniStep + 1, accGrads: def.unflatten(next) as Params }];
        }
        const total = def.unflatten(accumulate(acc, g, k, false)) as typeof updates;
        let out: [typeof updates, StateOf<T>];
        try {
          out = inner.update(total, state.inner, params, extra);
        } catch (err) {
          disposeReplaced(total, updates);
          throw err;
        }
        // The mean was a temporary, unless the inner transformation passed it on.
        disposeReplaced(total, [updates, out]);
        const fresh = tidy(() => def.unflatten(acc.map((a) => tf.zerosLike(a))) as Params);
        return [out[0], { miniStep: 0, gradientStep: state.gradientStep + 1, accGrads: fresh, inner: out[1] }];
      },
    },
  );
  return withFusedWrapper(tx, {
    fusable: (programsOnly) => runsFused(inner, programsOnly),
    apply: (grads, state, params, inPlace, _sum, extra) => {
      if (kernelPath(inner) === 'composite') return undefined;
      const k = kAt(state.gradientStep);
      const { g, acc, def } = leavesOf(grads, state, params);
      if (state.miniStep + 1 < k) {
        // The parameters do not change: the same tree comes back, as from an in-place step.
        const next = accumulate(acc, g, k, inPlace);
        return [params, { ...state, miniStep: state.miniStep + 1, accGrads: def.unflatten(next) as Params }];
      }
      if (inPlace && fusedSpecOf(inner) !== undefined) {
        // The mean goes to new buffers, not the accumulator's: the inner step may still throw
        // (its schedule, say), and a step that throws must leave the state as it was. Once the
        // inner kernel has read it (writing the parameters and its state in place), the mean's
        // buffers are zeroed and become the next cycle's accumulator. `fusedApply` of a kernel
        // always runs here, so nothing is done twice.
        const mean = accumulate(acc, g, k, false);
        let out: [Params, StateOf<T>];
        try {
          out = fusedApply(inner, def.unflatten(mean) as Updates, state.inner, params, true, undefined, extra)!;
        } catch (err) {
          tf.dispose(mean);
          throw err;
        }
        if (!fusedFill(mean, 0)) {
          // Unreachable while every fused path can fill (the inner kernel ran on one): fresh
          // zeros rather than an accumulator still holding the mean.
          const zeros = tidy(() => mean.map((m) => tf.zerosLike(m)));
          tf.dispose(mean);
          return [out[0], { miniStep: 0, gradientStep: state.gradientStep + 1, accGrads: def.unflatten(zeros) as Params, inner: out[1] }];
        }
        return [out[0], { miniStep: 0, gradientStep: state.gradientStep + 1, accGrads: def.unflatten(mean) as Params, inner: out[1] }];
      }
      const total = def.unflatten(accumulate(acc, g, k, false)) as Updates;
      let out: [Params, StateOf<T>] | undefined;
      try {
        out = fusedApply(inner, total, state.inner, params, inPlace, undefined, extra);
      } finally {
        disposeReplaced(total, [grads, out]);
      }
      if (out === undefined) return undefined;
      const fresh = tidy(() => def.unflatten(acc.map((a) => tf.zerosLike(a))) as Params);
      return [out[0], { miniStep: 0, gradientStep: state.gradientStep + 1, accGrads: fresh, inner: out[1] }];
    },
  });
}

/**
 * Whether the last update of a {@link multiSteps} state called the inner transformation (the
 * parameters moved), as optax's `has_updated`: `miniStep == 0` after at least one cycle.
 * @group Wrappers and combinators
 */
export function hasUpdated(state: MultiStepsState<unknown>): boolean {
  if (state === null || typeof state !== 'object' || typeof state.miniStep !== 'number' || typeof state.gradientStep !== 'number') {
    throw new TypeError(`hasUpdated: expected the state of multiSteps ({ miniStep, gradientStep, accGrads, inner }), got ${describeNode(state)}`);
  }
  return state.miniStep === 0 && state.gradientStep > 0;
}
