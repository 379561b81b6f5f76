// The threaded wasm build of tfjs (loaded in cross-origin-isolated pages) keeps its heap in a
// shared WebAssembly.Memory, imported by its JS glue (`wasm.wasmMemory`) instead of exported
// (`wasm.asm.memory`). The kernels then instantiate their shared-memory build, which must give
// the same bits as the ordinary one. Here both run over fake backends whose heaps are a plain
// and a shared memory holding the same leaves; test/browser/ checks the real threaded build.
import { describe, expect, it } from 'vitest';
import type { FusedAttrs } from '../../../src/kernels/layout.js';
import { ProgramBuilder, type Program } from '../../../src/kernels/program.js';
import { WasmKernels, kernelModule, type WasmBackendLike } from '../../../src/kernels/wasm/runner.js';
import { packInto, packValues, unpackValues } from '../../../src/internal/packed-codec.js';
import { packedWords, type PackedFormat } from '../../../src/internal/state-dtype.js';

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

describe('the packed-state codec on the heap equals the typed-array codec bit for bit', () => {
  const f32 = (bits: number) => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];
  /** Ties, subnormals, extremes, signed zeros, and (bfloat16 only) any bit pattern, NaN included. */
  function awkward(n: number, format: PackedFormat): Float32Array {
    const specials = [0, -0, 1, -1, 2 ** -149, -(2 ** -140), 2 ** -126, f32(0x3f808000), f32(0x3f818000), f32(0x7f7fffff), 3.0e38, 0.1];
    const out = values(n, n);
    for (let i = 0; i < n; i++) {
      if (i < specials.length) out[i] = specials[i];
      else if (i % 7 === 0) out[i] = f32((i * 2654435761) >>> 0);
    }
    // int8: the second block poisoned by one infinity, the third all zeros, the rest finite.
    if (format !== 'bfloat16') {
      for (let i = 0; i < n; i++) if (!Number.isFinite(out[i])) out[i] = 0.5;
      if (n > 300) out[300] = -Infinity;
      for (let i = 512; i < Math.min(n, 768); i++) out[i] = 0;
    }
    return format === 'int8-unsigned' ? out.map(Math.abs) : out;
  }
  const garbage = (words: number) => new Float32Array(new Int32Array(words).fill(-1).buffer);
  const formats: PackedFormat[] = ['bfloat16', 'int8-signed', 'int8-unsigned'];
  it.each(formats)('%s, into memory holding anything', (format) => {
    const backend = fakeBackend(false);
    const kernels = WasmKernels.for(backend)!;
    const codec = (pack: boolean, packed: object, floats: object, n: number) =>
      format === 'bfloat16' ? kernels.bfloat16(pack, packed, floats, n) : kernels.int8(pack, format === 'int8-signed', packed, floats, n);
    for (const n of [1, 2, 3, 5, 7, 8, 9, 17, 255, 256, 257, 600, 1031]) {
      const x = awkward(n, format);
      const expected = packValues(format, x);
      const words = packedWords(format, n);
      const packed = backend.put(garbage(words));
      codec(true, packed, backend.put(x), n);
      const got = new Int32Array(backend.read(packed, words).buffer);
      for (let i = 1; i < words; i++) if (got[i] !== expected[i]) throw new Error(`n=${n}: word ${i} is ${got[i]}, expected ${expected[i]}`);
      const floats = backend.put(garbage(n));
      codec(false, backend.put(new Float32Array(expected.buffer)), floats, n);
      const want = new Uint32Array(unpackValues(format, expected).buffer);
      const have = new Uint32Array(backend.read(floats, n).buffer);
      for (let i = 0; i < n; i++) if (have[i] !== want[i]) throw new Error(`n=${n}: value ${i} is ${f32(have[i])}, expected ${f32(want[i])}`);
    }
  });
  it('writes every word in the typed-array codec too', () => {
    for (const format of formats) {
      for (const n of [1, 3, 8, 257, 600]) {
        const x = awkward(n, format);
        const out = new Int32Array(garbage(packedWords(format, n)).buffer);
        packInto(format, x, out);
        expect(out).toEqual(packValues(format, x));
      }
    }
  });
});
