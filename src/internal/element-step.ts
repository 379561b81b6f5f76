import type * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, Params, PyTree, Updates } from '../types.js';
import type { TreeDef } from '../tree/structure.js';
import type { Ops } from './ops.js';
import type { SlotFormat } from './state-dtype.js';

/**
 * Element steps: a transformation whose update is element-wise (each output element a function
 * of the same element of the updates, parameters and state slots, and of per-step scalars)
 * describes that function once, as an {@link ElementStep}. Its composite `update` runs the step
 * over tfjs tensors ({@link stepUpdate}); `chain` collects the steps of its parts
 * ({@link chainStepParts}) into one fused description ({@link stepSpec}) whose programs the
 * kernels compile into one pass over memory per leaf. So an optimizer that is a chain of
 * element steps is fused with no code of its own, and so are users' chains of them.
 *
 * A step may also read values that are the same for a whole leaf: the L2 norms of its incoming
 * update and of the parameter ({@link LeafNorm}: the trust ratio), and a per-leaf scalar state
 * made of them ({@link LeafScalarState}: NovoGrad's second moment). The fused path computes them
 * in a pass before the step (on wasm and cpu; see `addLeafNorms` in fused.ts) and each leaf's
 * program reads its own.
 */

/** What an element step reads, as values of the {@link Ops} in use. */
export interface StepInputs<V> {
  /** The incoming update (the gradient, for the first step of a chain). */
  u: V;
  /** The parameter, when the step reads it this update ({@link ElementStep.usesParams}). */
  p: V | null;
  /** The step's state slots, in {@link ElementStep.slotNames} order. */
  slots: readonly V[];
  /** The per-step scalars, in {@link ElementStep.scalars} order. */
  scalars: readonly V[];
  /** `true` for a leaf the step's mask leaves out ({@link ElementStep.leafMask}). */
  masked: boolean;
  /** This update's form of the step ({@link ElementStep.variant}), `''` by default. */
  variant: string;
  /**
   * The leaf's norms the step asked for ({@link ElementStep.leafNorms}), in that order, then the
   * new value of its per-leaf state ({@link ElementStep.leafState}) if it has one: values that
   * are the same for every element of the leaf.
   */
  norms: readonly V[];
}

/**
 * A per-leaf norm an element step reads: the L2 norm of the leaf's incoming update or of its
 * parameter. The fused path computes them in a pass before the step (the update's by running
 * the chain's earlier steps once without writing their state), in float64, rounded to float32.
 */
export type LeafNorm = 'update' | 'params';

/**
 * A per-leaf scalar in an element step's state (NovoGrad's second moment: one number per leaf,
 * a function of the leaf's norms). On the fused path the new value is computed in JS from the
 * float64 sums of squares of the step's {@link LeafNorm}s, with the composite path's float32
 * roundings, and the step's math reads it after the norms. A step with one supplies its own
 * composite update ({@link stepUpdate} does not compute it).
 */
export interface LeafScalarState<S> {
  /** Where the state keeps the tree of scalars, for messages (`'state.nu'`). */
  name: string;
  /**
   * The per-leaf scalars, checked (live float32 scalars in the updates' structure `def`, else a
   * clear error naming the path), in leaf order.
   */
  leaves(state: S, updates: Updates, def: TreeDef): tf.Tensor[];
  /** A leaf's new value from its sums of squares (one per LeafNorm, in order) and its old value. */
  next(state: S, sumsOfSquares: readonly number[], old: number): number;
}

/** The element-wise part of a transformation whose state is `S`. */
export interface ElementStep<S> {
  /** The transformation's name, for messages. */
  owner: string;
  /** Names of the per-leaf state trees for messages (`'state.mu'`), in slot order. */
  slotNames: readonly string[];
  /** The per-leaf state trees, in slot order. */
  slots(state: S): Params[];
  /**
   * How each slot is stored, in slot order (all `'float32'` when absent): a packed slot's leaves
   * are int32 tensors (internal/state-dtype.ts), unpacked to float32 before `emit` and the new
   * values packed after it, so `emit` always sees float32 values.
   */
  slotFormats?: readonly SlotFormat[];
  /** The per-step scalars (float64 JS numbers, rounded to float32 where used). */
  scalars(state: S): number[];
  /** Whether this update reads the parameters (weight decay at a non-zero rate). */
  usesParams(state: S): boolean;
  /**
   * The form of the math this update takes, when it changes with the state (RAdam's rectified
   * and plain steps): each form gets its own kernel, cached by this string.
   */
  variant?(state: S): string;
  /** Which leaves the step applies to (one boolean per leaf, `true` = applies), or `null`: all. */
  leafMask?(params: Params): boolean[] | null;
  /**
   * The per-leaf norms the step reads ({@link StepInputs.norms}); none by default. A step that
   * reads the parameters' norm reads the parameters ({@link usesParams} is `true`).
   */
  leafNorms?: readonly LeafNorm[];
  /** A per-leaf scalar state the step keeps (see {@link LeafScalarState}). */
  leafState?: LeafScalarState<S>;
  /**
   * The step's math for one element; `keep` every value used more than once. It must not branch
   * on anything but `p === null`, `masked` and `variant`, which are the same for a whole leaf.
   */
  emit<V>(ops: Ops<V>, x: StepInputs<V>): { u: V; slots: V[] };
  /**
   * The new state in two phases: `next(state)` evaluates this step's per-step numbers (a
   * schedule's next value, which may throw) before anything runs; the function it returns
   * builds the new state from the new slot trees.
   */
  next(state: S): (slots: Params[], leafState?: PyTree) => S;
}

/** One element step inside a larger state (a chain's), with the accessors of its state. */
export interface StepPart<S> {
  step: ElementStep<unknown>;
  get(state: S): unknown;
  set(state: S, inner: unknown): S;
}

/**
 * The element-wise description of a chain: its parts' steps in order, optionally behind a
 * global-norm clip of the incoming gradients (`chain(clipByGlobalNorm(m), ...)`).
 */
export interface StepParts<S> {
  clipNorm?: number;
  parts: StepPart<S>[];
  /**
   * Transformations at the head of a chain that look at the incoming gradients and pass them on
   * unchanged (`monitor`, `snapshot`): the fused path runs them on the gradients before the
   * kernel, with the gradients' sum of squares where the kernel computes it anyway.
   */
  observers?: Array<{ observer: StepObserver<unknown>; get(state: S): unknown; set(state: S, inner: unknown): S }>;
  /** The parts' state slots are one 1-D tensor each over all leaves (the state of `flatten`). */
  flatSlots?: boolean;
}


/**
 * A transformation that records something about the updates and passes them on unchanged
 * (`monitor`, `snapshot`), as the fused path runs it (see {@link StepParts.observers}).
 */
export interface StepObserver<S> {
  /** It measures the updates' global norm, so it can use their float64 sum of squares. */
  readonly usesSumOfSquares: boolean;
  /**
   * The new state after looking at `updates`, which it must not change or keep. `sumOfSquares`
   * is their sum of squares in float64 where the fused path has it (else it measures them as its
   * own update does). Everything it makes is in the state it returns.
   */
  observe(updates: Updates, state: S, params: Params | undefined, extra: ExtraArgs | undefined, sumOfSquares: number | undefined): S;
}
