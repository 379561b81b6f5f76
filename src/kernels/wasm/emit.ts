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
 * program's per-step scalars, float32.
 */
export function programModuleBytes(program: Program, shared: boolean): Uint8Array<ArrayBuffer> {
  const params = 1 + program.inputs + program.outputs.length + 1;
  const type = [0x60, ...vec(Array(params).fill(I32)), ...vec([])];
  const memoryLimits = shared ? [0x03, ...u32(1), ...u32(65536)] : [0x00, ...u32(1)];
  const imports = vec([[...name('env'), ...name('memory'), 0x02, ...memoryLimits]]);
  const exports = vec([[...name('run'), 0x00, 0x00]]);
  const code = vec([sized(functionBody(program))]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, imports),
    ...section(3, vec([[0x00]])),
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
const I32_AND = 0x71;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
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
 * The body of `run`. Locals after the parameters: i, vend, end (i32), then per node a v128 (the
 * vector loop), an f32 (the tail) and an i32 (a mask in the tail).
 */
function functionBody(p: Program): number[] {
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
