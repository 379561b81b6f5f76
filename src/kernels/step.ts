import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, PyTree, Updates } from '../types.js';
import type { TreeDef } from '../tree/structure.js';
import { mapFloatLeavesN, missingParams } from '../internal/leaves.js';
import { TensorOps } from '../internal/tensor-ops.js';
import { leafNorm } from '../internal/leaf-norms.js';
import { tidy } from '../internal/tidy.js';
import { ProgramBuilder, type Ops, type Program } from './program.js';
import { FLAG, type FusedSpec } from './spec.js';

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

/** Where a transformation keeps its element step. */
export const ELEMENT_STEP: unique symbol = Symbol.for('tfjs-optax.elementStep');

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

/** The element step of `tx`, if it has one. */
export function elementStepOf<S>(tx: GradientTransformation<S>): ElementStep<S> | undefined {
  return (tx as { [ELEMENT_STEP]?: ElementStep<S> })[ELEMENT_STEP];
}

/** Attaches `step` to `tx` (returns `tx`). */
export function withElementStep<S>(tx: GradientTransformation<S>, step: ElementStep<S>): GradientTransformation<S> {
  (tx as { [ELEMENT_STEP]?: ElementStep<S> })[ELEMENT_STEP] = step;
  return tx;
}

/**
 * The composite update of `step`: its math over tfjs tensors, leaf by leaf, with the per-step
 * scalars as scalar tensors shared by every leaf. The caller has checked the state's layout.
 */
export function stepUpdate<S>(step: ElementStep<S>) {
  if (step.leafState !== undefined) throw new Error(`tfjs-optax: ${step.owner}'s element step keeps per-leaf state; it needs its own composite update`);
  return <U extends Updates>(updates: U, state: S, params?: Params): [U, S] => {
    const build = step.next(state);
    const uses = step.usesParams(state);
    if (uses && params === undefined) throw missingParams(step.owner);
    const mask = uses ? step.leafMask?.(params!) ?? null : null;
    const slotTrees = step.slots(state);
    const names = ['updates', ...step.slotNames, ...(uses ? ['params'] : [])];
    const trees = [updates, ...slotTrees, ...(uses ? [params!] : [])];
    const n = slotTrees.length;
    const variant = step.variant?.(state) ?? '';
    return tidy(() => {
      const ops = new TensorOps();
      const scalars = step.scalars(state).map((x) => tf.scalar(x));
      let j = 0;
      const [u, ...slots] = mapFloatLeavesN(step.owner, names, trees, 1 + n, (g, ...rest) =>
        ops.leaf(() => {
          const p = uses ? rest[n] : null;
          const norms = (step.leafNorms ?? []).map((kind) => leafNorm(kind === 'update' ? g : p!));
          const r = step.emit(ops, { u: g, p, slots: rest.slice(0, n), scalars, masked: mask !== null && !mask[j], variant, norms });
          j++;
          return [r.u, ...r.slots];
        }),
      );
      return [u as U, build(slots as Params[])];
    }) as [U, S];
  };
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
}

/** Where a chain keeps its {@link StepParts}. */
export const STEP_PARTS: unique symbol = Symbol.for('tfjs-optax.stepParts');

/**
 * The element-wise description of `tx`: a chain's parts, or a single transformation's own step,
 * or (for `clipByGlobalNorm`, marked by `clipNorm`) a clip with no parts; `undefined` when `tx`
 * is not element-wise.
 */
export function stepPartsOf<S>(tx: GradientTransformation<S>, clipNorm?: number): StepParts<S> | undefined {
  const parts = (tx as { [STEP_PARTS]?: StepParts<S> })[STEP_PARTS];
  if (parts !== undefined) return parts;
  const step = elementStepOf(tx);
  if (step !== undefined) return { parts: [{ step: step as ElementStep<unknown>, get: (s) => s, set: (_, inner) => inner as S }] };
  return clipNorm === undefined ? undefined : { clipNorm, parts: [] };
}

/** Attaches a chain's {@link StepParts} to it (returns `tx`). */
export function withStepParts<S>(tx: GradientTransformation<S>, parts: StepParts<S>): GradientTransformation<S> {
  (tx as { [STEP_PARTS]?: StepParts<S> })[STEP_PARTS] = parts;
  return tx;
}

/**
 * The {@link StepParts} of a chain whose transformations' descriptions are `inner` (in order),
 * or `undefined` when one of them is not element-wise or a clip comes after another part.
 * `get` and `set` read and replace the state of the transformation at a position.
 */
export function chainStepParts<S>(
  inner: ReadonlyArray<StepParts<unknown> | undefined>,
  get: (state: S, i: number) => unknown,
  set: (state: S, i: number, inner: unknown) => S,
): StepParts<S> | undefined {
  let clipNorm: number | undefined;
  const parts: StepPart<S>[] = [];
  for (let i = 0; i < inner.length; i++) {
    const sp = inner[i];
    if (sp === undefined) return undefined;
    if (sp.clipNorm !== undefined) {
      // The clip scales the raw gradients: only nothing may come before it.
      if (parts.length > 0 || clipNorm !== undefined) return undefined;
      clipNorm = sp.clipNorm;
    }
    for (const part of sp.parts) {
      parts.push({
        step: part.step,
        get: (s) => part.get(get(s, i)),
        set: (s, value) => set(s, i, part.set(get(s, i), value)),
      });
    }
  }
  // One pre-pass computes the norms of one part; a chain with two such parts is not fused.
  if (parts.filter((pt) => readsNorms(pt.step)).length > 1) return undefined;
  return clipNorm === undefined ? { parts } : { clipNorm, parts };
}

/** Whether `step` reads per-leaf norms (or keeps per-leaf state made of them). */
function readsNorms(step: ElementStep<unknown>): boolean {
  return (step.leafNorms?.length ?? 0) > 0 || step.leafState !== undefined;
}

/** What a fused call needs besides the step's numbers (see {@link stepSpec}). */
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

/**
 * The fused description of a chain of element steps: one generated program per leaf variant
 * (which parts a mask leaves out on that leaf), cached by structure.
 */
export function stepSpec<S>(owner: string, sp: StepParts<S>): FusedSpec<S> {
  const { parts } = sp;
  const clip = sp.clipNorm !== undefined;
  const cache = new Map<string, Program>();
  const uses = (s: S) => parts.map((pt) => pt.step.usesParams(pt.get(s)));
  // The part that reads per-leaf norms, if any (chainStepParts allows one).
  const normPart = parts.findIndex((pt) => readsNorms(pt.step));
  const normKinds = normPart < 0 ? [] : parts[normPart].step.leafNorms ?? [];
  const leafState = normPart < 0 ? undefined : parts[normPart].step.leafState;
  const normCount = normKinds.length + (leafState === undefined ? 0 : 1);
  /**
   * The programs of one call, per leaf variant: the step (`stopAt` undefined), or the pre-pass
   * that computes the update entering part `stopAt`, for its norm.
   */
  const programSet = (s: S, params: Params | undefined, how: ProgramRequest, stopAt?: number): ProgramSet => {
    const using = uses(s);
    const forms = parts.map((pt) => pt.step.variant?.(pt.get(s)) ?? '');
    const scalarCounts = parts.map((pt) => pt.step.scalars(pt.get(s)).length);
    const masks = parts.map((pt, i) => (using[i] && params !== undefined ? pt.step.leafMask?.(params) ?? null : null));
    const leaves = masks.find((m) => m !== null)?.length ?? 0;
    const keys: string[] = [];
    const variants: number[] = [];
    const programs: Program[] = [];
    const base =
      `${how.apply ? 1 : 0}${how.hasParams ? 1 : 0}${using.map(Number).join('')}:${scalarCounts.join(',')}:${JSON.stringify(forms)}` +
      `:${stopAt ?? ''}`;
    const variantCount = Math.max(leaves, 1);
    for (let j = 0; j < variantCount; j++) {
      const masked = masks.map((m) => (m === null ? false : !m[j]));
      const key = `${base}:${masked.map(Number).join('')}`;
      let at = keys.indexOf(key);
      if (at < 0) {
        at = keys.length;
        keys.push(key);
        let program = cache.get(key);
        if (program === undefined) {
          program = buildProgram(parts, { ...how, clip, using, scalarCounts, masked, forms, normPart, normCount, stopAt });
          cache.set(key, program);
        }
        programs.push(program);
      }
      variants.push(at);
    }
    return { programs, variants: leaves === 0 ? [] : variants };
  };
  return {
    owner,
    family: 'program',
    flags: FLAG.decay,
    ...(clip ? { clipNorm: sp.clipNorm } : {}),
    slotNames: parts.flatMap((pt) => pt.step.slotNames),
    slots: (s) => parts.flatMap((pt) => pt.step.slots(pt.get(s))),
    scalars: (s) => parts.flatMap((pt) => pt.step.scalars(pt.get(s))),
    decaying: (s) => uses(s).some(Boolean),
    programs: (s, params, how) => programSet(s, params, how),
    ...(normPart < 0
      ? {}
      : {
          leafNorms: {
            kinds: normKinds,
            programs: (s: S, params: Params | undefined, how: ProgramRequest) => programSet(s, params, { ...how, apply: false }, normPart),
            // The update entering the first part, unclipped, is the gradient itself.
            raw: normPart === 0 && !clip,
            ...(leafState === undefined
              ? {}
              : {
                  state: {
                    leaves: (s: S, updates: Updates, def: TreeDef) => leafState.leaves(parts[normPart].get(s), updates, def),
                    next: (s: S, sums: readonly number[], old: number) => leafState.next(parts[normPart].get(s), sums, old),
                  },
                }),
          },
        }),
    next: (s) => {
      const builds = parts.map((pt) => pt.step.next(pt.get(s)));
      const counts = parts.map((pt) => pt.step.slotNames.length);
      return (slots, leafStateTree) => {
        let state = s;
        let at = 0;
        builds.forEach((build, i) => {
          state = parts[i].set(state, build(slots.slice(at, at + counts[i]) as Params[], i === normPart ? leafStateTree : undefined));
          at += counts[i];
        });
        return state;
      };
    },
  };
}

/**
 * Records the program of one leaf variant. Inputs: the gradient, the parameter (with
 * `hasParams`), then every part's slots; scalars: every part's, then the clip scale, then the
 * per-leaf norms of part `normPart` (which differ from leaf to leaf); outputs: the update (or
 * `p + u` with `apply`), then every part's new slots. With `stopAt`, the pre-pass of the norms:
 * the same inputs and per-step scalars, the parts before `stopAt` only, and one output, the
 * update entering part `stopAt` (nothing else is written).
 */
function buildProgram<S>(
  parts: readonly StepPart<S>[],
  o: ProgramRequest & {
    clip: boolean;
    using: boolean[];
    scalarCounts: number[];
    masked: boolean[];
    forms: string[];
    normPart: number;
    normCount: number;
    stopAt?: number;
  },
): Program {
  const b = new ProgramBuilder();
  const g = b.input();
  const p = o.hasParams ? b.input() : null;
  const slots = parts.map((pt) => pt.step.slotNames.map(() => b.input()));
  const scalars = o.scalarCounts.map((n) => Array.from({ length: n }, () => b.scalar()));
  let u = o.clip ? b.mul(g, b.scalar()) : g;
  const norms = o.stopAt === undefined ? Array.from({ length: o.normCount }, () => b.scalar()) : [];
  const outSlots: number[] = [];
  const end = o.stopAt ?? parts.length;
  for (let i = 0; i < end; i++) {
    const pt = parts[i];
    const r = pt.step.emit(b, {
      u,
      p: o.using[i] ? p : null,
      slots: slots[i],
      scalars: scalars[i],
      masked: o.masked[i],
      variant: o.forms[i],
      norms: i === o.normPart ? norms : [],
    });
    if (r.slots.length !== slots[i].length) {
      throw new Error(`tfjs-optax: ${pt.step.owner}'s element step gave ${r.slots.length} slots, it declares ${slots[i].length}`);
    }
    u = r.u;
    outSlots.push(...r.slots);
  }
  if (o.stopAt !== undefined) return b.build([u]);
  return b.build([o.apply ? b.add(p!, u) : u, ...outSlots]);
}
