import type { ExtraArgs, GradientTransformation, Params, Updates } from '../types.js';
import type { ElementStep, StepParts } from './element-step.js';
import type { StateLayout } from './state.js';

/**
 * What the library knows about one of its transformations beyond `init` and `update`, kept in
 * one record under one symbol: who it is (for messages), the layout of its state (checked at every
 * update), its element-wise math (which `chain` composes and the kernels compile), and how a
 * wrapper runs its inner transformation's kernel. A user's own `{ init, update }` has no record,
 * and everything here treats it as opaque.
 *
 * A record is never changed once attached: the `with*` functions attach a new one. Transformations
 * built by spreading another (`{ ...tx, init }`) then share a record safely.
 */
export interface TransformRecord<S = any> {
  /** The name the user called (`'adamw'`), for messages. */
  readonly owner?: string;
  /** The layout of the state, checked before each update (see internal/state.ts). */
  readonly layout?: StateLayout;
  /** A single transformation's element-wise math (see internal/element-step.ts). */
  readonly step?: ElementStep<S>;
  /**
   * A composite element-wise description: a chain's parts, or (`clipByGlobalNorm`) a global-norm
   * clip with no parts. See {@link stepsOf}.
   */
  readonly steps?: StepParts<S>;
  /**
   * `update` runs the fused kernel of its {@link stepsOf | steps} where the backend has one (a
   * chain of element steps, `flatten` of one): `owner` names the optimizer in the kernel's
   * messages; `flat`, over the state slots of `flatten`, one 1-D tensor each.
   */
  readonly fused?: { readonly owner: string; readonly flat: boolean };
  /** A wrapper's own fused step through its inner transformation's kernel. */
  readonly wrapper?: FusedWrapper<S>;
}

/**
 * The fused step of a wrapper whose inner transformation has a fused kernel
 * (`injectHyperparams(adamw)`, `applyIfFinite(chain(clip, adamw))`, `multiSteps(adam)`).
 */
export interface FusedWrapper<S> {
  /**
   * Whether a fused kernel runs this wrapper's step on a backend with kernels; with
   * `programsOnly`, on one whose kernels read no per-leaf norms (the GPU backends).
   */
  fusable(programsOnly: boolean): boolean;
  /**
   * The step with the update applied (new params and state), through the inner kernel; the
   * state has been checked against the wrapper's layout. `undefined` to fall back to `update`.
   */
  apply(grads: Updates, state: S, params: Params, inPlace: boolean, sumOfSquares?: number, extra?: ExtraArgs): [Params, S] | undefined;
}

const RECORD: unique symbol = Symbol.for('tfjs-optax.record');

type Recorded<S> = GradientTransformation<S> & { [RECORD]?: TransformRecord<S> };

/** The record of `tx` (empty for a user's own transformation). */
export function recordOf<S>(tx: GradientTransformation<S>): TransformRecord<S> {
  return (tx as Recorded<S>)[RECORD] ?? EMPTY;
}

const EMPTY: TransformRecord = Object.freeze({});

/** Attaches to `tx` its record with `fields` replaced; returns `tx`. */
export function withRecord<S>(tx: GradientTransformation<S>, fields: TransformRecord<S>): GradientTransformation<S> {
  (tx as Recorded<S>)[RECORD] = Object.freeze({ ...recordOf(tx), ...fields });
  return tx;
}

/** Attaches a transformation's element step (returns `tx`). */
export function withElementStep<S>(tx: GradientTransformation<S>, step: ElementStep<S>): GradientTransformation<S> {
  return withRecord(tx, { step });
}

/** The element step of `tx`, if it is a single element-wise transformation. */
export function elementStepOf<S>(tx: GradientTransformation<S>): ElementStep<S> | undefined {
  return recordOf(tx).step;
}

/**
 * The element-wise description of `tx`: a chain's parts or a clip ({@link TransformRecord.steps}),
 * or a single transformation's step as one part reading the whole state; `undefined` when `tx`
 * is not element-wise.
 */
export function stepsOf<S>(tx: GradientTransformation<S>): StepParts<S> | undefined {
  const { step, steps } = recordOf(tx);
  if (steps !== undefined) return steps;
  return step === undefined ? undefined : { parts: [{ step: step as ElementStep<unknown>, get: (s) => s, set: (_, inner) => inner as S }] };
}

/** Attaches a wrapper's fused step (returns `tx`). */
export function withFusedWrapper<S>(tx: GradientTransformation<S>, wrapper: FusedWrapper<S>): GradientTransformation<S> {
  return withRecord(tx, { wrapper });
}
