import { int8CodecTables } from '../../internal/packed-codec.js';
import { INT8_BLOCK, packedHeader, type PackedFormat } from '../../internal/state-dtype.js';
import { kernelModule, type KernelExports } from './runner.js';

/**
 * The packed-state codec of optimizers.wat (WebAssembly SIMD) for arrays that live outside any
 * WebAssembly memory: the cpu backend's. The module gets a small memory of its own; a leaf goes
 * through it in chunks of {@link CHUNK} values (the packed words copied in, the values decoded,
 * the values copied out, or the reverse), so each chunk stays in cache. It gives the same bits
 * as the typed-array codec (internal/packed-codec.ts), which test/kernels/wasm checks.
 */

/** Values per chunk: whole int8 blocks and bfloat16 pairs, 256 KiB of float32. */
export const CHUNK = 65536;
/** Bytes of one map's int8 tables: midpoints, codes by upper 16 bits, map. */
const TABLES = 1024 + 65536 + 1024;
// The memory's regions (byte addresses): the two maps' tables, a chunk's values, its scales, its codes.
const SIGNED_TABLES = 0;
const UNSIGNED_TABLES = TABLES;
const VALUES = 2 * TABLES;
const SCALES = VALUES + 4 * CHUNK;
const CODES = SCALES + 4 * (CHUNK / INT8_BLOCK);
/** The end of the regions: bfloat16's codes take 2 bytes per value, int8's one. */
const END = CODES + 2 * CHUNK;
const PAGE = 65536;

/** The codec on its own memory. */
export class CodecMemory {
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;

  private readonly exports: KernelExports;

  private constructor(module: WebAssembly.Module, memory: WebAssembly.Memory) {
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    for (const [at, signed] of [[SIGNED_TABLES, true], [UNSIGNED_TABLES, false]] as const) {
      const { mid, table, map } = int8CodecTables(signed);
      this.f32.set(mid, at / 4);
      new Uint8Array(memory.buffer, at + 1024, 65536).set(table);
      this.f32.set(map, (at + 1024 + 65536) / 4);
    }
  }

  /** Decodes packed leaf `packed` (element 0 its count) into `out` (its `out.length` values). */
  unpack(format: PackedFormat, packed: Int32Array, out: Float32Array): void {
    const n = out.length;
    for (let a = 0; a < n; a += CHUNK) this.unpackStretch(format, packed, n, a, out.subarray(a, Math.min(n, a + CHUNK)));
  }

  /** Encodes `values` into `out`, a packed leaf of their count (every element written). */
  pack(format: PackedFormat, values: Float32Array, out: Int32Array): void {
    const n = values.length;
    out[0] = packedHeader(format, n);
    for (let a = 0; a < n; a += CHUNK) this.packStretch(format, values.subarray(a, Math.min(n, a + CHUNK)), n, a, out);
  }

  /**
   * Decodes values `[start, start + out.length)` of the packed leaf `packed` of `n` values into
   * `out`: `start` a multiple of {@link CHUNK}'s blocks (256), at most {@link CHUNK} values.
   */
  unpackStretch(format: PackedFormat, packed: Int32Array, n: number, start: number, out: Float32Array): void {
    const c = out.length;
    if (format === 'bfloat16') {
      this.i32.set(packed.subarray(1 + start / 2, 1 + start / 2 + Math.ceil(c / 2)), CODES / 4);
      this.exports.bf16unpack(CODES, VALUES, c);
    } else {
      const blocks = Math.ceil(n / INT8_BLOCK);
      this.i32.set(packed.subarray(1 + start / INT8_BLOCK, 1 + Math.ceil((start + c) / INT8_BLOCK)), SCALES / 4);
      this.i32.set(packed.subarray(1 + blocks + start / 4, 1 + blocks + Math.ceil((start + c) / 4)), CODES / 4);
      const map = (format === 'int8-signed' ? SIGNED_TABLES : UNSIGNED_TABLES) + 1024 + 65536;
      this.exports.int8unpack(SCALES, CODES, VALUES, c, map);
    }
    out.set(this.f32.subarray(VALUES / 4, VALUES / 4 + c));
  }

  /**
   * Encodes `values`, values `[start, start + values.length)` of a leaf of `n`, into their words
   * of `out`, a packed leaf of `n` values (as {@link unpackStretch}; the count word not written).
   */
  packStretch(format: PackedFormat, values: Float32Array, n: number, start: number, out: Int32Array): void {
    const c = values.length;
    this.f32.set(values, VALUES / 4);
    if (format === 'bfloat16') {
      this.exports.bf16pack(VALUES, CODES, c);
      out.set(this.i32.subarray(CODES / 4, CODES / 4 + Math.ceil(c / 2)), 1 + start / 2);
    } else {
      const blocks = Math.ceil(n / INT8_BLOCK);
      this.exports.int8pack(VALUES, SCALES, CODES, c, format === 'int8-signed' ? SIGNED_TABLES : UNSIGNED_TABLES);
      out.set(this.i32.subarray(SCALES / 4, SCALES / 4 + Math.ceil(c / INT8_BLOCK)), 1 + start / INT8_BLOCK);
      out.set(this.i32.subarray(CODES / 4, CODES / 4 + Math.ceil(c / 4)), 1 + blocks + start / 4);
    }
  }

  /** The codec, or `null` where this engine cannot compile the module (no SIMD). Made once. */
  static get(): CodecMemory | null {
    if (made === undefined) {
      const module = kernelModule(false);
      try {
        made = module === null ? null : new CodecMemory(module, new WebAssembly.Memory({ initial: Math.ceil(END / PAGE) }));
      } catch {
        made = null;
      }
    }
    return made;
  }
}

let made: CodecMemory | null | undefined;

