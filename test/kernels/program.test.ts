// The element-wise program compilers against tfjs itself: one program using every operation,
// over values that include NaN, ±Inf, ±0, subnormals and ties, compiled to a JavaScript loop
// (the cpu backend's kernels), interpreted (pages that forbid generated code), and emitted as
// WebAssembly SIMD (the wasm backend's kernels, on a plain and a shared memory), each against the
// same program run as tf ops (TensorOps, the composite path) on the backend it stands for.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { ProgramBuilder, type Program } from '../../src/kernels/program.js';
import { arrayKernel, interpreter } from '../../src/kernels/cpu/compile.js';
import { programModuleBytes } from '../../src/kernels/wasm/emit.js';
import { TensorOps } from '../../src/internal/tensor-ops.js';
import { A, B, compute, SCALARS, SPECIAL } from '../program-values.js';

function program(): Program {
  const p = new ProgramBuilder();
  const [a, b] = [p.input(), p.input()];
  const [s0, s1] = [p.scalar(), p.scalar()];
  return p.build(compute(p, a, b, s0, s1));
}

/** The program as tf ops on `backend`. */
async function viaTensors(backend: string): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ops = new TensorOps();
    const out = ops.leaf(() => compute(ops, tf.tensor1d(A), tf.tensor1d(B), tf.scalar(SCALARS[0]), tf.scalar(SCALARS[1])));
    return out.map((t) => t.dataSync() as Float32Array);
  });
}

function viaWasm(p: Program, shared: boolean): Float32Array[] {
  const memory = shared ? new WebAssembly.Memory({ initial: 2, maximum: 4, shared: true }) : new WebAssembly.Memory({ initial: 2 });
  const run = new WebAssembly.Instance(new WebAssembly.Module(programModuleBytes(p, shared)), { env: { memory } }).exports.run as (
    ...args: number[]
  ) => void;
  const n = A.length;
  const bytes = 4 * 512;
  // Inputs at 16 and 16 + bytes (unaligned by 16 on purpose for the second), outputs after.
  const at = (k: number) => 16 + k * bytes + (k === 1 ? 4 : 0);
  const heap = new Float32Array(memory.buffer);
  heap.set(A, at(0) / 4);
  heap.set(B, at(1) / 4);
  const sc = at(2 + p.outputs.length);
  heap.set(SCALARS, sc / 4);
  run(n, at(0), at(1), ...p.outputs.map((_, k) => at(2 + k)), sc);
  return p.outputs.map((_, k) => new Float32Array(memory.buffer, at(2 + k), n).slice());
}

function viaArrays(run: ReturnType<typeof interpreter>, p: Program): Float32Array[] {
  const outs = p.outputs.map(() => new Float32Array(A.length));
  run(A.length, [A, B], outs, SCALARS);
  return outs;
}

/** Same values bit for bit, every NaN counted equal to every NaN. */
function expectSame(got: Float32Array[], want: Float32Array[], what: string): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    for (let i = 0; i < g.length; i++) {
      const [x, y] = [g[i], want[k][i]];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (!Object.is(x, y)) throw new Error(`${what}: output ${k}, a = ${A[i]}, b = ${B[i]}: got ${x}, want ${y}`);
    }
  });
}

const previous = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(previous);
});

describe('element-wise programs', () => {
  const p = program();

  it('drop unused nodes and share constants', () => {
    const b = new ProgramBuilder();
    const x = b.input();
    b.mul(x, b.constant(3)); // unused
    const out = b.build([b.add(b.mul(x, b.constant(2)), b.constant(2))]);
    expect(out.nodes.filter((n) => n.op === 'const')).toHaveLength(1);
    expect(out.nodes.map((n) => n.op)).toEqual(['input', 'const', 'mul', 'add']);
  });

  it('reject a mask as an output or as an operand', () => {
    const b = new ProgramBuilder();
    const x = b.input();
    const m = b.lt(x, b.constant(0));
    expect(() => b.build([m])).toThrow('a program output must be a value');
    expect(() => b.add(m, x)).toThrow('add() got a mask where a value belongs');
    expect(() => b.where(x, x, x)).toThrow('where() needs a comparison');
  });

  it('compiled to JavaScript and interpreted, give what tf ops give on the cpu backend', async () => {
    const want = await viaTensors('cpu');
    expectSame(viaArrays(arrayKernel(p, 'programs.test'), p), want, 'compiled');
    expectSame(viaArrays(interpreter(p), p), want, 'interpreted');
  });

  it('emitted as WebAssembly SIMD, give what tf ops give on the wasm backend, on a plain and a shared memory', async () => {
    const want = await viaTensors('wasm');
    // tf.maximum(-0, 0) on the wasm backend depends on the length (XNNPACK's vector and scalar
    // paths differ on signed zeros): compare zeros by value there.
    const loose = (xs: Float32Array[]) => xs.map((x, k) => (k === 1 || k === 2 ? x.map((v) => (v === 0 ? 0 : v)) : x));
    expectSame(loose(viaWasm(p, false)), loose(want), 'wasm');
    expectSame(loose(viaWasm(p, true)), loose(want), 'wasm shared');
  });

  it('on the wasm backend, max and min keep the first operand unless the second wins (NaN second is ignored)', async () => {
    const [got] = [viaWasm(p, false)];
    const i = SPECIAL.indexOf(1) * SPECIAL.length; // a = 1, b = NaN
    expect(B[i]).toBeNaN();
    expect(got[1][i]).toBe(1);
    expect(got[2][i]).toBe(1);
    const j = 1; // a = NaN, b = Infinity
    expect(got[1][j]).toBeNaN();
  });
});
