import { isMask, type Program, type ProgramNode } from '../program.js';

/**
 * Compiles an element-wise {@link Program} to a WebAssembly module that runs it with SIMD over
 * buffers in an imported memory: the tfjs wasm backend's heap, plain or (for the threaded build)
 * shared. The module exports
 *
 *     run(n, in_0 .. in_{I-1}, out_0 .. out_{O-1}, scalars)
 *
 * (byte offsets into the memory): elements [0, n) of each output from the same elements of the
 * inputs, four at a time in f32x4 lanes, then the last n mod 4 one at a time with scalar f32
 * operations, which round exactly as the lanes do. Each iteration loads all its inputs before it
 * stores any output, so an output may be an input (the in-place step). `scalars` points at the
 * program's per-step scalars, float32. Each operation rounds as the wasm backend's tf op does.
 */
export function programModuleBytes(program: Program, shared: boolean): Uint8Array<ArrayBuffer> {
  return moduleBytes(program, shared, false);
}

/**
 * The module of {@link programModuleBytes} for the cpu backend's buffers, which the tile runner
 * (tiles.ts) copies into a private, unshared memory: each operation rounds as the cpu backend's
 * tf op (and the JavaScript loop of cpu/compile.ts) does, and where the wasm backend's differ
 * the module follows the cpu's: `rsqrt` is `1 / sqrt(x)` in float64, rounded once; `max` and
 * `min` are NaN when either operand is, and order -0 below +0 (f32x4.max / min, not the
 * pseudo-min and -max the wasm backend's ops amount to). Besides `run`, it exports
 *
 *     tiles(records, count)
 *
 * which calls `run` once per record: `count` records of {@link tileRecordWords} i32 words from
 * byte offset `records`, each holding `run`'s arguments in order.
 */
export function cpuProgramModuleBytes(program: Program): Uint8Array<ArrayBuffer> {
  return moduleBytes(program, false, true);
}

/** The i32 words of one record of a cpu module's `tiles` export: `run`'s arguments. */
export function tileRecordWords(program: Program): number {
  return 1 + program.inputs + program.outputs.length + 1;
}

function moduleBytes(program: Program, shared: boolean, cpu: boolean): Uint8Array<ArrayBuffer> {
  const params = tileRecordWords(program);
  const types = [[0x60, ...vec(Array(params).fill(I32)), ...vec([])]];
  if (cpu) types.push([0x60, ...vec([I32, I32]), ...vec([])]);
  const memoryLimits = shared ? [0x03, ...u32(1), ...u32(65536)] : [0x00, ...u32(1)];
  const imports = vec([[...name('env'), ...name('memory'), 0x02, ...memoryLimits]]);
  const functions = cpu ? [0x00, 0x01] : [0x00];
  const exports = vec([[...name('run'), 0x00, 0x00], ...(cpu ? [[...name('tiles'), 0x00, 0x01]] : [])]);
  const code = vec([sized(functionBody(program, cpu)), ...(cpu ? [sized(tilesBody(params))] : [])]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(functions)),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

// Opcodes (WebAssembly core and SIMD specifications).
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const F32_CONST = 0x43;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const I32_LOAD = 0x28;
const F32_MIN = 0x96;
const F32_MAX = 0x97;
const F64_CONST = 0x44;
const F64_SQRT = 0x9f;
const F64_DIV = 0xa3;
const F32_DEMOTE_F64 = 0xb6;
const F64_PROMOTE_F32 = 0xbb;
const CALL = 0x10;
const F32_LOAD = 0x2a;
const F32_STORE = 0x38;
const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const SELECT = 0x1b;
const EMPTY = 0x40;
const SIMD = 0xfd;
const V128_LOAD = 0x00;
const V128_LOAD32_SPLAT = 0x09;
const V128_STORE = 0x0b;
const V128_CONST = 0x0c;
const V128_BITSELECT = 0x52;
const I8X16_SHUFFLE = 0x0d;
const F32X4_DEMOTE_F64X2_ZERO = 0x5e;
const F64X2_PROMOTE_LOW_F32X4 = 0x5f;
const F32X4_MIN = 0xe8;
const F32X4_MAX = 0xe9;
const F64X2_SQRT = 0xef;
const F64X2_DIV = 0xf3;

/** Scalar and f32x4 opcodes of each operation (the f32x4 ones follow the 0xfd prefix). */
const OPCODES: Record<Exclude<ProgramNode['op'], 'input' | 'scalar' | 'const' | 'where' | 'rsqrt'>, [number, number]> = {
  add: [0x92, 0xe4],
  sub: [0x93, 0xe5],
  mul: [0x94, 0xe6],
  div: [0x95, 0xe7],
  sqrt: [0x91, 0xe3],
  abs: [0x8b, 0xe0],
  neg: [0x8c, 0xe1],
  // tf.maximum / tf.minimum on the wasm backend keep the first operand unless the second is
  // strictly greater (smaller): NaN first gives NaN, NaN second gives the first. That is
  // f32x4.pmax / pmin; the scalar tail selects the same way (see the 'max' case below).
  min: [-1, 0xea],
  max: [-1, 0xeb],
  eq: [0x5b, 0x41],
  lt: [0x5d, 0x43],
  gt: [0x5e, 0x44],
  le: [0x5f, 0x45],
  ge: [0x60, 0x46],
};

/**
 * The body of `run`, rounding as the wasm backend's ops do or (`cpu`) as the cpu backend's.
 * Locals after the parameters: i, vend, end (i32), then per node a v128 (the vector loop), an
 * f32 (the tail) and an i32 (a mask in the tail).
 */
function functionBody(p: Program, cpu: boolean): number[] {
  const inputs = p.inputs;
  const outputs = p.outputs.length;
  const N = 0;
  const IN = 1;
  const OUT = IN + inputs;
  const SC = OUT + outputs;
  const I = SC + 1;
  const VEND = I + 1;
  const END_AT = I + 2;
  const count = p.nodes.length;
  const V = I + 3;
  const F = V + count;
  const M = F + count;
  const locals = vec([
    [...u32(3), I32],
    [...u32(count), V128],
    [...u32(count), F32],
    [...u32(count), I32],
  ]);
  const out: number[] = [...locals];
  const emit = (...bytes: number[]) => out.push(...bytes);

  // Scalars, splatted once for the vector loop and loaded once for the tail.
  p.nodes.forEach((node, k) => {
    if (node.op !== 'scalar') return;
    emit(LOCAL_GET, ...u32(SC), SIMD, ...u32(V128_LOAD32_SPLAT), ...memarg(2, 4 * node.index), LOCAL_SET, ...u32(V + k));
    emit(LOCAL_GET, ...u32(SC), F32_LOAD, ...memarg(2, 4 * node.index), LOCAL_SET, ...u32(F + k));
  });
  // vend = (n & ~3) * 4, end = n * 4 (byte offsets)
  emit(LOCAL_GET, ...u32(N), I32_CONST, ...s32(-4), I32_AND, I32_CONST, ...s32(2), I32_SHL, LOCAL_SET, ...u32(VEND));
  emit(LOCAL_GET, ...u32(N), I32_CONST, ...s32(2), I32_SHL, LOCAL_SET, ...u32(END_AT));

  const loop = (vector: boolean) => {
    const step = vector ? 16 : 4;
    const bound = vector ? VEND : END_AT;
    const get = (k: number) => {
      const node = p.nodes[k];
      if (node.op === 'const') {
        if (vector) emit(SIMD, ...u32(V128_CONST), ...[0, 1, 2, 3].flatMap(() => f32Bytes(node.value)));
        else emit(F32_CONST, ...f32Bytes(node.value));
      } else {
        emit(LOCAL_GET, ...u32(vector ? V + k : isMask(node) ? M + k : F + k));
      }
    };
    emit(BLOCK, EMPTY, LOOP, EMPTY);
    emit(LOCAL_GET, ...u32(I), LOCAL_GET, ...u32(bound), I32_GE_U, BR_IF, 1);
    p.nodes.forEach((node, k) => {
      if (node.op === 'scalar' || node.op === 'const') return;
      if (node.op === 'input') {
        emit(LOCAL_GET, ...u32(IN + node.index), LOCAL_GET, ...u32(I), I32_ADD);
        if (vector) emit(SIMD, ...u32(V128_LOAD), ...memarg(4, 0));
        else emit(F32_LOAD, ...memarg(2, 0));
      } else if (node.op === 'where') {
        const [mask, a, b] = node.args;
        get(a);
        get(b);
        get(mask);
        if (vector) emit(SIMD, ...u32(V128_BITSELECT));
        else emit(SELECT);
      } else if (node.op === 'rsqrt' && cpu) {
        // As the cpu backend's tf.rsqrt: 1 / sqrt(x) in float64, rounded once; the lanes in two
        // float64 pairs (the high pair moved down first), demoted and joined again.
        const one = [SIMD, ...u32(V128_CONST), ...[0, 1].flatMap(() => f64Bytes(1))];
        const half = (high: boolean) => {
          emit(...one);
          get(node.args[0]);
          if (high) {
            get(node.args[0]);
            emit(SIMD, ...u32(I8X16_SHUFFLE), ...[8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
          }
          emit(SIMD, ...u32(F64X2_PROMOTE_LOW_F32X4), SIMD, ...u32(F64X2_SQRT), SIMD, ...u32(F64X2_DIV), SIMD, ...u32(F32X4_DEMOTE_F64X2_ZERO));
        };
        if (vector) {
          half(false);
          half(true);
          emit(SIMD, ...u32(I8X16_SHUFFLE), ...[0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
        } else {
          emit(F64_CONST, ...f64Bytes(1));
          get(node.args[0]);
          emit(F64_PROMOTE_F32, F64_SQRT, F64_DIV, F32_DEMOTE_F64);
        }
      } else if (cpu && (node.op === 'max' || node.op === 'min')) {
        // As Math.max / Math.min and the cpu backend's tf.maximum / tf.minimum: NaN if either
        // operand is NaN, -0 below +0.
        node.args.forEach(get);
        const max = node.op === 'max';
        if (vector) emit(SIMD, ...u32(max ? F32X4_MAX : F32X4_MIN));
        else emit(max ? F32_MAX : F32_MIN);
      } else if (node.op === 'rsqrt') {
        // As the wasm backend's tf.rsqrt: the float32 root, then 1 / root.
        if (vector) emit(SIMD, ...u32(V128_CONST), ...[0, 1, 2, 3].flatMap(() => f32Bytes(1)));
        else emit(F32_CONST, ...f32Bytes(1));
        get(node.args[0]);
        if (vector) emit(SIMD, ...u32(OPCODES.sqrt[1]), SIMD, ...u32(OPCODES.div[1]));
        else emit(OPCODES.sqrt[0], OPCODES.div[0]);
      } else if (!vector && (node.op === 'max' || node.op === 'min')) {
        // b if (max: a < b, min: b < a) else a
        const [a, b] = node.args;
        get(b);
        get(a);
        if (node.op === 'max') {
          get(a);
          get(b);
        } else {
          get(b);
          get(a);
        }
        emit(OPCODES.lt[0]);
        emit(SELECT);
      } else {
        node.args.forEach(get);
        const [scalarOp, vectorOp] = OPCODES[node.op];
        if (vector) emit(SIMD, ...u32(vectorOp));
        else emit(scalarOp);
      }
      emit(LOCAL_SET, ...u32(vector ? V + k : isMask(node) ? M + k : F + k));
    });
    p.outputs.forEach((node, o) => {
      emit(LOCAL_GET, ...u32(OUT + o), LOCAL_GET, ...u32(I), I32_ADD);
      get(node);
      if (vector) emit(SIMD, ...u32(V128_STORE), ...memarg(4, 0));
      else emit(F32_STORE, ...memarg(2, 0));
    });
    emit(LOCAL_GET, ...u32(I), I32_CONST, ...s32(step), I32_ADD, LOCAL_SET, ...u32(I));
    emit(BR, 0, END, END);
  };
  loop(true);
  loop(false);
  emit(END);
  return out;
}

/**
 * The body of `tiles(records, count)`: `run` (function 0) with the `words` i32 words of each
 * record as its arguments. Local 2 is the end of the records.
 */
function tilesBody(words: number): number[] {
  const [AT, COUNT, END_AT] = [0, 1, 2];
  const stride = 4 * words;
  const out: number[] = [...vec([[...u32(1), I32]])];
  out.push(LOCAL_GET, ...u32(AT), LOCAL_GET, ...u32(COUNT), I32_CONST, ...s32(stride), I32_MUL, I32_ADD, LOCAL_SET, ...u32(END_AT));
  out.push(BLOCK, EMPTY, LOOP, EMPTY);
  out.push(LOCAL_GET, ...u32(AT), LOCAL_GET, ...u32(END_AT), I32_GE_U, BR_IF, 1);
  for (let w = 0; w < words; w++) out.push(LOCAL_GET, ...u32(AT), I32_LOAD, ...memarg(2, 4 * w));
  out.push(CALL, ...u32(0));
  out.push(LOCAL_GET, ...u32(AT), I32_CONST, ...s32(stride), I32_ADD, LOCAL_SET, ...u32(AT));
  out.push(BR, 0, END, END, END);
  return out;
}

/** Unsigned LEB128. */
function u32(x: number): number[] {
  const out: number[] = [];
  do {
    let byte = x & 0x7f;
    x >>>= 7;
    if (x !== 0) byte |= 0x80;
    out.push(byte);
  } while (x !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
function s32(x: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = x & 0x7f;
    x >>= 7;
    if ((x === 0 && (byte & 0x40) === 0) || (x === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function f32Bytes(x: number): number[] {
  return Array.from(new Uint8Array(new Float32Array([x]).buffer));
}

function f64Bytes(x: number): number[] {
  return Array.from(new Uint8Array(new Float64Array([x]).buffer));
}

function memarg(align: number, offset: number): number[] {
  return [...u32(align), ...u32(offset)];
}

function vec(items: readonly (readonly number[] | number)[]): number[] {
  return [...u32(items.length), ...items.flatMap((x) => (typeof x === 'number' ? [x] : [...x]))];
}

function name(text: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(text));
  return [...u32(bytes.length), ...bytes];
}

function sized(bytes: readonly number[]): number[] {
  return [...u32(bytes.length), ...bytes];
}

function section(id: number, content: readonly number[]): number[] {
  return [id, ...sized(content)];
}
