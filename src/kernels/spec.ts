import type * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, PyTree, Updates } from '../types.js';
import type { TreeDef } from '../tree/structure.js';
import type { LeafNorm, ProgramRequest, ProgramSet } from './step.js';

/**
 * The backend-independent description of a fused optimizer step: which kernel family computes
 * it, its variant flags, where its per-leaf state lives, and the per-step scalars. The
 * composite tf-op chain the optimizer is built from remains the reference; kernels must equal
 * it to float32 rounding.
 */

/**
 * The kernel families: one hand-written kernel per direction rule, and `'program'` for kernels
 * generated from element steps (see step.ts).
 */
export type Family = 'adam' | 'sgd' | 'rms' | 'rss' | 'program';

/** The hand-written kernel families. */
export type WrittenFamily = Exclude<Family, 'program'>;

/** Variant flags shared by the kernels (see the header of wasm/optimizers.wat). */
export const FLAG = {
  nesterov: 1,
  apply: 2,
  clip: 4,
  decay: 8,
  momentum: 16,
  centered: 32,
  epsInSqrt: 64,
  biasCorrection: 128,
  /** rsqrt as the cpu backend rounds it: `1 / sqrt(x)` in float64, rounded once. */
  rsqrtOnce: 256,
} as const;

/**
 * Per-step scalars, in the order each family's kernel reads them (float32); the clip scale is
 * appended by the runner.
 *   adam: b1, 1-b1, b2, 1-b2, bc1, bc1(t+1), bc2, eps, epsRoot, weightDecay, lrFactor
 *   sgd:  momentum, lrFactor
 *   rms:  decay, 1-decay, bc, eps, momentum, lrFactor
 *   rss:  eps, lrFactor
 */
export const SCALAR_COUNT: Record<WrittenFamily, number> = { adam: 11, sgd: 2, rms: 6, rss: 2 };

/** How many per-leaf state slots each family has (absent ones are `null`). */
export const SLOT_COUNT: Record<WrittenFamily, number> = { adam: 2, sgd: 1, rms: 3, rss: 1 };

/** A fused implementation of a transformation whose state is `S`. */
export interface FusedSpec<S> {
  /** The optimizer's name, for error messages. */
  owner: string;
  family: Family;
  /** Variant flags (nesterov, decay, momentum, centered, epsInSqrt, biasCorrection). */
  flags: number;
  /** Global-norm clipping in front of the optimizer, if any. */
  clipNorm?: number;
  /** The state slots are one 1-D tensor each over all leaves (`flatten`'s state). */
  flatSlots?: boolean;
  /** Names of the slots for messages (`'state.mu'`), in kernel order; `null` where absent. */
  slotNames: ReadonlyArray<string | null>;
  /** The per-leaf state trees in kernel order, `null` where this variant has none. */
  slots(state: S): Array<Params | null>;
  /** The per-step scalars (without the clip scale); evaluates and checks schedules. */
  scalars(state: S): number[];
  /**
   * Whether this step decays at all (with `FLAG.decay`): a step whose weight-decay rate is 0
   * skips the decay term, as the composite `addDecayedWeights` does. Default: always.
   */
  decaying?(state: S): boolean;
  /** Which leaves get weight decay (one boolean per leaf), or `null` for none. */
  decayMask?(params: Params): boolean[] | null;
  /**
   * The new state in two steps: `next(state)` evaluates the per-step numbers (a schedule's next
   * value, which may throw) before the kernel runs, and the function it returns builds the new
   * state from the new slot trees after.
   */
  next(state: S): (slots: Array<Params | null>, leafState?: PyTree) => S;
  /**
   * The `'program'` family's generated programs for this call (see step.ts); `params` is given
   * when the parameters are a kernel input.
   */
  programs?(state: S, params: Params | undefined, how: ProgramRequest): ProgramSet;
  /**
   * The per-leaf norms the `'program'` family's programs read, after the per-step scalars and
   * the clip scale (see step.ts): which norms, and the programs of the pre-pass that computes
   * the update whose norm is taken (one output, the update entering the step that reads it).
   * The kernels of the backends that run generated programs only (webgpu) have no per-leaf
   * scalars: such a spec runs as composite tf ops there.
   */
  leafNorms?: {
    kinds: readonly LeafNorm[];
    programs(state: S, params: Params | undefined, how: ProgramRequest): ProgramSet;
    /** The update whose norm is taken is the gradient as given (no pre-pass needed). */
    raw: boolean;
    /**
     * The per-leaf scalar state of the step that reads the norms (see LeafScalarState): its
     * checked old values, and a leaf's new value, which the programs read after the norms.
     */
    state?: {
      leaves(state: S, updates: Updates, def: TreeDef): tf.Tensor[];
      next(state: S, sumsOfSquares: readonly number[], old: number): number;
    };
  };
  /**
   * For a hand-written family: the same step as generated programs (the `'program'` spec of the
   * chain of element steps the optimizer is built from), for backends that run only generated
   * kernels (webgpu); absent when the transformation has no element-wise description.
   */
  generated?(): FusedSpec<S>;
}

/** Where a transformation keeps its fused description. */
export const FUSED: unique symbol = Symbol.for('tfjs-optax.fused');

/** Marks `clipByGlobalNorm` so `chain` can fold it into a fused kernel. */
export const CLIP_NORM: unique symbol = Symbol.for('tfjs-optax.clipNorm');

/**
 * Where a wrapper keeps its fused step: a wrapper whose inner transformation has a fused kernel
 * (`injectHyperparams(adamw)`, `applyIfFinite(chain(clip, adamw))`, `multiSteps(adam)`) runs
 * that kernel in its own way and says so here, for `kernelPath` and `trainStep`.
 */
export const FUSED_WRAPPER: unique symbol = Symbol.for('tfjs-optax.fusedWrapper');

/** The fused step of a wrapper (see {@link FUSED_WRAPPER}). */
export interface FusedWrapper<S> {
  /**
   * Whether a fused kernel runs this wrapper's step when the backend has kernels; with
   * `generatedOnly`, where only generated programs run (see {@link isFusable}).
   */
  fusable(generatedOnly?: boolean): boolean;
  /**
   * The step with the update applied (new params and state), through the inner kernel; the
   * state has been checked against the wrapper's layout. `undefined` to fall back to `update`.
   */
  apply(grads: Updates, state: S, params: Params, inPlace: boolean, sumOfSquares?: number): [Params, S] | undefined;
}

/** A transformation that may carry a fused description. */
export type MaybeFused<S> = GradientTransformation<S> & {
  [FUSED]?: FusedSpec<S>;
  [CLIP_NORM]?: number;
  [FUSED_WRAPPER]?: FusedWrapper<S>;
};

/**
 * Whether `tx` runs a fused kernel (its own, or its inner transformation's) where one exists;
 * with `generatedOnly`, where only generated programs run (webgpu).
 */
export function isFusable(tx: GradientTransformation<any>, generatedOnly = false): boolean {
  const t = tx as MaybeFused<unknown>;
  const spec = t[FUSED];
  if (spec !== undefined) {
    if (!generatedOnly) return true;
    const generated = programSpecOf(spec);
    return generated !== undefined && generated.leafNorms === undefined;
  }
  return t[FUSED_WRAPPER]?.fusable(generatedOnly) ?? false;
}

/** Each hand-written spec's generated form, made once (`null`: none). */
let generatedSpecs: WeakMap<FusedSpec<any>, FusedSpec<any> | null> | undefined;

/**
 * `spec` as generated programs: itself for the `'program'` family, its {@link FusedSpec.generated}
 * form for a hand-written one (keeping its flat slots), `undefined` when it has none.
 */
export function programSpecOf<S>(spec: FusedSpec<S>): FusedSpec<S> | undefined {
  if (spec.family === 'program') return spec;
  generatedSpecs ??= new WeakMap();
  let made = generatedSpecs.get(spec);
  if (made === undefined) {
    const g = spec.generated?.();
    made = g === undefined ? null : spec.flatSlots ? { ...g, flatSlots: true } : g;
    generatedSpecs.set(spec, made);
  }
  return made ?? undefined;
}

/** The fused description of a transformation, if it has one. */
export function fusedSpecOf<S>(tx: GradientTransformation<S>): FusedSpec<S> | undefined {
  return (tx as MaybeFused<S>)[FUSED];
}
