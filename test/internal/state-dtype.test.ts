import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import type { GradientTransformation, Params, StateDtype } from '../../src/index.js';
import { packValues, unpackValues } from '../../src/internal/packed-codec.js';
import { packedWords, type PackedFormat } from '../../src/internal/state-dtype.js';
import { alternateSteps, expectBitwiseEqual as expectBitwise } from '../helpers.js';

// stateDtype on every transformation and optimizer that takes it: packed states train, match the
// float32 ones within the formats' precision, leak nothing, and equal "unpack, float32 step,
// pack" bit for bit.

type Build = (dtype: StateDtype) => GradientTransformation<any>;

/** Each taker of stateDtype, with a learning rate suited to the least-squares problem below. */
const TAKERS: Array<[string, Build]> = [
  ['adam', (d) => api.adam(0.05, { stateDtype: d })],
  ['adamw', (d) => api.adamw(0.05, { stateDtype: d, weightDecay: 1e-3 })],
  ['nadam', (d) => api.nadam(0.05, { stateDtype: d })],
  ['nadamw', (d) => api.nadamw(0.05, { stateDtype: d })],
  ['amsgrad', (d) => api.amsgrad(0.05, { stateDtype: d })],
  ['lion', (d) => api.lion(0.05, { stateDtype: d })],
  ['sgd', (d) => api.sgd(0.02, { momentum: 0.9, stateDtype: d })],
  ['sgd nesterov', (d) => api.sgd(0.02, { momentum: 0.9, nesterov: true, stateDtype: d })],
  ['ademamix', (d) => api.ademamix(0.05, { stateDtype: d, b3: 0.99 })],
  ['adabelief', (d) => api.adabelief(0.05, { stateDtype: d, eps: 1e-8 })],
  ['lamb', (d) => api.lamb(0.2, { stateDtype: d })],
  ['scaleByAdam', (d) => api.chain(api.scaleByAdam({ stateDtype: d }), api.scale(-0.05))],
  ['scaleByLion', (d) => api.chain(api.scaleByLion({ stateDtype: d }), api.scale(-0.05))],
  ['trace', (d) => api.chain(api.trace({ decay: 0.9, stateDtype: d }), api.scale(-0.02))],
  ['scaleByAmsgrad', (d) => api.chain(api.scaleByAmsgrad({ stateDtype: d }), api.scale(-0.05))],
  ['scaleByBelief', (d) => api.chain(api.scaleByBelief({ stateDtype: d, eps: 1e-8 }), api.scale(-0.05))],
  ['scaleByAdemamix', (d) => api.chain(api.scaleByAdemamix({ stateDtype: d, b3: 0.99 }), api.scale(-0.05))],
];

/** Least squares `0.5 * sum(w_i * (x_i - t_i)^2)` over a 300-value leaf (two int8 blocks, one partial) and a 3-value one. */
const N = 300;
const target = Float32Array.from({ length: N }, (_, i) => Math.sin(i) * 2);
const weights = Float32Array.from({ length: N }, (_, i) => 0.5 + (i % 7) / 7);

function run(tx: GradientTransformation<any>, steps: number): { params: number[]; loss: number; state: unknown } {
  let params: Params = { w: tf.zeros([12, 25]), b: tf.tensor1d([1, -1, 0.5]) };
  let state = tx.init(params);
  const t = tf.tensor(target, [12, 25]);
  const c = tf.tensor(weights, [12, 25]);
  for (let k = 0; k < steps; k++) {
    const p = params as { w: tf.Tensor; b: tf.Tensor };
    const grads = tf.tidy(() => ({ w: tf.mul(c, tf.sub(p.w, t)), b: tf.mul(p.b, 2) }));
    const [updates, next]: [Params, unknown] = tx.update(grads, state, params);
    const newParams: Params = api.applyUpdates(params, updates);
    api.disposeReplaced(state, next);
    api.treeDispose([grads, updates, params] as never);
    params = newParams;
    state = next;
  }
  const p = params as { w: tf.Tensor; b: tf.Tensor };
  const loss = tf.tidy(() => tf.add(tf.sum(tf.mul(tf.mul(c, tf.square(tf.sub(p.w, t))), 0.5)), tf.sum(tf.square(p.b))).dataSync()[0]);
  const flat = [...p.w.dataSync(), ...p.b.dataSync()];
  tf.dispose([t, c]);
  api.treeDispose(params);
  return { params: flat, loss, state };
}

const STEPS = 25;

describe.each(TAKERS)('%s with stateDtype', (_name, build) => {
  let ref: { loss: number } | undefined;
  it.each(['bfloat16', 'int8'] as const)('%s trains, keeps packed int32 moments and tracks float32', (dtype) => {
    const before = tf.memory().numTensors;
    if (ref === undefined) {
      const r = run(build('float32'), STEPS);
      api.treeDispose(r.state as never);
      ref = r;
    }
    const got = run(build(dtype), STEPS);
    // The state's moments are int32 tensors of the packed length, and nothing else is float32 per leaf.
    const leaves = api.treeLeaves(got.state as never) as tf.Tensor[];
    expect(leaves.length).toBeGreaterThan(0);
    for (const leaf of leaves) {
      expect(leaf.dtype).toBe('int32');
      // Element 0: the header, 4 n + the format's code (1 bfloat16, 2 int8 signed, 3 int8 unsigned).
      const header = leaf.dataSync()[0];
      const n = Math.floor(header / 4);
      expect([N, 3]).toContain(n);
      expect(dtype === 'bfloat16' ? [1] : [2, 3]).toContain(header % 4);
      expect(leaf.size).toBe(packedWords(dtype === 'bfloat16' ? 'bfloat16' : 'int8-signed', n));
    }
    api.treeDispose(got.state as never);
    expect(tf.memory().numTensors).toBe(before);
    // Loss at the start: 0.5 * sum(w t^2) + 2.25.
    const start = 0.5 * target.reduce((acc, t, i) => acc + weights[i] * t * t, 0) + 2.25;
    // Real progress, and the packed run's loss within 1% (bfloat16) or 2% (int8) of the start
    // loss of the float32 run's (measured: 0.04% and 0.6% at most, Lion's int8 run).
    expect(got.loss).toBeLessThan(0.3 * start);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan((dtype === 'bfloat16' ? 0.01 : 0.02) * start);
  });
});

describe('a packed step is the float32 step on the unpacked moments, packed once', () => {
  it.each([
    ['bfloat16', 'bfloat16', 'bfloat16'],
    ['int8', 'int8-signed', 'int8-unsigned'],
  ] as const)('scaleByAdam, %s', (dtype, muFormat, nuFormat) => {
    const packed = api.scaleByAdam({ stateDtype: dtype });
    const plain = api.scaleByAdam();
    const params = { w: tf.zeros([517]) };
    const g1 = { w: tf.tensor1d(Float32Array.from({ length: 517 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 5))) };
    const g2 = { w: tf.tensor1d(Float32Array.from({ length: 517 }, (_, i) => Math.cos(i * 1.3))) };
    type Leafy = { count: number; mu: { w: tf.Tensor }; nu: { w: tf.Tensor } };
    const s0 = packed.init(params);
    const [u1, s1] = packed.update(g1, s0) as unknown as [{ w: tf.Tensor }, Leafy];
    const [u2, s2] = packed.update(g2, s1 as never) as unknown as [{ w: tf.Tensor }, Leafy];
    // The reference: the float32 transform from the unpacked moments of s1.
    const mu = unpackValues(muFormat, s1.mu.w.dataSync() as Int32Array);
    const nu = unpackValues(nuFormat, s1.nu.w.dataSync() as Int32Array);
    const ref = { count: 1, mu: { w: tf.tensor1d(mu) }, nu: { w: tf.tensor1d(nu) } };
    const [uRef, sRef] = plain.update(g2, ref) as unknown as [{ w: tf.Tensor }, Leafy];
    expect(Array.from(new Uint32Array((u2.w.dataSync() as Float32Array).slice().buffer))).toEqual(
      Array.from(new Uint32Array((uRef.w.dataSync() as Float32Array).slice().buffer)),
    );
    expect(Array.from(s2.mu.w.dataSync())).toEqual(Array.from(packValues(muFormat as PackedFormat, sRef.mu.w.dataSync())));
    expect(Array.from(s2.nu.w.dataSync())).toEqual(Array.from(packValues(nuFormat as PackedFormat, sRef.nu.w.dataSync())));
    expect(s2.count).toBe(2);
    tf.dispose([params.w, g1.w, g2.w, u1.w, u2.w, uRef.w, ref.mu.w, ref.nu.w]);
    api.treeDispose([s0, s1, s2, sRef] as never);
  });
});

describe('int8 second moments far below their block', () => {
  it("a coordinate whose gradient stops steps no further than float32's (it stepped 10^4 times further when its second moment decoded to 0)", () => {
    // One block: coordinate 0 has gradient 1 every step; the rest 1e-4 for 10 steps, then 0 (a
    // sparse row). Their second moments fall below 1.6e-7 of the block's largest.
    const n = 256;
    const grad = (t: number) => ({ w: tf.tensor1d(Float32Array.from({ length: n }, (_, i) => (i === 0 ? 1 : t < 10 ? 1e-4 : 0))) });
    const last: Record<string, number> = {};
    for (const stateDtype of ['float32', 'int8'] as const) {
      const tx = api.adam(1e-3, { stateDtype });
      const params = { w: tf.zeros([n]) };
      let state = tx.init(params);
      for (let t = 0; t < 14; t++) {
        const g = grad(t);
        const [u, next] = tx.update(g, state, params);
        last[stateDtype] = u.w.dataSync()[1];
        api.treeDispose([g, u, state]);
        state = next;
      }
      api.treeDispose([params, state]);
    }
    // float32: -6.6e-4; int8: -1.05e-4 (its second moment decodes larger than it is).
    expect(last.float32).toBeCloseTo(-6.56e-4, 5);
    expect(last.int8).toBeLessThan(0);
    expect(Math.abs(last.int8)).toBeLessThanOrEqual(Math.abs(last.float32));
  });
});

describe('stateDtype options and states', () => {
  it('rejects an unknown dtype, naming the owner and option', () => {
    expect(() => api.adam(0.1, { stateDtype: 'float16' as never })).toThrow(/adam: option 'stateDtype' must be 'float32', 'bfloat16' or 'int8', got "float16"/);
    expect(() => api.adam(0.1, { stateDtype: 'float16' as never })).toThrow(RangeError);
    expect(() => api.scaleByLion({ stateDtype: 8 as never })).toThrow(TypeError);
    expect(() => api.sgd(0.1, { stateDtype: 'int8' })).toThrow(/sgd: option 'stateDtype' needs 'momentum'/);
  });
  it('rejects a float32 state given to a packed optimizer, and the reverse, naming the path', () => {
    const params = { w: tf.zeros([5]) };
    const grads = { w: tf.ones([5]) };
    const packedTx = api.adam(0.1, { stateDtype: 'int8' });
    const plainTx = api.adam(0.1);
    const packedState = packedTx.init(params);
    const plainState = plainTx.init(params);
    const before = tf.memory().numTensors;
    expect(() => packedTx.update(grads, plainState, params)).toThrow(/adam: state\.mu\.w must be a packed int8 \(signed\) state of 5 values, an int32 tensor of shape \[4\] \(or \[5\] in the 24-bit layout of webgl\), got float32 of shape \[5\]/);
    expect(() => plainTx.update(grads, packedState, params)).toThrow(/must be a float32 tensor, got int32/);
    expect(tf.memory().numTensors).toBe(before);
    api.treeDispose([params, grads, packedState, plainState] as never);
  });
  it('runs the host kernels (chunk by chunk on the packed leaves), equal to the composite path bit for bit, on wasm and cpu', async () => {
    const start = tf.getBackend();
    const mode = api.getKernelMode();
    try {
      for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        const path = api.kernelPath(api.adam(0.1));
        expect(api.kernelPath(api.adam(0.1, { stateDtype: 'bfloat16' }))).toBe(path);
        expect(api.kernelPath(api.injectHyperparams(api.adamw)({ learningRate: 0.1, stateDtype: 'int8' } as never))).toBe(path);
        // flatten's single flat slot stays composite.
        expect(api.kernelPath(api.flatten(api.adam(0.1, { stateDtype: 'int8' })))).toBe('composite');
        const before = tf.memory().numTensors;
        const cases: Array<[string, GradientTransformation<any>]> = [
          ['adamw int8', api.adamw(0.05, { stateDtype: 'int8', weightDecay: 0.01 })],
          // (lamb is left out: its per-leaf norms differ between the paths in float32 too.)
          ['adabelief bfloat16', api.adabelief(0.05, { stateDtype: 'bfloat16' })],
          ['lion int8', api.lion(0.05, { stateDtype: 'int8' })],
          ['sgd nesterov int8', api.sgd(0.05, { momentum: 0.9, nesterov: true, stateDtype: 'int8' })],
          ['ademamix bfloat16', api.ademamix(0.05, { stateDtype: 'bfloat16' })],
          ['inject(amsgrad) int8', api.injectHyperparams(api.amsgrad)({ learningRate: 0.05, stateDtype: 'int8' } as never)],
        ];
        for (const [label, tx] of cases) {
          const results = (['composite', 'auto'] as const).map((m) => {
            api.setKernelMode(m);
            const params: Params = { w: tf.tensor1d(Float32Array.from({ length: 300 }, (_, i) => Math.sin(i))), b: tf.tensor1d([1, -2, 3]) };
            return alternateSteps(tx, params, tx.init(params), 3, (p, k) => {
              const { w, b } = p as { w: tf.Tensor; b: tf.Tensor };
              return tf.tidy(() => ({ w: tf.mul(w, k + 1), b: tf.sub(b, 1) }));
            });
          });
          try {
            expectBitwise(results[0], results[1]);
          } catch (e) {
            throw new Error(`${backend} ${label}: ${(e as Error).message}`);
          }
          api.treeDispose(results as never);
        }
        expect(tf.memory().numTensors).toBe(before);
      }
    } finally {
      api.setKernelMode(mode);
      await tf.setBackend(start);
    }
  });
  it('leaves getHyperparam, setHyperparam and injectHyperparams as they are', () => {
    const params = { w: tf.zeros([300]) };
    const grads = { w: tf.fill([300], 0.5) };
    const tx = api.injectHyperparams(api.adamw)({ learningRate: 0.1, b1: 0.9, weightDecay: 0.01, stateDtype: 'int8' } as never);
    let state = tx.init(params);
    expect(api.getHyperparam(state, 'learningRate')).toBe(0.1);
    expect(api.getHyperparam(state, 'b1')).toBe(0.9);
    state = api.setHyperparam(state, 'b1', 0.5);
    const [u, next] = tx.update(grads, state, params);
    expect(api.getHyperparam(next, 'b1')).toBe(0.5);
    // b1 = 0.5 on the first step: mu = 0.25, nu = 0.00025 (one block, absmax exact), u = -lr (1 + wd * 0).
    expect(Array.from(u.w.dataSync().slice(0, 2))).toEqual([Math.fround(-0.1), Math.fround(-0.1)]);
    const plain = api.adamw(0.1, { weightDecay: 0.01, stateDtype: 'int8' });
    expect(api.getHyperparam(plain.init(params), 'learningRate')).toBe(0.1);
    api.treeDispose([params, grads, state, next, u] as never);
  });
  it('handles leaves with no values', () => {
    for (const dtype of ['bfloat16', 'int8'] as const) {
      const tx = api.adam(0.1, { stateDtype: dtype });
      const params = { e: tf.zeros([0]), w: tf.zeros([2]) };
      const s0 = tx.init(params);
      const [u, s1] = tx.update({ e: tf.zeros([0]), w: tf.ones([2]) }, s0, params);
      expect(u.e.shape).toEqual([0]);
      expect(Array.from(u.w.dataSync())).toEqual([Math.fround(-0.1), Math.fround(-0.1)]);
      api.treeDispose([params, s0, s1, u] as never);
    }
  });
});

describe('the bitwise comparison these tests rely on', () => {
  it('tells packed int32 words above 2^24 apart (through float32 they would round to one value)', () => {
    const a = tf.tensor1d([2 ** 31 - 127, -(2 ** 31) + 1], 'int32');
    const b = tf.tensor1d([2 ** 31 - 126, -(2 ** 31) + 1], 'int32');
    expect(() => expectBitwise({ w: a }, { w: b })).toThrow(/element 0 differs: 2147483521 vs 2147483522/);
    const [copy, zero, minusZero] = [tf.clone(a), tf.scalar(0), tf.scalar(-0)];
    expectBitwise({ w: a }, { w: copy });
    expect(() => expectBitwise([zero], [minusZero])).toThrow(/element 0 differs/);
    tf.dispose([a, b, copy, zero, minusZero]);
  });
});
