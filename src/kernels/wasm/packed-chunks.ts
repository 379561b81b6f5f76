import { packedHeader, type PackedFormat } from '../../internal/state-dtype.js';
import type { FusedAttrs, KernelTable } from '../layout.js';
import type { WasmKernels } from './runner.js';

/**
 * A fused step whose packed slots (`stateDtype` bfloat16 or int8, `attrs.slotFormats`) the
 * kernel reads and writes as they are, on the wasm backend's heap, without float32 copies of
 * the leaves: each leaf runs in chunks of {@link PACKED_CHUNK} values. Per chunk, each packed
 * slot's stretch is decoded into a scratch region (the SIMD codec of optimizers.wat), the
 * generated float32 program runs on the chunk (its float32 inputs and outputs at element
 * offsets into the leaves, each packed slot's input and new value in its region) and the new
 * values are encoded into the chunk's words of the output leaf. The extra memory is one region
 * per packed slot (256 KiB), whatever the leaves' sizes.
 *
 * The result is the float32 copies' step bit for bit: the program is element-wise, and a chunk
 * is made of whole int8 blocks and bfloat16 pairs, which the codec treats alone. A chunk's words
 * are read before they are written and no other chunk touches them, so the outputs may be the
 * inputs (the in-place step): the new words replace the old ones chunk by chunk.
 */

/** Values per chunk: whole int8 blocks (256) and bfloat16 pairs; 256 KiB of float32. */
export const PACKED_CHUNK = 65536;

/** Runs the call `attrs` (with `attrs.slotFormats`) over `table` on `kernels`' heap. */
export function runPackedChunks(
  kernels: WasmKernels,
  attrs: FusedAttrs,
  table: KernelTable<{ dataId: object; size?: number; elementOffset?: number }>,
  heap: () => ArrayBuffer,
): void {
  const formats = attrs.slotFormats!;
  const count = table.sizes.length;
  // Kernel positions of the slots: after the gradient and the parameter (inputs), after the update (outputs).
  const inAt = (k: number) => 2 + k;
  const outAt = (k: number) => 1 + k;
  const packedSlots = formats.flatMap((f, k) => (f === 'float32' ? [] : [k]));
  const regionBytes = 4 * PACKED_CHUNK;
  const { scalarsOf, scratch } = kernels.scalarBlocks(attrs, table, packedSlots.length * regionBytes);
  const region = new Map(packedSlots.map((k, r) => [k, scratch + r * regionBytes]));
  const runs = attrs.programs.map((p) => kernels.programRun(p));
  const writes = !attrs.slotsRead;

  // The argument list per chunk: each present position, a packed slot's as its region.
  type Arg = { list: ReadonlyArray<{ dataId: object; elementOffset?: number }>; region?: number };
  const args: Arg[] = [];
  table.inputs.forEach((list, pos) => {
    if (list !== null) args.push({ list, region: pos >= 2 ? region.get(pos - 2) : undefined });
  });
  table.outputs.forEach((list, pos) => {
    if (list !== null) args.push({ list, region: pos >= 1 ? region.get(pos - 1) : undefined });
  });
  const values: number[] = new Array(args.length + 2);

  for (let j = 0; j < count; j++) {
    const n = table.sizes[j];
    // Every output leaf's header, also for a leaf with no values (the rest is the codec's); an
    // output written in place keeps the header it had (the same values, the same format).
    if (writes) {
      const words = new Int32Array(heap());
      for (const k of packedSlots) {
        const out = table.outputs[outAt(k)]![j];
        words[kernels.offset(out.dataId) >>> 2] = packedHeader(formats[k] as PackedFormat, n);
      }
    }
    const run = runs[attrs.variants[j] ?? 0];
    for (let start = 0; start < n; start += PACKED_CHUNK) {
      const c = Math.min(PACKED_CHUNK, n - start);
      for (const k of packedSlots) {
        const format = formats[k] as PackedFormat;
        kernels.codecChunk(false, format, table.inputs[inAt(k)]![j].dataId, n, start, c, region.get(k)!);
      }
      values[0] = c;
      for (let a = 0; a < args.length; a++) {
        const { list, region: at } = args[a];
        values[a + 1] = at ?? kernels.offset(list[j].dataId, (list[j].elementOffset ?? 0) + start);
      }
      values[args.length + 1] = scalarsOf(j);
      run(...values);
      if (!writes) continue;
      for (const k of packedSlots) {
        const format = formats[k] as PackedFormat;
        kernels.codecChunk(true, format, table.outputs[outAt(k)]![j].dataId, n, start, c, region.get(k)!);
      }
    }
  }
}

/** Whether a call reads packed slots (see {@link runPackedChunks}). */
export function hasPackedSlots(attrs: FusedAttrs): boolean {
  return attrs.slotFormats !== undefined && attrs.slotFormats.some((f) => f !== 'float32');
}
