// Packed slots run chunk by chunk on the host backends (src/kernels/wasm/packed-chunks.ts,
// src/kernels/cpu/packed-chunks.ts): the same bits as the float32 copies' step (packed.ts) and
// the composite one on leaves that end inside, at and just past a chunk's edge; and on wasm a
// packed step's extra memory is a few chunks, not copies of the leaves (the wasm heap never
// shrinks: a peak is kept for good).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import type { GradientTransformation, Params } from '../../src/index.js';
import type { KernelBackend } from '../../src/kernels/backend.js';
import { cpuBackend, setCpuTiles } from '../../src/kernels/cpu/backend.js';
import { wasmBackend } from '../../src/kernels/wasm/backend.js';
import { PACKED_CHUNK as CHUNK } from '../../src/kernels/wasm/packed-chunks.js';
import { alternateSteps, expectBitwiseEqual } from '../helpers.js';

let start: string;
beforeAll(() => {
  start = tf.getBackend();
});
afterAll(async () => {
  await tf.setBackend(start);
});

/** `f` on the float32 copies of packed.ts (the kernels without packed slots), as before chunks. */
function withCopies<T>(kernels: KernelBackend, f: () => T): T {
  const saved = kernels.runsPackedSlots;
  (kernels as { runsPackedSlots?: unknown }).runsPackedSlots = undefined;
  try {
    return f();
  } finally {
    (kernels as { runsPackedSlots?: unknown }).runsPackedSlots = saved;
  }
}

/** `f` with the kernel mode `mode`, restored after. */
function inMode<T>(mode: 'auto' | 'composite', f: () => T): T {
  const saved = api.getKernelMode();
  api.setKernelMode(mode);
  try {
    return f();
  } finally {
    api.setKernelMode(saved);
  }
}

/** Leaves that end inside, at and past a chunk's edge, and in the middle of an int8 block; a small and an empty one. */
const SIZES = [CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 300, 5, 0];

/** Values over several decades, with a run of zeros (an all-zero int8 block). */
function leaf(n: number, seed: number): tf.Tensor {
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + seed) * 10 ** ((i % 7) - 3));
  x.fill(0, Math.min(n, 512), Math.min(n, 768));
  return tf.tensor1d(x);
}

/** Two steps on leaves of `sizes`: trainStep (in place where it can), then update + applyUpdates (new tensors). */
function train(tx: GradientTransformation<any>, sizes = SIZES): { params: Params; state: unknown } {
  const params: Params = Object.fromEntries(sizes.map((n, j) => [`l${j}`, leaf(n, j)]));
  return alternateSteps(tx, params, tx.init(params), 2, (ps, k) =>
    tf.tidy(() => Object.fromEntries(Object.entries(ps as Record<string, tf.Tensor>).map(([key, p], j) => [key, tf.add(tf.mul(p, k + 1), leaf(sizes[j], 10 + j + k))]))),
  );
}

/** Each case: its name, the transformation, its leaves, and whether to compare with the composite path too. */
const CASES: Array<[string, () => GradientTransformation<any>, number[], boolean]> = [
  ['adamw int8', () => api.adamw(0.05, { stateDtype: 'int8', weightDecay: 0.01 }), SIZES, true],
  // (The copies' step equals the composite one: test/internal/state-dtype.test.ts.)
  ['ademamix bfloat16', () => api.ademamix(0.05, { stateDtype: 'bfloat16' }), SIZES, false],
  // The kernels' clip scale and lamb's per-leaf norms (a pre-pass reading the packed slots)
  // come from float64 sums of squares, the composite ones from float32 tf ops: float32 states differ there too.
  ['clip + lion int8', () => api.chain(api.clipByGlobalNorm(1), api.lion(0.05, { stateDtype: 'int8' })), [CHUNK + 1, 5, 0], false],
  ['lamb bfloat16', () => api.lamb(0.05, { stateDtype: 'bfloat16' }), [CHUNK + 1, 5, 0], false],
];

const BACKENDS: Array<[string, KernelBackend, boolean]> = [
  ['wasm', wasmBackend, true],
  ['cpu', cpuBackend, true],
  ['cpu (typed-array loops)', cpuBackend, false],
];

describe.each(BACKENDS)('packed slots chunk by chunk on %s', (name, kernels, tiles) => {
  beforeAll(async () => {
    await tf.setBackend(kernels.name);
    setCpuTiles(tiles);
  });
  afterAll(() => setCpuTiles(true));

  it.each(tiles ? CASES : CASES.slice(0, 1))('%s: equals the float32 copies (and the composite path) bit for bit across chunk edges', (_, make, sizes, composite) => {
    const tx = make();
    expect(inMode('auto', () => api.kernelPath(tx))).toBe(kernels.path);
    const before = tf.memory().numTensors;
    const chunked = inMode('auto', () => train(tx, sizes));
    const copies = inMode('auto', () => withCopies(kernels, () => train(tx, sizes)));
    expectBitwiseEqual(chunked, copies);
    if (composite && name === 'wasm') {
      // The composite int8 codec is slow on big leaves: one leaf over a chunk's edge.
      const small = [CHUNK + 1, 5];
      const pair = [inMode('auto', () => train(tx, small)), inMode('composite', () => train(tx, small))];
      expectBitwiseEqual(pair[0], pair[1]);
      api.treeDispose(pair as never);
    }
    api.treeDispose([chunked, copies] as never);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('packed slots on the wasm backend', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  /** The most bytes the wasm backend holds during `f` beyond what it held before (its mallocs, tensors included). */
  function peakExtraBytes(f: () => void): number {
    const wasm = (tf.backend() as unknown as { wasm: { _malloc(n: number): number; _free(p: number): void } }).wasm;
    const { _malloc: malloc, _free: free } = wasm;
    const sizes = new Map<number, number>();
    let live = 0;
    let peak = 0;
    wasm._malloc = (n) => {
      const p = malloc(n);
      sizes.set(p, n);
      live += n;
      peak = Math.max(peak, live);
      return p;
    };
    wasm._free = (p) => {
      live -= sizes.get(p) ?? 0;
      sizes.delete(p);
      free(p);
    };
    try {
      f();
    } finally {
      wasm._malloc = malloc;
      wasm._free = free;
    }
    return peak;
  }

  it('needs a few chunks of scratch, not float32 copies of the moments', () => {
    const saved = api.getKernelMode();
    api.setKernelMode('auto');
    try {
      const N = 1 << 20;
      for (const stateDtype of ['int8', 'bfloat16'] as const) {
        const tx = api.adam(0.01, { stateDtype });
        const random = (seed: number) => tf.randomNormal([N], 0, 1, 'float32', seed);
        let params: Params = { w: random(1) };
        let state = tx.init(params);
        // A first step, so that the kernels' own blocks (scalars, scratch, int8 tables) exist.
        ({ params, state } = api.trainStep(tx, params, state, { w: random(2) }));
        const packedBytes = api.stateBytes(state);
        const grads = { w: random(3) };
        // In place: the moments' new words replace the old ones chunk by chunk (the copies took 8 MB).
        const inPlace = peakExtraBytes(() => ({ params, state } = api.trainStep(tx, params, state, grads)));
        expect(inPlace, stateDtype).toBeLessThan(N);
        // Into new tensors: the update and the new packed moments (the copies added 8 MB more).
        const g2 = { w: random(4) };
        let u: Params | undefined;
        let next: unknown;
        const fresh = peakExtraBytes(() => ([u, next] = tx.update(g2, state, params)));
        expect(fresh, stateDtype).toBeLessThan(4 * N + packedBytes + N);
        api.treeDispose([params, state, grads, g2, u, next] as never);
      }
    } finally {
      api.setKernelMode(saved);
    }
  });
});
