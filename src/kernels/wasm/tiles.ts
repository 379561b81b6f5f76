import type { FusedAttrs, KernelTable } from '../layout.js';
import { cachedProgramKey, type Program } from '../program.js';
import { cpuProgramModuleBytes, tileRecordWords } from './emit.js';

/**
 * Runs WebAssembly SIMD kernels over buffers that live outside any WebAssembly memory: the cpu
 * backend's Float32Arrays, through the modules generated from element-wise programs (emit.ts).
 * The leaves are streamed through a small private memory in tiles of {@link TILE} elements: each
 * tile's pieces of the input buffers are copied in, the kernel computes the outputs there, and
 * the results are copied out. A tile stays in cache between the three steps, so a step costs
 * about one pass over the buffers (as the in-place kernel on the wasm backend does), and the
 * extra memory is one tile per input, not a copy of the tree.
 */

/**
 * Elements per tile: one region of 32 KiB per buffer (as many as a program's inputs or outputs:
 * 6 for adan), well inside a core's L2 cache.
 */
const TILE = 8192;
/** Pieces per tile at most (a tile of many tiny leaves). */
const MAX_PIECES = 1024;
/** Bytes of one tile's region of a buffer. */
const REGION_BYTES = TILE * 4;

/** One leaf's stretch `[start, start + n)` placed at element `at` of every region. */
interface Piece {
  leaf: number;
  start: number;
  n: number;
  at: number;
}

/**
 * Cuts leaves of `sizes` elements into pieces packed into tiles of `tile` elements, and calls
 * `flush` with each full tile's pieces (at most {@link MAX_PIECES}), then with the last one's.
 * Pieces start on 4-element boundaries of the tile, so vectors stay aligned; a leaf's pieces come
 * in order, and empty leaves have none.
 */
function forEachTile(sizes: readonly number[], tile: number, flush: (pieces: readonly Piece[]) => void): void {
  const pieces: Piece[] = [];
  let used = 0;
  for (let leaf = 0; leaf < sizes.length; leaf++) {
    const size = sizes[leaf];
    for (let start = 0; start < size; ) {
      const n = Math.min(size - start, tile - used);
      pieces.push({ leaf, start, n, at: used });
      used += (n + 3) & ~3;
      start += n;
      if (used >= tile || pieces.length === MAX_PIECES) {
        flush(pieces);
        pieces.length = 0;
        used = 0;
      }
    }
  }
  if (pieces.length > 0) flush(pieces);
}

/** A generated program's `tiles` export (see cpuProgramModuleBytes): `run` once per record. */
type TilesExport = (records: number, count: number) => void;

/**
 * A program compiled for the tiles. Outputs that are one of the inputs unchanged (a state slot
 * keeping the gradient) are not computed: they are copied from the input's array to the
 * output's, which saves a store and a copy through the tile.
 */
interface TileProgram {
  tiles: TilesExport;
  /** The computed outputs (indices into the program's outputs), in the module's order. */
  computed: number[];
  /** Per output, the input it copies, or -1 where it is computed. */
  copies: number[];
  /** The i32 words of one record. */
  words: number;
}

/** The one program runner, made on first use (module state, not a static field: see runner.ts). */
let programTiles: ProgramTiles | null | undefined;

/**
 * Runs generated programs over the cpu backend's arrays through the
 * tiles: each program compiled once by cpuProgramModuleBytes, which rounds as the cpu backend's
 * ops do, so the results are those of the JavaScript loops of cpu/compile.ts bit for bit.
 *
 * Memory: the records (`run`'s arguments per piece), the scalar blocks, then one region of
 * {@link TILE} elements per input position. A program's output k is computed into region k:
 * each element of every input is read before that element of any output is written (see
 * emit.ts), so an output may overwrite the copy of the input at its position, and the tile is
 * no larger than its inputs (plus regions for outputs beyond the inputs).
 */
export class ProgramTiles {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  /** Each program compiled, by program key; `null` where it does not compile. */
  private readonly compiled = new Map<string, TileProgram | null>();

  /** The runner, or `null` where this engine has no WebAssembly. */
  static get(): ProgramTiles | null {
    if (programTiles === undefined) {
      try {
        programTiles = typeof WebAssembly === 'object' ? new ProgramTiles() : null;
      } catch {
        programTiles = null;
      }
    }
    return programTiles;
  }

  /**
   * Runs `attrs.programs` over all leaves of `table`, each leaf by the program of its variant,
   * with `scalars` (the per-step scalars, then the clip scale if any) followed by the leaf's own
   * `attrs.leafScalars`. Outputs may be the input arrays themselves (the in-place step): as in
   * the JavaScript loop, each element is read before it is written. Returns `false`, having
   * done nothing, where a program's module does not compile (no WebAssembly SIMD).
   */
  run(attrs: FusedAttrs, table: KernelTable<Float32Array>, scalars: readonly number[]): boolean {
    const programs = attrs.programs;
    const compiled = programs.map((p) => this.compile(p));
    if (compiled.some((c) => c === null)) return false;
    const modules = compiled as TileProgram[];
    const ins = table.inputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const outs = table.outputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const count = table.sizes.length;
    const own = attrs.leafScalars === undefined || count === 0 ? 0 : attrs.leafScalars.length / count;
    const width = scalars.length + own;
    const variant = (leaf: number) => attrs.variants[leaf] ?? 0;

    // Layout, in bytes: records, scalar blocks (one per leaf of a tile with per-leaf scalars),
    // regions; each part 16-byte aligned.
    const maxWords = Math.max(...modules.map((m) => m.words));
    const regionCount = Math.max(...programs.map((p) => Math.max(p.inputs, p.outputs.length)));
    const scalarsAt = align16(MAX_PIECES * maxWords * 4);
    const regionsAt = align16(scalarsAt + (own > 0 ? MAX_PIECES : 1) * width * 4);
    const regionAt = (k: number) => regionsAt + k * REGION_BYTES;
    this.reserve(regionAt(regionCount));
    const heap = new Float32Array(this.memory.buffer);
    const words = new Int32Array(this.memory.buffer);
    heap.set(scalars, scalarsAt / 4);

    forEachTile(table.sizes, TILE, (pieces) => {
      // Inputs in, and each leaf's scalar block (after the first's: the shared block).
      let block = -1;
      for (let r = 0; r < pieces.length; r++) {
        const { leaf, start, n, at } = pieces[r];
        const p = programs[variant(leaf)];
        for (let k = 0; k < p.inputs; k++) copyIn(ins[k][leaf], start, n, heap, regionAt(k) / 4 + at);
        if (own > 0 && (r === 0 || pieces[r - 1].leaf !== leaf)) {
          const base = scalarsAt / 4 + ++block * width;
          if (block > 0) heap.set(scalars, base);
          for (let k = 0; k < own; k++) heap[base + scalars.length + k] = attrs.leafScalars![leaf * own + k];
        }
      }
      // The records, one call per variant (all of a tile's pieces run one program, usually).
      for (let v = 0; v < programs.length; v++) {
        const { tiles, computed, words: stride } = modules[v];
        const inputs = programs[v].inputs;
        let written = 0;
        block = -1;
        for (let r = 0; r < pieces.length; r++) {
          const { leaf, n, at } = pieces[r];
          if (own > 0 && (r === 0 || pieces[r - 1].leaf !== leaf)) block++;
          if (variant(leaf) !== v) continue;
          let w = written++ * stride;
          words[w++] = n;
          for (let k = 0; k < inputs; k++) words[w++] = regionAt(k) + 4 * at;
          for (const k of computed) words[w++] = regionAt(k) + 4 * at;
          words[w] = scalarsAt + (own > 0 ? 4 * width * block : 0);
        }
        if (written > 0) tiles(0, written);
      }
      // Outputs out: the copied inputs first, from their arrays (which a computed output of the
      // in-place step may be about to overwrite), then the computed ones from the tile.
      for (const { leaf, start, n, at } of pieces) {
        const { computed, copies } = modules[variant(leaf)];
        for (let k = 0; k < copies.length; k++) {
          const from = copies[k] < 0 ? null : ins[copies[k]][leaf];
          if (from !== null && from !== outs[k][leaf]) outs[k][leaf].set(from.subarray(start, start + n), start);
        }
        for (const k of computed) outs[k][leaf].set(heap.subarray(regionAt(k) / 4 + at, regionAt(k) / 4 + at + n), start);
      }
    });
    return true;
  }

  /** Grows the memory to at least `bytes`. */
  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** `program` compiled for the tiles and instantiated on this memory, once. */
  private compile(program: Program): TileProgram | null {
    const key = cachedProgramKey(program);
    let made = this.compiled.get(key);
    if (made === undefined) {
      const copies = program.outputs.map((o) => {
        const node = program.nodes[o];
        return node.op === 'input' ? node.index : -1;
      });
      const computed = copies.flatMap((from, k) => (from < 0 ? [k] : []));
      try {
        const reduced: Program = { ...program, outputs: computed.map((k) => program.outputs[k]) };
        const module = new WebAssembly.Module(cpuProgramModuleBytes(reduced));
        const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
        made = { tiles: instance.exports.tiles as TilesExport, computed, copies, words: tileRecordWords(reduced) };
      } catch {
        made = null;
      }
      this.compiled.set(key, made);
    }
    return made;
  }
}

/** Copies `src[start, start + n)` to `heap[at, at + n)`, without a view where `src` is the whole. */
function copyIn(src: Float32Array, start: number, n: number, heap: Float32Array, at: number): void {
  heap.set(start === 0 && n === src.length ? src : src.subarray(start, start + n), at);
}

function align16(bytes: number): number {
  return (bytes + 15) & ~15;
}
