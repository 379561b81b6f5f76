import * as tf from '@tensorflow/tfjs-core';
import type { Params, Updates } from '../types.js';
import { flattenFloatTrees } from '../internal/leaves.js';
import { notePackedHeader, packedHeaderOf } from '../internal/packed-headers.js';
import { packedLayout, slotLeavesInLayout } from '../internal/packed-slots.js';
import { treeLeaves, treePaths } from '../tree/structure.js';
import { packedHeader, readPackedHeader, type PackedFormat, type SlotFormat } from '../internal/state-dtype.js';
import type { KernelBackend } from './backend.js';
import type { FusedSpec } from './spec.js';
import { COPYING, type PackedHost } from './packed-host.js';

/**
 * Packed slots (`stateDtype` bfloat16 or int8) on the host kernels (wasm, cpu), on webgpu and on
 * webgl (in its 24-bit layout; a leaf in the other layout is converted first, once):
 * each packed leaf is decoded into a float32 copy with the typed-array codec (on webgpu by its
 * WGSL programs, webgpu/packed.ts, and on webgl by GLSL ones, webgl/packed.ts, on the GPU), the chain's generated float32
 * program runs on the copies as on any float32 state, and its new slots are encoded back, leaf
 * by leaf. The codec equals the composite path's tf ops bit for bit and the program equals the
 * composite float32 math, so the fused step equals the composite one bit for bit. The copies
 * live for one step; the packed state is what is kept.
 *
 * The codec reads and writes tensor memory where the backend keeps it ({@link PackedHost}, given by each backend folder): it reads
 * the packed leaves and the kernel's float32 outputs in place, and writes into tensors it has
 * just made, which nobody else holds. No tensor given to the step is written.
 */

/**
 * `spec` over float32 copies of the packed slots of `state`: the spec to run, and `release` to
 * free the copies once it has run. Checks the packed trees against the updates first (the
 * composite path's errors), before anything is made.
 */
export function unpackSlots<S>(kernels: KernelBackend, spec: FusedSpec<S>, state: S, updates: Updates): { spec: FusedSpec<S>; release(): void } {
  const formats = spec.slotFormats!;
  const host = kernels.packedHost?.(tf.backend()) ?? COPYING;
  const packedTrees = spec.slots(state);
  const [leaves, def] = flattenFloatTrees(spec.owner, ['updates', ...spec.slotNames], [updates, ...packedTrees], ['float32', ...formats]);
  const made: tf.Tensor[] = [];
  try {
    // A leaf in the other layout (made on another backend) is converted first, for this step.
    const inLayout = slotLeavesInLayout(spec.owner, spec.slotNames, formats, leaves[0], leaves.slice(1), () => treePaths(updates));
    inLayout.forEach((list, k) => list.forEach((t, j) => t !== leaves[k + 1][j] && made.push(t)));
    const floatTrees = packedTrees.map((tree, k) => {
      const format = formats[k];
      if (format === 'float32') return tree;
      return def.unflatten(
        inLayout[k].map((packed, j) => {
          const copy = host.unpack(format, packed, leaves[0][j].shape);
          made.push(copy);
          return copy;
        }),
      ) as Params;
    });
    return {
      spec: {
        ...spec,
        slotFormats: undefined,
        slots: () => floatTrees,
        next: (s) => {
          const build = spec.next(s);
          return (slots, leafState) =>
            build(
              slots.map((tree, k) => (formats[k] === 'float32' ? tree : packTree(host, formats[k] as PackedFormat, tree))),
              leafState,
            );
        },
      },
      release: () => tf.dispose(made),
    };
  } catch (err) {
    tf.dispose(made);
    throw err;
  }
}

/**
 * Whether every packed leaf of `state`'s slots says it is in the active backend's layout. A
 * kernel that decodes packed slots itself handles that layout only; a state made on another
 * backend (webgl's 24-bit layout, or the reverse) takes {@link unpackSlots}, which converts it.
 * Leaves that are no packed leaf at all are left to the step's checks, which name them.
 */
export function slotsInLayout<S>(spec: FusedSpec<S>, state: S): boolean {
  const layout = packedLayout();
  try {
    const trees = spec.slots(state);
    return spec.slotFormats!.every(
      (format, k) =>
        format === 'float32' ||
        treeLeaves(trees[k]).every((t) => {
          if (!(t instanceof tf.Tensor) || t.isDisposed || t.dtype !== 'int32' || t.rank !== 1 || t.size === 0) return true;
          const said = readPackedHeader(packedHeaderOf(t));
          return said === undefined || said.layout === layout;
        }),
    );
  } catch {
    // Not a tree of tensors: the step's checks say what is wrong, naming the path.
    return true;
  }
}

/** The packed tree of a kernel's new float32 slot tree, whose tensors it frees (its own, or the copies). */
function packTree(host: PackedHost, format: SlotFormat & PackedFormat, tree: Params): Params {
  const [leaves, def] = flattenFloatTrees('packTree', ['slot'], [tree]);
  const packed: tf.Tensor[] = [];
  try {
    const layout = packedLayout();
    for (const t of leaves[0]) {
      const p = host.pack(format, t);
      notePackedHeader(p, packedHeader(format, t.size, layout));
      packed.push(p);
    }
  } catch (err) {
    tf.dispose(packed);
    throw err;
  }
  for (const t of leaves[0]) if (!t.isDisposed) t.dispose();
  return def.unflatten(packed) as Params;
}
