import { packedHeader, type PackedFormat } from '../../internal/state-dtype.js';
import type { FusedAttrs, KernelTable } from '../layout.js';
import { CHUNK, type CodecMemory } from '../wasm/codec-memory.js';

/**
 * A fused step whose packed slots (`attrs.slotFormats`) the cpu backend's kernel reads and
 * writes as they are, without float32 copies of the leaves: the leaves go through in batches of
 * at most {@link CHUNK} values (whole leaves, or chunks of a big one, cut at multiples of CHUNK).
 * Per batch, each packed slot's stretches are decoded into a scratch array by the SIMD codec
 * (wasm/codec-memory.ts), the float32 step runs on the batch as on any leaves (its float32
 * inputs and outputs as views of the leaves' arrays, each packed slot's input and new values in
 * its scratch), and the new values are encoded into their words of the output leaves. Same bits
 * as the float32 copies' step: the program is element-wise and a stretch is whole int8 blocks
 * and bfloat16 pairs, which the codec treats alone.
 */

/** A stretch `[start, start + n)` of leaf `leaf`, at element `at` of the batch's scratch. */
interface Piece {
  leaf: number;
  start: number;
  n: number;
  at: number;
}

/**
 * Runs the call `attrs` over `table`, whose packed slots' leaves (inputs and outputs) are
 * int32 arrays, with `run` (the float32 step over typed arrays). The outputs' packed leaves may
 * not be the inputs' (the caller gives new arrays).
 */
export function runPackedOnCpu(
  codec: CodecMemory,
  attrs: FusedAttrs,
  table: KernelTable<Float32Array | Int32Array>,
  run: (attrs: FusedAttrs, table: KernelTable<Float32Array>) => void,
  sumOfSquares: () => number,
): void {
  const formats = attrs.slotFormats!;
  const packed = formats.flatMap((f, k) => (f === 'float32' ? [] : [k]));
  const isPacked = (slot: number) => slot >= 0 && formats[slot] !== undefined && formats[slot] !== 'float32';
  const scratch = new Map(packed.map((k) => [k, new Float32Array(CHUNK)]));
  const count = table.sizes.length;
  const own = attrs.leafScalars === undefined || count === 0 ? 0 : attrs.leafScalars.length / count;
  // The clip scale is the whole tree's: its sum of squares once, before the batches.
  const base: FusedAttrs = attrs.clipNorm > 0 && attrs.sumOfSquares === undefined ? { ...attrs, sumOfSquares: sumOfSquares() } : attrs;
  const writes = !attrs.slotsRead;

  if (writes) for (const k of packed) for (let j = 0; j < count; j++) table.outputs[1 + k]![j][0] = packedHeader(formats[k] as PackedFormat, table.sizes[j]);

  const flush = (pieces: readonly Piece[]) => {
    for (const p of pieces) {
      for (const k of packed) {
        const format = formats[k] as PackedFormat;
        codec.unpackStretch(format, table.inputs[2 + k]![p.leaf] as Int32Array, table.sizes[p.leaf], p.start, scratch.get(k)!.subarray(p.at, p.at + p.n));
      }
    }
    // Position `pos` of slot `slot`: its scratch where packed, else the leaf's view.
    const view = (list: ReadonlyArray<Float32Array | Int32Array> | null, slot: number): Float32Array[] | null =>
      list === null
        ? null
        : pieces.map((p) =>
            isPacked(slot) ? scratch.get(slot)!.subarray(p.at, p.at + p.n) : (list[p.leaf] as Float32Array).subarray(p.start, p.start + p.n),
          );
    run(
      {
        ...base,
        leaves: pieces.length,
        variants: attrs.variants.length === 0 ? [] : pieces.map((p) => attrs.variants[p.leaf] ?? 0),
        ...(own > 0 ? { leafScalars: pieces.flatMap((p) => attrs.leafScalars!.slice(p.leaf * own, (p.leaf + 1) * own)) } : {}),
      },
      {
        sizes: pieces.map((p) => p.n),
        inputs: table.inputs.map((list, pos) => view(list, pos - 2)),
        outputs: table.outputs.map((list, pos) => view(list, pos - 1)),
      },
    );
    if (!writes) return;
    for (const p of pieces) {
      for (const k of packed) {
        const format = formats[k] as PackedFormat;
        codec.packStretch(format, scratch.get(k)!.subarray(p.at, p.at + p.n), table.sizes[p.leaf], p.start, table.outputs[1 + k]![p.leaf] as Int32Array);
      }
    }
  };

  const pieces: Piece[] = [];
  let used = 0;
  for (let leaf = 0; leaf < count; leaf++) {
    const size = table.sizes[leaf];
    for (let start = 0; start < size; start += CHUNK) {
      const n = Math.min(CHUNK, size - start);
      if (used + n > CHUNK) {
        flush(pieces);
        pieces.length = 0;
        used = 0;
      }
      pieces.push({ leaf, start, n, at: used });
      used += n;
    }
  }
  if (pieces.length > 0) flush(pieces);
}
