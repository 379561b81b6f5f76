import type { SlotFormat } from '../internal/state-dtype.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, Params, PyTree, Updates } from '../types.js';
import type { TreeDef } from '../tree/structure.js';
import type { LeafNorm } from '../internal/element-step.js';
import type { Program } from './program.js';

/**
 * The backend-independent description of a fused step, made from a chain of element steps by
 * steps.ts (`stepSpec`): where its per-leaf state lives, its per-step scalars, and the programs
 * each backend compiles. The composite tf-op chain remains the reference; kernels equal it to
 * float32 rounding.
 */
export interface FusedSpec<S> {
  /** The optimizer's name, for error messages. */
  owner: string;
  /** Global-norm clipping in front of the steps, if any. */
  clipNorm?: number;
  /** The state slots are one 1-D tensor each over all leaves (`flatten`'s state). */
  flatSlots?: boolean;
  /**
   * How each slot is stored, in kernel order, when some are packed (`stateDtype` bfloat16 or
   * int8): a kernel that decodes and encodes them itself reads them as they are
   * (KernelBackend.runsPackedSlots: wasm and cpu chunk by chunk, webgpu in its WGSL); other
   * backends (webgl, with its GLSL codecs) and a state in another backend's layout run them
   * through float32 copies (see packed.ts); `flatten` runs them composite.
   */
  slotFormats?: readonly SlotFormat[];
  /** Names of the slots for messages (`'state.mu'`), in kernel order. */
  slotNames: readonly string[];
  /** The per-leaf state trees in kernel order. */
  slots(state: S): Params[];
  /** The per-step scalars (without the clip scale); evaluates and checks schedules. */
  scalars(state: S): number[];
  /** Whether this update reads the parameters (weight decay at a non-zero rate). */
  readsParams(state: S): boolean;
  /**
   * The new state in two steps: `next(state)` evaluates the per-step numbers (a schedule's next
   * value, which may throw) before the kernel runs, and the function it returns builds the new
   * state from the new slot trees after.
   */
  next(state: S): (slots: Params[], leafState?: PyTree) => S;
  /**
   * The chain's leading observers (`monitor`, `snapshot`: see StepParts.observers), run on the
   * gradients before the kernel. `observe` makes their new states (freed again by `discard` if the
   * kernel then fails); `into` puts them into the step's new state.
   */
  observers?: {
    usesSumOfSquares: boolean;
    observe(
      state: S,
      updates: Updates,
      params: Params | undefined,
      extra: ExtraArgs | undefined,
      sumOfSquares: number | undefined,
    ): { into(next: S): S; discard(): void };
  };
  /** The programs of this call; `params` is given when the parameters are a kernel input. */
  programs(state: S, params: Params | undefined, how: ProgramRequest): ProgramSet;
  /**
   * The per-leaf norms the programs read, after the per-step scalars and the clip scale: which
   * norms, and the programs of the pre-pass that computes the update whose norm is taken (one
   * output, the update entering the step that reads it). Backends without the norm pass (the GPU
   * ones) run such a spec as composite tf ops.
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
}

/** What a fused call needs besides the step's numbers. */
export interface ProgramRequest {
  /** The kernel writes `p + u` instead of `u`. */
  apply: boolean;
  /** The parameters are a kernel input (the step reads them, or `apply`). */
  hasParams: boolean;
}

/** The programs of a fused call: one per distinct leaf variant, and each leaf's variant. */
export interface ProgramSet {
  programs: Program[];
  variants: number[];
}
