import type * as tf from '@tensorflow/tfjs-core';
import { packedWords, type SlotFormat } from '../internal/state-dtype.js';
import type { Program } from './program.js';

/**
 * The attributes of the fused kernel call, shared by every backend's implementation.
 * Inputs come in this order: the L gradients, then the L parameters (when `hasParams`), then
 * for each present slot its L tensors (or one 1-D tensor with `flatSlots`), then, with
 * `deviceClip`, the clip factor. Outputs: the L updates (or new parameters, where the programs
 * add the update to the parameter), then the new slots in the same form, in slot order.
 */
export interface FusedAttrs {
  /** The programs, one per leaf variant. */
  programs: Program[];
  /** The program each leaf runs (an index into `programs`); all the first when empty. */
  variants: number[];
  /** The per-step scalars every leaf's program reads first. */
  scalars: number[];
  /** Global-norm limit, or 0 for no clipping. */
  clipNorm: number;
  leaves: number;
  hasParams: boolean;
  /** How many state slots the programs read and write (after the gradient and parameter). */
  slotCount: number;
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
  /**
   * The per-leaf scalars (the norms of FusedSpec.leafNorms), the same
   * count for every leaf, leaf after leaf: each leaf's program reads its own after the shared
   * scalars (and the clip scale).
   */
  leafScalars?: number[];
  /**
   * The state slots are inputs only: the kernel's outputs are the updates alone (the norms'
   * pre-pass).
   */
  slotsRead?: boolean;
  /**
   * How each slot is stored, in slot order, when the kernel reads and writes packed slots itself
   * (see KernelBackend.runsPackedSlots): a packed slot's inputs are its packed int32 leaves, and
   * its outputs new packed int32 leaves (or, in place, the same ones), never float32 copies.
   */
  slotFormats?: readonly SlotFormat[];
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
 * position k: 0 the gradient, 1 the parameter, 2 and on the state slots in order;
 * `outputs[k][j]` likewise: 0 the update (or the new parameter), 1 and on
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
  const deviceClip = attrs.clipNorm > 0 && attrs.deviceClip === true;
  if (deviceClip && clipFactor === undefined) throw new Error(`tfjs-optax: the ${backend} kernel needs the clip factor tensor`);
  const scalars =
    attrs.clipNorm > 0 && !deviceClip ? [...attrs.scalars, clipScale(attrs.sumOfSquares ?? NaN, attrs.clipNorm)] : attrs.scalars;
  const present = (list: ReadonlyArray<readonly T[] | null>) => list.filter((x): x is readonly T[] => x !== null);
  return { programs, deviceClip, scalars, ins: present(table.inputs), outs: present(table.outputs) };
}

/** The number of elements of a tensor of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The kernel's inputs in call order (an array from the dispatcher; any map in key order). */
export function inputList(inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  return (Array.isArray(inputs) ? inputs : Object.values(inputs)) as tf.TensorInfo[];
}

/**
 * Splits the kernel's flat inputs and outputs (in the order documented on {@link FusedAttrs})
 * into kernel positions.
 */
export function tableOf(attrs: FusedAttrs, inputs: readonly tf.TensorInfo[], outputs: readonly tf.TensorInfo[]): KernelTable<KernelData> {
  const L = attrs.leaves;
  const data = (t: tf.TensorInfo): KernelData => ({ dataId: t.dataId, size: sizeOf(t.shape) });
  const take = (list: readonly tf.TensorInfo[], at: number) => list.slice(at * L, (at + 1) * L).map(data);
  const sizes = inputs.slice(0, L).map((t) => sizeOf(t.shape));
  const tableInputs: Array<KernelData[] | null> = [take(inputs, 0), attrs.hasParams ? take(inputs, 1) : null];
  const tableOutputs: Array<KernelData[] | null> = [take(outputs, 0)];
  // Flat slots come as one tensor each, after the per-leaf gradients and parameters.
  let nextIn = attrs.flatSlots ? (attrs.hasParams ? 2 : 1) * L : attrs.hasParams ? 2 : 1;
  let nextOut = attrs.flatSlots ? L : 1;
  for (let k = 0; k < attrs.slotCount; k++) {
    if (attrs.flatSlots) {
      tableInputs.push(segmentsOf(inputs[nextIn++], sizes));
      tableOutputs.push(attrs.slotsRead ? null : segmentsOf(outputs[nextOut++], sizes));
    } else {
      tableInputs.push(take(inputs, nextIn++));
      tableOutputs.push(attrs.slotsRead ? null : take(outputs, nextOut++));
    }
  }
  return { sizes, inputs: tableInputs, outputs: tableOutputs };
}

/**
 * The shapes of the kernel's outputs: the leaves' shapes for the updates, then per slot the
 * leaves' shapes again, or one 1-D shape of all elements for flat slots.
 */
export function outputShapes(inputs: readonly tf.TensorInfo[], attrs: FusedAttrs): number[][] {
  const shapes = inputs.slice(0, attrs.leaves).map((t) => t.shape);
  const total = shapes.reduce((n, s) => n + sizeOf(s), 0);
  const out: number[][] = [...shapes];
  if (!attrs.slotsRead) {
    for (let k = 0; k < attrs.slotCount; k++) {
      const format = attrs.slotFormats?.[k] ?? 'float32';
      if (format !== 'float32') out.push(...shapes.map((s) => [packedWords(format, sizeOf(s))]));
      else out.push(...(attrs.flatSlots ? [[total]] : shapes));
    }
  }
  return out;
}

/** The dtypes of the kernel's outputs (see {@link outputShapes}): int32 for packed slots. */
export function outputDtypes(attrs: FusedAttrs): Array<'float32' | 'int32'> {
  const out: Array<'float32' | 'int32'> = new Array<'float32' | 'int32'>(attrs.leaves).fill('float32');
  if (!attrs.slotsRead) {
    for (let k = 0; k < attrs.slotCount; k++) {
      const dtype = (attrs.slotFormats?.[k] ?? 'float32') === 'float32' ? 'float32' : 'int32';
      out.push(...new Array<'float32' | 'int32'>(attrs.flatSlots ? 1 : attrs.leaves).fill(dtype));
    }
  }
  return out;
}

/** Converts every tensor of a table (`null` positions stay `null`). */
export function mapTable<T, R>(table: KernelTable<T>, convert: (t: T) => R): KernelTable<R> {
  const each = (positions: KernelTable<T>['inputs']) => positions.map((list) => (list === null ? null : list.map(convert)));
  return { sizes: table.sizes, inputs: each(table.inputs), outputs: each(table.outputs) };
}
