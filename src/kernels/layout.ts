import type { Program } from './program.js';
import type { Family } from './spec.js';

/**
 * The attributes of the fused kernel call, shared by every backend's implementation.
 * Inputs come in this order: the L gradients, then the L parameters (when `hasParams`), then
 * for each present slot its L tensors. Outputs: the L updates (or new parameters with the
 * apply flag), then L tensors for each present slot, in slot order.
 */
export interface FusedAttrs {
  family: Family;
  flags: number;
  scalars: number[];
  /** Global-norm limit, or 0 for no clipping. */
  clipNorm: number;
  leaves: number;
  hasParams: boolean;
  /** Which of the family's slots are present. */
  slots: boolean[];
  /** 1 where a leaf gets weight decay. */
  decay: number[];
  /**
   * The gradients' sum of squares (float64) when the caller has computed it already, for the
   * clip scale: `applyIfFinite` tests the gradients with the same pass the clip needs.
   */
  sumOfSquares?: number;
  /**
   * The clip factor is computed on the device (webgpu, where reading the norm back would stall)
   * and comes as the kernel's last input, a one-element tensor; the program reads it there.
   */
  deviceClip?: boolean;
  /**
   * The state slots are one 1-D tensor each, covering all leaves in flatten order (the state of
   * `flatten(inner)`): each leaf reads and writes its segment of it.
   */
  flatSlots?: boolean;
  /** The `'program'` family's programs, one per leaf variant. */
  programs?: Program[];
  /** The program each leaf runs (an index into `programs`); all the first when empty. */
  variants?: number[];
  /**
   * The `'program'` family's per-leaf scalars (the norms of FusedSpec.leafNorms), the same
   * count for every leaf, leaf after leaf: each leaf's program reads its own after the shared
   * scalars (and the clip scale).
   */
  leafScalars?: number[];
  /**
   * The state slots are inputs only: the kernel's outputs are the updates alone (the norms'
   * pre-pass).
   */
  slotsRead?: boolean;
}

/**
 * A leaf's data for the kernel: a tensor, or `size` elements of a larger tensor from element
 * `elementOffset` (a segment of a flat state slot).
 */
export interface KernelData {
  dataId: object;
  size: number;
  elementOffset?: number;
}

/** The `size` elements of `t` from `elementOffset` on. */
export function segmentOf(t: { dataId: object }, elementOffset: number, size: number): KernelData {
  return { dataId: t.dataId, size, elementOffset };
}

/** Segments of a 1-D buffer of `sum(sizes)` elements, one per leaf, in order. */
export function segmentsOf(t: { dataId: object }, sizes: readonly number[]): KernelData[] {
  let at = 0;
  return sizes.map((n) => {
    const s = segmentOf(t, at, n);
    at += n;
    return s;
  });
}

/**
 * One fused call's leaves in kernel positions. `inputs[k][j]` is leaf j's tensor at input
 * position k: 0 the gradient, 1 the parameter, 2 and on the family's state slots in order;
 * `outputs[k][j]` likewise: 0 the update (or, with the apply flag, the new parameter), 1 and on
 * the new slots. A position the call does not use is `null`. `sizes[j]` is leaf j's element
 * count.
 */
export interface KernelTable<T> {
  sizes: readonly number[];
  inputs: ReadonlyArray<readonly T[] | null>;
  outputs: ReadonlyArray<readonly T[] | null>;
}

/** The kernel's registered name. */
export const FUSED_KERNEL = 'TfjsOptaxFusedUpdate';

/**
 * The factor global-norm clipping applies to the gradients, from their sum of squares:
 * 1 when the norm is at most `maxNorm`, `maxNorm / norm` above it; NaN when the norm is NaN (a NaN
 * gradient makes every element NaN), 0 when it is infinite (infinite elements then become NaN and
 * finite ones zeros of their sign), so a bad gradient is never silently clipped into a finite one.
 */
export function clipScale(sumOfSquares: number, maxNorm: number): number {
  const norm = Math.sqrt(sumOfSquares);
  return norm <= maxNorm ? 1 : maxNorm / norm;
}

/** A generated-program call as a GPU backend's runner reads it (see {@link gpuProgramCall}). */
export interface GpuProgramCall<T> {
  programs: Program[];
  /** The clip factor is read from the device (the `clipFactor` tensor). */
  deviceClip: boolean;
  /** The per-step scalars, then the clip scale when it is known on the host. */
  scalars: number[];
  /** The present input and output positions of the table, in order. */
  ins: Array<readonly T[]>;
  outs: Array<readonly T[]>;
}

/**
 * Checks and unpacks a call of the webgpu or webgl kernels, which run generated programs only:
 * the programs, where the global-norm clip factor comes from (a device tensor, or
 * `attrs.sumOfSquares` as one more scalar) and the table's present positions.
 */
export function gpuProgramCall<T>(backend: string, attrs: FusedAttrs, table: KernelTable<T>, clipFactor: unknown): GpuProgramCall<T> {
  const programs = attrs.programs;
  if (attrs.family !== 'program' || programs === undefined) {
    throw new Error(`tfjs-optax: the ${backend} kernels run generated programs only, got the ${attrs.family} family`);
  }
  const deviceClip = attrs.clipNorm > 0 && attrs.deviceClip === true;
  if (deviceClip && clipFactor === undefined) throw new Error(`tfjs-optax: the ${backend} kernel needs the clip factor tensor`);
  const scalars =
    attrs.clipNorm > 0 && !deviceClip ? [...attrs.scalars, clipScale(attrs.sumOfSquares ?? NaN, attrs.clipNorm)] : attrs.scalars;
  const present = (list: ReadonlyArray<readonly T[] | null>) => list.filter((x): x is readonly T[] => x !== null);
  return { programs, deviceClip, scalars, ins: present(table.inputs), outs: present(table.outputs) };
}
