import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { KNOWN_LAYOUTS, PACK_PIECE, PACK_PIECE_UNIT, packLeaf, unpackLeaf } from '../../src/internal/packed-slots.js';
import { packValues, unpackValues } from '../../src/internal/packed-codec.js';
import { convertLayout } from '../../src/internal/packed-layout.js';
import { packedHeader, type PackedFormat, type PackedLayout } from '../../src/internal/state-dtype.js';
import * as lib from '../../src/index.js';

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];

/** Values that exercise the formats: ties, subnormals, extremes, NaN, signed zeros. */
function awkwardValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const specials = [0, -0, 1, -1, 2 ** -149, -(2 ** -140), 2 ** -126, 1.5 * 2 ** -133, f32(0x3f808000), f32(0x3f818000), f32(0x7f7fffff), -f32(0x7f7f8000), 3.0e38, 1e-45, 65504, 0.1];
  for (let i = 0; i < n; i++) {
    if (i < specials.length) out[i] = specials[i];
    else if (i % 7 === 0) out[i] = f32(Math.floor(rand() * 2 ** 32)); // any bit pattern, NaN included
    else out[i] = (rand() - 0.5) * 10 ** Math.floor(rand() * 12 - 8);
  }
  return out;
}

const backends = ['cpu', 'wasm'];
const start = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(start);
});

describe.each(backends)('packed leaves in tf ops on %s equal the typed-array codec bit for bit', (backend) => {
  const formats: PackedFormat[] = ['bfloat16', 'int8-signed', 'int8-unsigned'];
  const cases = formats.flatMap((format) => ([32, 24] as PackedLayout[]).map((layout) => [format, layout] as const));
  it.each(cases)('%s, the %i-bit layout', async (format, layout) => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    for (const n of [0, 1, 2, 3, 4, 5, 255, 256, 257, 600, 1031]) {
      let values = awkwardValues(n, n);
      if (format === 'int8-unsigned') values = values.map(Math.abs);
      // int8: most blocks finite (a NaN or infinity poisons a whole block).
      if (format !== 'bfloat16' && n > 300) values = values.map((v, i) => (i >= 256 && Number.isFinite(v) === false ? 0 : v));
      const expected = packValues(format, values, layout);
      const x = tf.tensor(values, [n]);
      const packed = tf.tidy(() => packLeaf(format, x, layout));
      const got = packed.dataSync() as Int32Array;
      expect(packed.dtype).toBe('int32');
      for (let i = 0; i < expected.length; i++) {
        if (got[i] !== expected[i]) throw new Error(`n=${n}: word ${i} is ${got[i]}, expected ${expected[i]}`);
      }
      expect(got.length).toBe(expected.length);
      const back = tf.tidy(() => unpackLeaf(format, packed, [n], layout));
      const want = new Uint32Array(unpackValues(format, expected).buffer);
      const have = new Uint32Array((back.dataSync() as Float32Array).slice().buffer);
      for (let i = 0; i < n; i++) {
        if (have[i] !== want[i]) throw new Error(`n=${n}: value ${i} is ${f32(have[i])}, expected ${f32(want[i])}`);
      }
      tf.dispose([x, packed, back]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
  // Large leaves go through the tf ops a piece at a time (PACK_PIECE values, so that a leaf's
  // intermediates are not dozens of times its size at once); pieces of 768 here, 4 and a part.
  it.each(cases)('%s, the %i-bit layout, a piece at a time', async (format, layout) => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    expect(PACK_PIECE % PACK_PIECE_UNIT).toBe(0);
    const piece = PACK_PIECE_UNIT;
    for (const n of [piece, piece + 1, 4 * piece + 300]) {
      let values = awkwardValues(n, n).map((v) => (Number.isFinite(v) ? v : 0.5));
      if (format === 'int8-unsigned') values = values.map(Math.abs);
      const expected = packValues(format, values, layout);
      const x = tf.tensor(values, [n]);
      const packed = tf.tidy(() => packLeaf(format, x, layout, piece));
      expect(Array.from(packed.dataSync())).toEqual(Array.from(expected));
      const back = tf.tidy(() => unpackLeaf(format, packed, [n], layout, piece));
      expect(Array.from(new Uint32Array((back.dataSync() as Float32Array).slice().buffer))).toEqual(Array.from(new Uint32Array(unpackValues(format, expected).buffer)));
      tf.dispose([x, packed, back]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

/**
 * webgl's 24-bit layout in Node: tfjs's cpu kernels registered as a backend that packs in the
 * 24-bit layout, as webgl does (the composite path runs its tf ops there). A state made there and
 * stepped on cpu (fused or composite), or the reverse, steps exactly as one that never moved.
 */
describe('the 24-bit layout (cpu kernels under a backend that packs in it)', () => {
  const NAME = 'cpu-packing-24';
  const useWebgl = async () => {
    if (tf.findBackend(NAME) === null) {
      tf.registerBackend(NAME, () => new MathBackendCPU(), -1);
      for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: NAME });
      KNOWN_LAYOUTS[NAME] = 24;
    }
    await tf.setBackend(NAME);
  };
  afterAll(async () => {
    await tf.setBackend(start);
    if (tf.findBackend(NAME) !== null) {
      for (const k of tf.getKernelsForBackend(NAME)) tf.unregisterKernel(k.kernelName, NAME);
      tf.removeBackend(NAME);
      delete KNOWN_LAYOUTS[NAME];
    }
  });
  const params0 = () => ({ a: tf.tensor1d([0.5, -1, 2]), b: { c: tf.tensor2d(Array.from({ length: 600 }, (_, i) => Math.sin(i) * 10 ** ((i % 5) - 2)), [20, 30]) } });
  const grads = (k: number) => ({ a: tf.tensor1d([0.1 * k, -0.3, 0]), b: { c: tf.tensor2d(Array.from({ length: 600 }, (_, i) => Math.cos(i + k) * 10 ** ((i % 6) - 3)), [20, 30]) } });

  /** Three steps of Adam: the first `onFirst` steps on `first`, the rest on `then`. */
  async function run(stateDtype: 'bfloat16' | 'int8', first: string, then: string, onFirst: number, mode: 'auto' | 'composite') {
    const previous = lib.getKernelMode();
    lib.setKernelMode(mode);
    const use = async (name: string) => (name === 'webgl' ? useWebgl() : tf.setBackend(name).then(() => undefined));
    await use(first);
    const before = tf.memory().numTensors;
    const tx = lib.adam(0.1, { stateDtype });
    let params: lib.Params = params0();
    let state = tx.init(params);
    const heads: number[] = [];
    for (let k = 0; k < 3; k++) {
      if (k === onFirst) await use(then);
      const g = grads(k);
      const [u, s]: [lib.Params, typeof state] = tx.update(g, state, params);
      const next: lib.Params = lib.applyUpdates(params, u);
      lib.disposeReplaced([params, state, g, u], [next, s]);
      params = next;
      state = s;
      heads.push((state[0].mu as { a: tf.Tensor }).a.dataSync()[0]);
    }
    lib.setKernelMode(previous);
    const out = { params: lib.treeLeaves(params).map((t) => Array.from(t.dataSync())), state: lib.treeLeaves(state[0].mu).map((t) => Array.from(t.dataSync())), heads };
    lib.treeDispose([params, state]);
    // The converted leaves were the step's temporaries.
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend(start);
    return out;
  }

  it.each(['bfloat16', 'int8'] as const)('%s: init packs in the 24-bit layout; stepped on cpu after it, or before it, equals cpu throughout', async (stateDtype) => {
    await useWebgl();
    const before = tf.memory().numTensors;
    const p = params0();
    const state = lib.adam(0.1, { stateDtype }).init(p);
    const mu = state[0].mu as { a: tf.Tensor; b: { c: tf.Tensor } };
    const format = stateDtype === 'bfloat16' ? 'bfloat16' : 'int8-signed';
    expect(Array.from(mu.b.c.dataSync())).toEqual(Array.from(packValues(format, new Float32Array(600), 24)));
    expect(mu.a.dataSync()[0]).toBe(packedHeader(format, 3, 24));
    // Adam's two moments: bfloat16, 2/3 of an element per value; int8, 1/3 plus 2 per 256.
    expect(lib.stateBytes(state)).toBe(2 * 4 * (stateDtype === 'bfloat16' ? 3 + 401 : 4 + 207));
    lib.treeDispose([p, state]);
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend(start);

    const cpu = await run(stateDtype, 'cpu', 'cpu', 3, 'auto');
    for (const mode of ['auto', 'composite'] as const) {
      const moved = await run(stateDtype, 'webgl', 'cpu', 2, mode);
      const [h24, h32] = [packedHeader(format, 3, 24), packedHeader(format, 3, 32)];
      expect(moved.heads).toEqual([h24, h24, h32]);
      expect(moved.params).toEqual(cpu.params);
      expect(moved.state).toEqual(cpu.state);
      const back = await run(stateDtype, 'cpu', 'webgl', 1, mode);
      expect(back.heads).toEqual([h32, h24, h24]);
      expect(back.params).toEqual(cpu.params);
      expect(back.state).toEqual(cpu.state.map((w) => Array.from(convertLayout(format, Int32Array.from(w), 24))));
    }
  });

  it.each(['bfloat16', 'int8'] as const)('%s: a checkpoint saved in either layout loads in the other as saved and steps exactly as before', async (stateDtype) => {
    const tx = lib.adam(0.1, { stateDtype });
    const step = (params: lib.Params, state: ReturnType<typeof tx.init>) => {
      const g = grads(5);
      const [u, s] = tx.update(g, state, params);
      const out = [...lib.treeLeaves(u), ...lib.treeLeaves(s)].map((t) => Array.from(t.dataSync()));
      lib.treeDispose([g, u, s]);
      return out;
    };
    for (const [from, to] of [['webgl', 'cpu'], ['cpu', 'webgl']]) {
      await (from === 'webgl' ? useWebgl() : tf.setBackend(from));
      const params = params0();
      const state = tx.init(params);
      const [u0, s0] = tx.update(grads(1), state, params);
      const artifacts = lib.stateToArtifacts(s0, { params });
      const here = step(params, s0);
      await (to === 'webgl' ? useWebgl() : tf.setBackend(to));
      const loaded = lib.stateFromArtifacts(tx, params, artifacts);
      // As saved: the layout it was made in.
      expect((loaded[0].mu as { a: tf.Tensor }).a.dataSync()[0]).toBe(packedHeader(stateDtype === 'bfloat16' ? 'bfloat16' : 'int8-signed', 3, from === 'webgl' ? 24 : 32));
      const there = step(params, loaded);
      // The new state is in this backend's layout; the updates are the same bit for bit.
      expect(there.slice(0, 2)).toEqual(here.slice(0, 2));
      lib.treeDispose([params, state, u0, s0, loaded]);
    }
    await tf.setBackend(start);
  });

  it('refuses a leaf of 2^22 values or more at init, naming it; a malformed leaf at a step, naming it', async () => {
    await useWebgl();
    const before = tf.memory().numTensors;
    const big = { w: { big: tf.zeros([2 ** 22]) } };
    expect(() => lib.adam(0.1, { stateDtype: 'int8' }).init(big)).toThrow(
      "adam: stateDtype 'int8' on the 'cpu-packing-24' backend packs each leaf into int32 elements below 2^24 (its textures are float32), whose element 0 holds -(4n + 1..3): a leaf may have at most 4194303 values, params w.big has 4194304; split it, or use stateDtype 'float32' for it",
    );
    tf.dispose(big.w.big);
    const tx = lib.sgd(0.1, { momentum: 0.9, stateDtype: 'bfloat16' });
    const p = { x: tf.tensor1d([1, 2, 3]) };
    const state = tx.init(p);
    const swap = (node: unknown): unknown =>
      node instanceof tf.Tensor ? (node.dtype === 'int32' ? tf.tensor1d([7, 0, 0], 'int32') : node)
      : Array.isArray(node) ? node.map(swap)
      : node !== null && typeof node === 'object' ? Object.fromEntries(Object.entries(node).map(([k, v]) => [k, swap(v)]))
      : node;
    const bad = swap(state) as typeof state;
    expect(() => tx.update(p, bad, p)).toThrow(/trace\.x must be a packed bfloat16 state of 3 values, got a packed int8 \(unsigned\) state of 1 values/);
    lib.treeDispose([p, state, bad]);
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend(start);
  });
});
