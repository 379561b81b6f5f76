import * as tf from '@tensorflow/tfjs-core';
import type { Params, PyTree, Updates } from '../types.js';
import type { TreeDef } from '../tree/structure.js';
import type { ElementStep, StepPart, StepParts } from '../internal/element-step.js';
import { flattenFloatTrees, mapFloatLeavesN, missingParams } from '../internal/leaves.js';
import { TensorOps } from '../internal/tensor-ops.js';
import { leafNorm } from '../internal/leaf-norms.js';
import { packedLayout, packLeaf, slotLeavesInLayout, unpackLeaf } from '../internal/packed-slots.js';
import { notePackedHeader } from '../internal/packed-headers.js';
import { packedHeader } from '../internal/state-dtype.js';
import { treePaths } from '../tree/structure.js';
import type { PackedFormat, SlotFormat } from '../internal/state-dtype.js';
import { tidy } from '../tree/tidy.js';
import { disposeReplaced } from '../tree/memory.js';
import { ProgramBuilder, type Program } from './program.js';
import { webgpuPackLeaf, webgpuUnpackLeaf } from './webgpu/packed.js';
import type { FusedSpec, ProgramRequest, ProgramSet } from './spec.js';

/**
 * Element steps at work (their types: internal/element-step.ts). A transformation whose update is
 * element-wise describes its math once, as an ElementStep; its composite `update` runs the step
 * over tfjs tensors ({@link stepUpdate}); `chain` collects the steps of its parts
 * ({@link chainStepParts}) into one fused description ({@link stepSpec}) whose programs the
 * kernels compile into one pass over memory per leaf. So an optimizer that is a chain of element
 * steps is fused with no code of its own, and so are users' chains of them.
 */

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
    const packed = step.slotFormats?.some((f) => f !== 'float32') ?? false;
    const formats: SlotFormat[] | undefined = packed ? ['float32', ...step.slotFormats!, ...(uses ? ['float32' as const] : [])] : undefined;
    return tidy(() => {
      const ops = new TensorOps();
      const scalars = step.scalars(state).map((x) => tf.scalar(x));
      let j = 0;
      const leaf = (g: tf.Tensor, rest: tf.Tensor[]): tf.Tensor[] =>
        ops.leaf(() => {
          const p = uses ? rest[n] : null;
          const norms = (step.leafNorms ?? []).map((kind) => leafNorm(kind === 'update' ? g : p!));
          const r = step.emit(ops, { u: g, p, slots: rest.slice(0, n), scalars, masked: mask !== null && !mask[j], variant, norms });
          j++;
          return [r.u, ...r.slots];
        });
      // Packed slots: unpacked to float32 for the math and the new values packed once (on webgpu
      // by WGSL programs on the words' bits: webgpu/packed.ts); the
      // float32 copies are freed leaf by leaf (not at the end of the update), except the one
      // that is also the update (trace's).
      const packedLeaf = (g: tf.Tensor, rest: tf.Tensor[]): tf.Tensor[] => {
        const fs = formats!.slice(1, 1 + n) as SlotFormat[];
        const unpacked = rest.map((t, k) => (k < n && fs[k] !== 'float32' ? tf.tidy(() => webgpuUnpackLeaf(fs[k] as PackedFormat, t, g.shape) ?? unpackLeaf(fs[k] as PackedFormat, t, g.shape)) : t));
        const [u, ...slots] = leaf(g, unpacked);
        const out = slots.map((t, k) => (fs[k] === 'float32' ? t : tf.tidy(() => webgpuPackLeaf(fs[k] as PackedFormat, t) ?? packLeaf(fs[k] as PackedFormat, t))));
        for (let k = 0; k < n; k++) {
          if (fs[k] === 'float32') continue;
          notePackedHeader(out[k], packedHeader(fs[k] as PackedFormat, g.size, packedLayout()));
          unpacked[k].dispose();
          if (slots[k] !== u) slots[k].dispose();
        }
        return [u, ...out];
      };
      // A packed leaf in the other layout (made on another backend) is converted first.
      const inputs = packed ? inLayout(step.owner, names, trees, formats!, n) : trees;
      const [u, ...slots] = mapFloatLeavesN(step.owner, names, inputs, 1 + n, (g, ...rest) => (packed ? packedLeaf(g, rest) : leaf(g, rest)), formats);
      return [u as U, build(slots as Params[])];
    }) as [U, S];
  };
}

/**
 * `trees` (the updates, `n` slot trees, maybe the params) with every packed slot leaf in the
 * active backend's layout, after checking them. Call inside a tidy (converted leaves are temporaries).
 */
function inLayout(owner: string, names: readonly string[], trees: readonly PyTree[], formats: readonly SlotFormat[], n: number): PyTree[] {
  const [leaves, def] = flattenFloatTrees(owner, names, trees, formats);
  const slots = slotLeavesInLayout(owner, names.slice(1, 1 + n), formats.slice(1, 1 + n), leaves[0], leaves.slice(1, 1 + n), () => treePaths(trees[0]));
  return trees.map((t, k) => (k >= 1 && k <= n && slots[k - 1] !== leaves[k] ? def.unflatten(slots[k - 1]) : t));
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
  const observers: NonNullable<StepParts<S>['observers']> = [];
  // Flat slots (flatten's) compose with a clip only: other parts keep per-leaf slots.
  const flatSlots = inner.some((sp) => sp?.flatSlots === true);
  if (flatSlots && inner.filter((sp) => sp !== undefined && sp.parts.length > 0).length > 1) return undefined;
  for (let i = 0; i < inner.length; i++) {
    const sp = inner[i];
    if (sp === undefined) return undefined;
    for (const o of sp.observers ?? []) {
      // An observer sees the raw gradients: nothing that changes them may come before it.
      if (parts.length > 0 || clipNorm !== undefined) return undefined;
      observers.push({ observer: o.observer, get: (s) => o.get(get(s, i)), set: (s, value) => set(s, i, o.set(get(s, i), value)) });
    }
    if (sp.clipNorm !== undefined) {
      // The clip scales the raw gradients: only observers may come before it.
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
  return {
    ...(clipNorm === undefined ? {} : { clipNorm }),
    parts,
    ...(flatSlots ? { flatSlots } : {}),
    ...(observers.length > 0 ? { observers } : {}),
  };
}

/** Whether `step` reads per-leaf norms (or keeps per-leaf state made of them). */
function readsNorms(step: ElementStep<unknown>): boolean {
  return (step.leafNorms?.length ?? 0) > 0 || step.leafState !== undefined;
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
  const packed = parts.some((pt) => pt.step.slotFormats?.some((f) => f !== 'float32') ?? false);
  const slotFormats = parts.flatMap((pt) => pt.step.slotFormats ?? pt.step.slotNames.map((): SlotFormat => 'float32'));
  return {
    owner,
    ...(clip ? { clipNorm: sp.clipNorm } : {}),
    ...(packed ? { slotFormats } : {}),
    slotNames: parts.flatMap((pt) => pt.step.slotNames),
    slots: (s) => parts.flatMap((pt) => pt.step.slots(pt.get(s))),
    scalars: (s) => parts.flatMap((pt) => pt.step.scalars(pt.get(s))),
    readsParams: (s) => uses(s).some(Boolean),
    ...(sp.observers === undefined ? {} : { observers: observersOf(sp.observers) }),
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

/** The {@link FusedSpec.observers} of a chain's leading observers. */
function observersOf<S>(list: NonNullable<StepParts<S>['observers']>): NonNullable<FusedSpec<S>['observers']> {
  return {
    usesSumOfSquares: list.some((o) => o.observer.usesSumOfSquares),
    observe: (state, updates, params, extra, sumOfSquares) => {
      const made: unknown[] = [];
      try {
        for (const o of list) made.push(o.observer.observe(updates, o.get(state), params, extra, sumOfSquares));
      } catch (err) {
        disposeMade(made, state, updates, params);
        throw err;
      }
      return {
        into: (next) => list.reduce((s, o, k) => o.set(s, made[k]), next),
        discard: () => disposeMade(made, state, updates, params),
      };
    },
  };
}

/** Frees the tensors of observers' new states that none of the step's inputs holds. */
function disposeMade(made: unknown[], state: unknown, updates: Updates, params: Params | undefined): void {
  disposeReplaced(made as never, [state as never, updates, params ?? null]);
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
