import * as tf from '@tensorflow/tfjs-core';
import type { Params, PyTree, Updates } from '../types.js';
import { flattenFloatTrees, missingParams } from '../internal/leaves.js';
import { globalNormFactor } from '../internal/global-norm.js';
import { describeNode } from '../tree/walk.js';
import type { TreeDef } from '../tree/structure.js';
import type { KernelBackend } from './backend.js';
import { callKernel } from './call.js';
import { segmentsOf, type FusedAttrs, type KernelData, type KernelTable } from './layout.js';
import type { FusedSpec } from './spec.js';

/**
 * Before a fused step runs: the trees checked as the composite path checks them, the per-step
 * scalars evaluated, the leaves laid out in kernel positions, and the per-leaf norms computed.
 * Nothing here writes a buffer.
 */

/** A fused call, checked and laid out: the kernel attributes and the leaves in kernel positions. */
export interface Prepared {
  attrs: FusedAttrs;
  /** Inputs only (`outputs` is empty). */
  table: KernelTable<KernelData>;
  /** The kernel's inputs in call order (see {@link FusedAttrs}). */
  kernelInputs: tf.Tensor[];
  /** The tensors an in-place step writes into: the parameters, then the state slots. */
  writable: tf.Tensor[];
  /** The structure of the updates tree. */
  def: TreeDef;
}

/**
 * Checks the trees exactly as the composite path does (before anything is created), evaluates
 * the per-step scalars and lays the leaves out for the kernel. With `packed`, `spec`'s packed
 * slots are laid out as they are (packed int32 leaves, `attrs.slotFormats`), for a kernel that
 * decodes and encodes them itself.
 */
export function prepare<S>(
  kernels: KernelBackend,
  spec: FusedSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  apply: boolean,
  sumOfSquares?: number,
  packed = false,
): Prepared {
  const slotTrees = spec.slots(state);
  const hasParams = apply || spec.readsParams(state);
  if (hasParams && params === undefined) throw missingParams(spec.owner);
  const names = ['updates'];
  const trees: Params[] = [updates];
  const flat = spec.flatSlots === true;
  if (!flat) {
    slotTrees.forEach((tree, k) => {
      names.push(spec.slotNames[k]);
      trees.push(tree);
    });
  }
  if (hasParams) {
    names.push('params');
    trees.push(params!);
  }
  // Packed slots (the kernel reads the words itself): checked as packed leaves of the updates' sizes.
  const formats = packed && !flat ? spec.slotFormats : undefined;
  const [leaves, def] = flattenFloatTrees(spec.owner, names, trees, formats && ['float32', ...formats, ...(hasParams ? ['float32' as const] : [])]);
  const sizes = leaves[0].map((g) => g.size);
  const flatSlots = flat ? slotTrees.map((t, k) => checkFlatSlot(spec, k, t, sizes)) : [];
  const scalars = spec.scalars(state);
  const generated = spec.programs(state, hasParams ? params : undefined, { apply, hasParams });
  const grads = leaves[0];
  const paramLeaves = hasParams ? leaves[leaves.length - 1] : null;
  const slots: KernelData[][] = flat ? flatSlots.map((t) => segmentsOf(t, sizes)) : slotTrees.map((_, k) => leaves[k + 1]);
  const slotTensors: tf.Tensor[] = flat ? flatSlots : slots.flatMap((s) => s as tf.Tensor[]);
  return {
    attrs: {
      programs: generated.programs,
      variants: generated.variants,
      scalars,
      clipNorm: spec.clipNorm ?? 0,
      leaves: grads.length,
      hasParams,
      slotCount: slots.length,
      ...(sumOfSquares === undefined ? {} : { sumOfSquares }),
      ...(spec.clipNorm !== undefined && sumOfSquares === undefined && kernels.deviceClip ? { deviceClip: true } : {}),
      ...(flat ? { flatSlots: true } : {}),
      ...(formats === undefined ? {} : { slotFormats: formats }),
    },
    table: { sizes, inputs: [grads, paramLeaves, ...slots], outputs: [] },
    kernelInputs: [...grads, ...(paramLeaves ?? []), ...slotTensors],
    writable: [...(paramLeaves ?? []), ...slotTensors],
    def,
  };
}

/** A flat state slot, checked: one float32 1-D tensor of all the leaves' elements. */
function checkFlatSlot<S>(spec: FusedSpec<S>, k: number, tree: Params, sizes: readonly number[]): tf.Tensor {
  const total = sizes.reduce((a, b) => a + b, 0);
  const ok = tree instanceof tf.Tensor && !tree.isDisposed && tree.dtype === 'float32' && tree.rank === 1 && tree.size === total;
  if (!ok) {
    throw new Error(
      `${spec.owner}: ${spec.slotNames[k]} must be a float32 tensor of shape [${total}] (one element per parameter), got ${describeNode(tree)}`,
    );
  }
  return tree as tf.Tensor;
}

/**
 * Computes the per-leaf scalars `spec`'s programs read (FusedSpec.leafNorms) into
 * `prepared.attrs`, before the step runs: the norms of the parameters from their buffers, of the
 * update by the pre-pass programs (the chain's steps before the one that reads it, writing the
 * update only, into tensors freed here; the gradients themselves when that step comes first),
 * and the new values of a per-leaf scalar state. Each norm is the square root of a sum of
 * squares in float64, rounded to float32: within float32 rounding of the composite path's
 * overflow-safe norm, and finite where that is. Returns the per-leaf state's new values (the
 * caller makes them tensors once the step has run), or `undefined` when there is none.
 */
export function addLeafNorms<S>(kernels: KernelBackend, spec: FusedSpec<S>, prepared: Prepared, state: S, params: Params | undefined, updatesTree: Updates): number[] | undefined {
  const norms = spec.leafNorms;
  if (norms === undefined) return undefined;
  const { attrs, kernelInputs } = prepared;
  const L = attrs.leaves;
  if (norms.kinds.includes('params') && !attrs.hasParams) {
    throw new Error(`tfjs-optax: ${spec.owner} reads the parameters' norms, but its step does not read the parameters`);
  }
  // The old per-leaf state is checked first, before anything runs.
  const oldState = norms.state?.leaves(state, updatesTree, prepared.def).map((t) => kernels.readScalar(t));
  let updates: tf.Tensor[] | undefined;
  if (norms.kinds.includes('update') && !norms.raw) {
    const pre = norms.programs(state, attrs.hasParams ? params : undefined, { apply: false, hasParams: attrs.hasParams });
    const preAttrs: FusedAttrs = { ...attrs, programs: pre.programs, variants: pre.variants, slotsRead: true };
    updates = callKernel(kernels, kernelInputs, preAttrs);
  }
  try {
    const sums = norms.kinds.map((kind) => {
      const leaves = kind === 'params' ? kernelInputs.slice(L, 2 * L) : updates ?? kernelInputs.slice(0, L);
      return leaves.map((t) => kernels.sumOfSquares([t])!);
    });
    const scalars: number[] = [];
    const next: number[] = [];
    for (let j = 0; j < L; j++) {
      for (const list of sums) scalars.push(Math.fround(Math.sqrt(list[j])));
      if (oldState !== undefined) {
        next.push(norms.state!.next(state, sums.map((list) => list[j]), oldState[j]));
        scalars.push(next[j]);
      }
    }
    attrs.leafScalars = scalars;
    return oldState === undefined ? undefined : next;
  } finally {
    if (updates !== undefined) tf.dispose(updates);
  }
}

/** A per-leaf scalar state's new values as scalar tensors in the updates' structure. */
export function leafStateTree(values: number[] | undefined, def: TreeDef): PyTree | undefined {
  return values === undefined ? undefined : def.unflatten(values.map((v) => tf.scalar(v)));
}

/**
 * The global-norm clip factor of `updates` as a scalar tensor, computed by the same tf ops as
 * `clipByGlobalNorm` (so the fused step equals the composite one), when `attrs` says the
 * kernel reads it on the device; `undefined` otherwise. The caller disposes it.
 */
export function deviceClipFactor(attrs: FusedAttrs, updates: Updates): tf.Scalar | undefined {
  return attrs.deviceClip ? globalNormFactor(updates, attrs.clipNorm) : undefined;
}

