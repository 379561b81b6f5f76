import { clipScale, type FusedAttrs, type KernelTable } from '../layout.js';
import { cachedProgramKey, type Program } from '../program.js';
import { programModuleBytes } from './emit.js';
import { OPTIMIZER_KERNELS_WASM, OPTIMIZER_KERNELS_WASM_SHARED } from './binary.generated.js';
import { int8CodecTables } from '../../internal/packed-codec.js';
import { INT8_BLOCK, type PackedFormat } from '../../internal/state-dtype.js';

/**
 * Runs the WebAssembly SIMD kernels on the tfjs wasm backend's own memory: the modules generated
 * from element-wise programs (emit.ts), and the sum of squares of optimizers.wat. One instance
 * per backend (its modules import that backend's `WebAssembly.Memory`), with a block of the
 * backend's heap for the per-step scalars and the sum's leaf table, grown on demand.
 */

/** The parts of tfjs's wasm backend this module uses. */
export interface WasmBackendLike {
  wasm: {
    /** The module's exports; the single-threaded build exports its memory here. */
    asm: { memory?: WebAssembly.Memory };
    /** The threaded build's memory (shared, created by the JS glue and imported). */
    wasmMemory?: WebAssembly.Memory;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
}

/** The exports of optimizers.wat. */
export interface KernelExports {
  /** The sum of squares of the leaves of a table of `count` records `[n, offset]` (i32 words). */
  sumsq(table: number, count: number): number;
  /** `n` bfloat16 codes (two bytes each) at byte address `src` to float32 values at `dst`. */
  bf16unpack(src: number, dst: number, n: number): void;
  /** `n` float32 values at `src` to bfloat16 codes at `dst`, and a zero code after an odd count. */
  bf16pack(src: number, dst: number, n: number): void;
  /** `n` int8 codes at `codes` with their block scales at `scales` to float32 values at `dst`. */
  int8unpack(scales: number, codes: number, dst: number, n: number, map: number): void;
  /** `n` float32 values at `src` to block scales at `scales` and int8 codes at `codes`. */
  int8pack(src: number, scales: number, codes: number, n: number, tables: number): void;
}

/** Bytes of the int8 codec's tables on the heap: midpoints, codes by upper 16 bits, map. */
const INT8_TABLES_BYTES = 1024 + 65536 + 1024;

/** The compiled modules (for an unshared and a shared memory), made on first use. */
const compiled: { plain?: WebAssembly.Module | null; shared?: WebAssembly.Module | null } = {};

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  if (typeof atob === 'function') return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/**
 * The compiled module, importing an unshared memory or (`shared`) the shared memory of tfjs's
 * threaded wasm build; `null` where this engine cannot compile it (no SIMD, or no threads for
 * the shared build).
 */
export function kernelModule(shared = false): WebAssembly.Module | null {
  const key = shared ? 'shared' : 'plain';
  if (compiled[key] === undefined) {
    try {
      compiled[key] = new WebAssembly.Module(decodeBase64(shared ? OPTIMIZER_KERNELS_WASM_SHARED : OPTIMIZER_KERNELS_WASM));
    } catch {
      compiled[key] = null;
    }
  }
  return compiled[key]!;
}

/**
 * The backend's heap: exported by the single-threaded build (`asm.memory`); the threaded build
 * (loaded in cross-origin-isolated pages) creates a shared memory in its JS glue and imports it
 * (`wasmMemory`).
 */
export function heapOf(backend: WasmBackendLike): WebAssembly.Memory | undefined {
  const wasm = backend?.wasm;
  const memory = wasm?.asm?.memory ?? wasm?.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/** Whether `memory` is shared (its buffer a SharedArrayBuffer). */
function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/** Compiled program modules by memory kind and program key (shared by every backend). */
const MODULES = /* @__PURE__ */ new Map<string, WebAssembly.Module>();

/**
 * The kernels of each wasm backend, made on first use. Module state rather than a static class
 * field: a static initializer is a side effect that would keep the class, and with it the
 * embedded module, in every bundle, even one that imports only a schedule.
 */
let instances: WeakMap<object, WasmKernels | null> | undefined;

/** A kernel instance bound to one wasm backend's memory. */
export class WasmKernels {
  private readonly exports: KernelExports;
  private readonly memory: WebAssembly.Memory;
  /** A block of the backend's heap: the per-step scalars, or the sum's leaf table. */
  private block = 0;
  private capacity = 0;
  /** Generated programs' `run` exports on this memory, by program key. */
  private readonly programs = new Map<string, (...args: number[]) => void>();
  /** Heap addresses of the int8 codec's tables (0 until first used). */
  private signedTables = 0;
  private unsignedTables = 0;

  private constructor(
    private readonly backend: WasmBackendLike,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
  ) {
    this.memory = memory;
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
  }

  /** The kernels for `backend`, or `null` if they cannot run there. */
  static for(backend: WasmBackendLike): WasmKernels | null {
    instances ??= new WeakMap();
    let k = instances.get(backend);
    if (k === undefined) {
      const memory = heapOf(backend);
      const module = memory === undefined ? null : kernelModule(isShared(memory));
      const usable = module !== null && memory !== undefined;
      try {
        k = usable ? new WasmKernels(backend, module, memory) : null;
      } catch {
        k = null;
      }
      instances.set(backend, k);
    }
    return k;
  }

  private reserve(need: number): void {
    if (need <= this.capacity) return;
    if (this.block) this.backend.wasm._free(this.block);
    this.capacity = Math.max(need, this.capacity * 2, 4096);
    this.block = this.backend.wasm._malloc(this.capacity) >>> 0;
  }

  /**
   * Tells the backend that a tensor's data changed in place. The backend's C++ side caches
   * work derived from a tensor, keyed by its id (XNNPACK keeps matmul weights packed), on the
   * assumption that tensors never change; unregistering the id runs the callbacks that drop
   * those caches, and registering it again at the same memory keeps the tensor valid.
   */
  changed(dataId: object, size: number): void {
    const entry = this.backend.dataIdMap.get(dataId);
    if (!entry) return;
    this.backend.wasm.tfjs.disposeData(entry.id);
    this.backend.wasm.tfjs.registerTensor(entry.id, size, entry.memoryOffset);
  }

  /** Sets every element of each tensor to `value` in place (tensors nothing else holds). */
  fillWith(tensors: ReadonlyArray<{ dataId: object; size: number }>, value: number): void {
    for (const t of tensors) {
      new Float32Array(this.memory.buffer, this.offset(t.dataId), t.size).fill(value);
      this.changed(t.dataId, t.size);
    }
  }

  /** The heap offset of a tensor's data. */
  offset(dataId: object, elementOffset = 0): number {
    const entry = this.backend.dataIdMap.get(dataId);
    if (!entry) throw new Error('tfjs-optax: tensor data not found on the wasm backend');
    return entry.memoryOffset + 4 * elementOffset;
  }

  /**
   * Runs one fused step over all leaves of `table`: one call per leaf of the program of its
   * variant, with the heap offsets of its inputs (gradient, parameter if any, slots) and
   * outputs, and the scalars (then the clip scale) written once into the block.
   */
  run(attrs: FusedAttrs, table: KernelTable<{ dataId: object; size?: number; elementOffset?: number }>): void {
    const count = table.sizes.length;
    const { scalarsOf } = this.scalarBlocks(attrs, table);
    const runs = attrs.programs.map((p) => this.programRun(p));
    const ins = table.inputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const outs = table.outputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const args: number[] = new Array(1 + ins.length + outs.length + 1);
    for (let j = 0; j < count; j++) {
      const n = table.sizes[j];
      if (n === 0) continue;
      args[0] = n;
      let k = 1;
      for (const list of ins) args[k++] = this.offset(list[j].dataId, list[j].elementOffset);
      for (const list of outs) args[k++] = this.offset(list[j].dataId, list[j].elementOffset);
      args[k] = scalarsOf(j);
      runs[attrs.variants[j] ?? 0](...args);
    }
  }

  /**
   * Writes the scalars of a call into the block (the per-step scalars, the clip scale, each
   * leaf's own), followed by `scratchBytes` of scratch (16-byte aligned): returns the address of
   * leaf j's scalars and of the scratch. Both stay valid until the next call.
   */
  scalarBlocks(
    attrs: FusedAttrs,
    table: KernelTable<{ dataId: object; size?: number }>,
    scratchBytes = 0,
  ): { scalarsOf(leaf: number): number; scratch: number } {
    const count = table.sizes.length;
    const grads = table.inputs[0]!;
    const clip =
      attrs.clipNorm > 0
        ? clipScale(attrs.sumOfSquares ?? this.sumOfSquares(grads.map((t, j) => ({ dataId: t.dataId, size: table.sizes[j] }))), attrs.clipNorm)
        : 1;
    const scalarCount = attrs.scalars.length + (attrs.clipNorm > 0 ? 1 : 0);
    // With per-leaf scalars, each leaf has its own block: the shared scalars, then its own.
    const own = attrs.leafScalars === undefined || count === 0 ? 0 : attrs.leafScalars.length / count;
    const width = scalarCount + own;
    const blocks = own > 0 ? count : 1;
    const scratchAt = (4 * width * blocks + 15) & ~15;
    this.reserve(scratchAt + scratchBytes + 16);
    const scalarsAt = this.block;
    const floats = new Float32Array(this.memory.buffer, scalarsAt, width * blocks);
    for (let j = 0; j < blocks; j++) {
      floats.set(attrs.scalars, j * width);
      if (attrs.clipNorm > 0) floats[j * width + attrs.scalars.length] = clip;
      if (own > 0) floats.set(attrs.leafScalars!.slice(j * own, (j + 1) * own), j * width + scalarCount);
    }
    return { scalarsOf: (j) => scalarsAt + (own > 0 ? 4 * width * j : 0), scratch: (scalarsAt + scratchAt + 15) & ~15 };
  }

  /** The `run` export of `program`'s module on this memory, compiled and instantiated once. */
  programRun(program: Program): (...args: number[]) => void {
    const key = cachedProgramKey(program);
    let run = this.programs.get(key);
    if (run === undefined) {
      const shared = isShared(this.memory);
      const cacheKey = `${shared ? 's' : 'p'}${key}`;
      let module = MODULES.get(cacheKey);
      if (module === undefined) {
        module = new WebAssembly.Module(programModuleBytes(program, shared));
        MODULES.set(cacheKey, module);
      }
      const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
      run = instance.exports.run as (...args: number[]) => void;
      this.programs.set(key, run);
    }
    return run;
  }

  /**
   * The bfloat16 codec on the heap, between the codes of a packed leaf of `n` values (from its
   * element 1) and a float32 tensor of `n` elements: `pack` writes the codes (every word),
   * else the values.
   */
  bfloat16(pack: boolean, packed: object, floats: object, n: number): void {
    if (n === 0) return;
    const codes = this.offset(packed, 1);
    const values = this.offset(floats);
    if (pack) this.exports.bf16pack(values, codes, n);
    else this.exports.bf16unpack(codes, values, n);
  }

  /**
   * The int8 codec on the heap (`signed` map or not), between a packed leaf of `n` values (its
   * scales from element 1, then its codes) and a float32 tensor of `n` elements: `pack` writes
   * every scale and code word, else the values.
   */
  int8(pack: boolean, signed: boolean, packed: object, floats: object, n: number): void {
    if (n === 0) return;
    const tables = this.int8Tables(signed);
    const scales = this.offset(packed, 1);
    const codes = this.offset(packed, 1 + Math.ceil(n / INT8_BLOCK));
    const values = this.offset(floats);
    if (pack) this.exports.int8pack(values, scales, codes, n, tables);
    else this.exports.int8unpack(scales, codes, values, n, tables + 1024 + 65536);
  }

  /**
   * The codec on `count` values of a packed leaf of `n` values from value `start` (a multiple of
   * {@link INT8_BLOCK}: whole int8 blocks and bfloat16 pairs), and float32 values at heap address
   * `values`: `pack` writes the stretch's scale and code words, else the values.
   */
  codecChunk(pack: boolean, format: PackedFormat, packed: object, n: number, start: number, count: number, values: number): void {
    if (count === 0) return;
    if (format === 'bfloat16') {
      const codes = this.offset(packed, 1 + start / 2);
      if (pack) this.exports.bf16pack(values, codes, count);
      else this.exports.bf16unpack(codes, values, count);
      return;
    }
    const tables = this.int8Tables(format === 'int8-signed');
    const scales = this.offset(packed, 1 + start / INT8_BLOCK);
    const codes = this.offset(packed, 1 + Math.ceil(n / INT8_BLOCK)) + start;
    if (pack) this.exports.int8pack(values, scales, codes, count, tables);
    else this.exports.int8unpack(scales, codes, values, count, tables + 1024 + 65536);
  }

  /** The heap address of the int8 tables of a map, copied there on first use (kept for good). */
  private int8Tables(signed: boolean): number {
    let at = signed ? this.signedTables : this.unsignedTables;
    if (at === 0) {
      at = this.backend.wasm._malloc(INT8_TABLES_BYTES) >>> 0;
      const { mid, table, map } = int8CodecTables(signed);
      new Float32Array(this.memory.buffer, at, 256).set(mid);
      new Uint8Array(this.memory.buffer, at + 1024, 65536).set(table);
      new Float32Array(this.memory.buffer, at + 1024 + 65536, 256).set(map);
      if (signed) this.signedTables = at;
      else this.unsignedTables = at;
    }
    return at;
  }

  /** The sum of squares of all elements of `tensors`, in float64 (one pass over the heap). */
  sumOfSquares(tensors: ReadonlyArray<{ dataId: object; size: number }>): number {
    const count = tensors.length;
    this.reserve(8 * count);
    const words = new Int32Array(this.memory.buffer);
    const table = this.block >>> 2;
    for (let j = 0; j < count; j++) {
      words[table + 2 * j] = tensors[j].size;
      words[table + 2 * j + 1] = this.offset(tensors[j].dataId);
    }
    return this.exports.sumsq(this.block, count);
  }
}
