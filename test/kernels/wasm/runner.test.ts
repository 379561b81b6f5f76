// The threaded wasm build of tfjs (loaded in cross-origin-isolated pages) keeps its heap in a
// shared WebAssembly.Memory, imported by its JS glue (`wasm.wasmMemory`) instead of exported
// (`wasm.asm.memory`). The kernels then instantiate their shared-memory build, which must give
// the same bits as the ordinary one. Here both run over fake backends whose heaps are a plain
// and a shared memory holding the same leaves; test/browser/ checks the real threaded build.
import { describe, expect, it } from 'vitest';
import type { FusedAttrs } from '../../../src/kernels/layout.js';
import { ProgramBuilder, type Program } from '../../../src/kernels/program.js';
import { WasmKernels, kernelModule, type WasmBackendLike } from '../../../src/kernels/wasm/runner.js';

/** A heap with a bump allocator and tensors registered by data id, as tfjs's wasm backend has. */
function fakeBackend(shared: boolean): WasmBackendLike & { put(values: Float32Array): object; read(id: object, n: number): Float32Array } {
  const memory = shared ? new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true }) : new WebAssembly.Memory({ initial: 4 });
  let top = 1024;
  const ids = new Map<object, { id: number; memoryOffset: number }>();
  const malloc = (bytes: number) => {
    const at = top;
    top += (bytes + 15) & ~15;
    return at;
  };
  return {
    wasm: {
      // The single-threaded build exports its memory; the threaded one does not.
      asm: shared ? {} : { memory },
      ...(shared ? { wasmMemory: memory } : {}),
      _malloc: malloc,
      _free: () => {},
      tfjs: { registerTensor: () => {}, disposeData: () => {} },
    },
    dataIdMap: { get: (dataId: object) => ids.get(dataId) },
    put(values: Float32Array) {
      const dataId = {};
      const memoryOffset = malloc(values.length * 4);
      new Float32Array(memory.buffer, memoryOffset, values.length).set(values);
      ids.set(dataId, { id: ids.size + 1, memoryOffset });
      return dataId;
    },
    read(dataId: object, n: number) {
      return new Float32Array(memory.buffer, ids.get(dataId)!.memoryOffset, n).slice();
    },
  };
}

/** Values with every float32 case an Adam step meets: signs, tiny, huge, zero, tails. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = ((s / 2147483648) * 2 - 1) * 10 ** ((i % 9) - 4);
  }
  return out;
}

/**
 * An AdamW-like program with the update applied: inputs g, p, m, v; scalars b1, 1-b1, b2, 1-b2,
 * eps, weight decay, -lr, then the clip scale; outputs p, m, v.
 */
function adamwProgram(): Program {
  const b = new ProgramBuilder();
  const [g0, p, m, v] = [b.input(), b.input(), b.input(), b.input()];
  const [b1, c1, b2, c2, eps, wd, lr, clip] = Array.from({ length: 8 }, () => b.scalar());
  const g = b.mul(g0, clip);
  const m1 = b.add(b.mul(c1, g), b.mul(b1, m));
  const v1 = b.add(b.mul(c2, b.square(g)), b.mul(b2, v));
  const u = b.add(b.div(m1, b.add(b.sqrt(v1), eps)), b.mul(wd, p));
  return b.build([b.add(p, b.mul(u, lr)), m1, v1]);
}

/** One in-place AdamW step (with clipping) over leaves of sizes 7, 64 and 1 on `backend`. */
function adamwStep(backend: ReturnType<typeof fakeBackend>): Float32Array[] {
  const sizes = [7, 64, 1];
  const kernels = WasmKernels.for(backend);
  if (kernels === null) throw new Error('no kernels for this heap');
  const leaf = (k: number) => sizes.map((n, j) => ({ dataId: backend.put(values(n, 10 * k + j + 1)), n }));
  const [g, p, m, v] = [leaf(0), leaf(1), leaf(2), leaf(3)].map((list, k) =>
    k === 3 ? list.map((x) => ({ dataId: backend.put(values(x.n, 40 + x.n).map(Math.abs)), n: x.n })) : list,
  );
  const attrs: FusedAttrs = {
    programs: [adamwProgram()],
    variants: [],
    scalars: [0.9, 0.1, 0.999, 0.001, 1e-8, 1e-2, -1e-3],
    clipNorm: 1,
    leaves: sizes.length,
    hasParams: true,
    slotCount: 2,
  };
  kernels.run(attrs, { sizes, inputs: [g, p, m, v], outputs: [p, m, v] });
  return [p, m, v].flatMap((list) => list.map((x) => backend.read(x.dataId, x.n)));
}

describe('wasm kernels on a shared memory (tfjs threaded build)', () => {
  it('compile for a shared memory', () => {
    expect(kernelModule(true)).toBeInstanceOf(WebAssembly.Module);
    expect(WebAssembly.Module.imports(kernelModule(true)!)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
  });

  it('find the heap in wasmMemory and give the same bits as on an unshared heap', () => {
    const plain = adamwStep(fakeBackend(false));
    const shared = adamwStep(fakeBackend(true));
    expect(shared.length).toBe(9);
    for (let k = 0; k < plain.length; k++) {
      expect(plain[k].every(Number.isFinite)).toBe(true);
      expect(new Uint32Array(shared[k].buffer)).toEqual(new Uint32Array(plain[k].buffer));
    }
    // The step moved the parameters: the comparison is not between two untouched copies.
    const before = values(7, 11);
    expect(Array.from(plain[0]).some((x, i) => x !== before[i])).toBe(true);
  });

  it('are off where the backend exposes no memory', () => {
    const backend = fakeBackend(false);
    const bare = { ...backend, wasm: { ...backend.wasm, asm: {} } };
    expect(WasmKernels.for(bare)).toBeNull();
  });
});
