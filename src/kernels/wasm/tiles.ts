import type { FusedAttrs, KernelTable } from '../layout.js';
import { FLAG, type WrittenFamily } from '../spec.js';
import {
  INPUTS,
  OUTPUTS,
  RECORD_BYTES,
  RECORD_WORDS,
  SCALAR_BYTES,
  SCRATCH_BYTES,
  kernelModule,
  type KernelExports,
} from './runner.js';

/**
 * Runs the WebAssembly SIMD kernels of optimizers.wat over buffers that live outside any
 * WebAssembly memory: the cpu backend's Float32Arrays. The leaves are streamed through a small
 * private memory in tiles of {@link TILE} elements: each tile's pieces of the input buffers are
 * copied in, the kernel updates them there in place, and the results are copied out. A tile
 * stays in cache between the three steps, so a step costs about one pass over the buffers (as
 * the in-place kernel on the wasm backend does), and the extra memory is one tile, not a copy
 * of the tree.
 */

/** Elements per tile: 5 buffers of 32 KiB, well inside a core's L2 cache. */
const TILE = 8192;
/** Pieces per tile at most (a tile of many tiny leaves). */
const MAX_PIECES = 1024;

/** Memory layout: the kernels' scratch (never at address 0, which means "no buffer"), the
 * scalars, the piece records, then one region per input position. */
const SCRATCH_AT = 64;
const SCALARS_AT = SCRATCH_AT + SCRATCH_BYTES;
const TABLE_AT = SCALARS_AT + SCALAR_BYTES;
const REGIONS_AT = TABLE_AT + MAX_PIECES * RECORD_BYTES;
const REGION_BYTES = TILE * 4;
const MEMORY_BYTES = REGIONS_AT + INPUTS * REGION_BYTES;

/** One leaf's stretch `[start, start + n)` placed at element `at` of every region. */
interface Piece {
  leaf: number;
  start: number;
  n: number;
  at: number;
}

/** The one runner, made on first use (module state, not a static field: see runner.ts). */
let shared: TileKernels | null | undefined;

export class TileKernels {
  private readonly exports: KernelExports;
  private readonly memory: WebAssembly.Memory;

  private constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(MEMORY_BYTES / 65536) });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
  }

  /** The runner, or `null` where this engine cannot compile the SIMD module. */
  static get(): TileKernels | null {
    if (shared === undefined) {
      const module = kernelModule();
      try {
        shared = module === null ? null : new TileKernels(module);
      } catch {
        shared = null;
      }
    }
    return shared;
  }

  /**
   * Runs one fused step over all leaves of `table`. `clip` is the global-norm scale, computed
   * by the caller over all gradients first (1 without clipping). Outputs may be the input
   * arrays themselves (the in-place step).
   */
  run(attrs: FusedAttrs, table: KernelTable<Float32Array>, clip: number): void {
    // The cpu backend's tf.rsqrt rounds 1 / sqrt(x) once from float64.
    const flags = attrs.flags | FLAG.rsqrtOnce;
    const heap = new Float32Array(this.memory.buffer);
    const words = new Int32Array(this.memory.buffer);
    heap.set(attrs.scalars, SCALARS_AT / 4);
    heap[SCALARS_AT / 4 + attrs.scalars.length] = clip;
    // Each output is computed over the copy of the input it replaces: the update over the
    // gradient (or, with the apply flag, over the parameter), each new slot over the old one.
    const region = (k: number) => REGIONS_AT + k * REGION_BYTES;
    const outRegion = [region((attrs.flags & FLAG.apply) !== 0 ? 1 : 0)];
    for (let k = 1; k < OUTPUTS; k++) outRegion.push(region(k + 1));
    const pieces: Piece[] = [];
    let used = 0;
    const flush = () => {
      for (let r = 0; r < pieces.length; r++) {
        const { leaf, start, n, at } = pieces[r];
        const base = TABLE_AT / 4 + r * RECORD_WORDS;
        words[base] = n;
        words[base + 1] = attrs.decay[leaf];
        for (let k = 0; k < INPUTS; k++) {
          const src = table.inputs[k]?.[leaf];
          words[base + 2 + k] = src ? region(k) + at * 4 : 0;
          if (src) heap.set(src.subarray(start, start + n), region(k) / 4 + at);
        }
        for (let k = 0; k < OUTPUTS; k++) {
          words[base + 2 + INPUTS + k] = table.outputs[k]?.[leaf] ? outRegion[k] + at * 4 : 0;
        }
      }
      this.exports[attrs.family as WrittenFamily](TABLE_AT, pieces.length, SCALARS_AT, flags, SCRATCH_AT);
      for (const { leaf, start, n, at } of pieces) {
        for (let k = 0; k < OUTPUTS; k++) {
          const dst = table.outputs[k]?.[leaf];
          if (dst) dst.set(heap.subarray(outRegion[k] / 4 + at, outRegion[k] / 4 + at + n), start);
        }
      }
      pieces.length = 0;
      used = 0;
    };
    for (let leaf = 0; leaf < table.sizes.length; leaf++) {
      const size = table.sizes[leaf];
      for (let start = 0; start < size; ) {
        // Pieces start on 4-element boundaries of the tile, so vectors stay aligned.
        const n = Math.min(size - start, TILE - used);
        pieces.push({ leaf, start, n, at: used });
        used += (n + 3) & ~3;
        start += n;
        if (used >= TILE || pieces.length === MAX_PIECES) flush();
      }
    }
    if (pieces.length > 0) flush();
  }
}
