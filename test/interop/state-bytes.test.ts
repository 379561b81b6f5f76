import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  loadState,
  modelParams,
  resumeTfOptimizer,
  saveState,
  sgd,
  stateBytes,
  stateFromArtifacts,
  stateToArtifacts,
  StateFormatError,
  toTfOptimizer,
  treeDispose,
  type StateDtype,
} from '../../src/index.js';
import { expectBitwiseEqual } from '../helpers.js';

// stateBytes, and packed states (stateDtype bfloat16 / int8) through checkpoints, the
// tf.Optimizer adapter and a layers model saved with its optimizer.

tf.env().set('IS_TEST', false);

describe('stateBytes', () => {
  it("counts Adam's state per parameter: 8 bytes in float32, about 4 in bfloat16, about 2.03 in int8", () => {
    const n = 256 * 1024;
    const params = { w: tf.zeros([n]) };
    const bytes = (d: StateDtype) => {
      const state = adam(0.1, { stateDtype: d }).init(params);
      const b = stateBytes(state);
      treeDispose(state);
      return b;
    };
    expect(bytes('float32')).toBe(8 * n);
    // Two moments, each a value count and n / 2 words.
    expect(bytes('bfloat16')).toBe(2 * 4 * (1 + n / 2));
    // Two moments, each a value count, n / 256 scales and n / 4 words: 2.03125 bytes a value.
    expect(bytes('int8')).toBe(2 * 4 * (1 + n / 256 + n / 4));
    expect(bytes('int8') / n).toBeCloseTo(2.03125, 4);
    params.w.dispose();
  });
  it('counts a tensor held twice once, bool as one byte, and no numbers', () => {
    const a = tf.zeros([10]);
    const flag = tf.tensor1d([true, false], 'bool');
    expect(stateBytes([{ count: 3, a }, { b: a, flag }])).toBe(40 + 2);
    tf.dispose([a, flag]);
  });
  it('walks a state with a cycle or 100,000 levels of nesting without overflowing the stack', () => {
    const a = tf.zeros([10]);
    const cyclic: unknown[] = [{ a }];
    cyclic.push(cyclic);
    expect(stateBytes(cyclic)).toBe(40);
    let deep: unknown = [a];
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { d: deep };
    expect(stateBytes(deep)).toBe(40);
    a.dispose();
  });
});

/** A few steps of `tx` from zero on a 300-value leaf and a 3-value one. */
function trained(dtype: StateDtype) {
  const tx = adamw(0.05, { stateDtype: dtype, weightDecay: 0.01 });
  const params = { w: tf.tensor1d(Float32Array.from({ length: 300 }, (_, i) => Math.sin(i))), b: tf.tensor1d([1, 2, 3]) };
  let state = tx.init(params);
  for (let k = 0; k < 3; k++) {
    const grads = { w: tf.mul(params.w, k + 1), b: tf.onesLike(params.b) };
    const [u, next] = tx.update(grads, state, params);
    treeDispose([grads, u, state]);
    state = next;
  }
  return { tx, params, state };
}

describe('checkpoints of packed states', () => {
  it.each(['bfloat16', 'int8'] as const)('%s: a packed second moment holding a negative or non-finite value is refused at load, as a float32 one is', (dtype) => {
    const { tx, params, state } = trained(dtype);
    const artifacts = stateToArtifacts(state, { params });
    const { checksum: _c, ...m } = JSON.parse(JSON.stringify(artifacts.modelTopology));
    m.formatVersion = 2; // no checksums, so that the value check is what refuses it
    const entries = m.tensors as Array<{ name: string; checksum?: string }>;
    m.tensors = entries.map(({ checksum: _t, ...t }) => t);
    const data = new Int32Array((artifacts.weightData as ArrayBuffer).slice(0));
    // The tensors in buffer order: [0].mu.b, [0].mu.w, [0].nu.b, ...; nu.b's word 1 is its first
    // bfloat16 pair, or its int8 block's scale.
    const words = (name: string) => {
      let at = 0;
      for (const e of entries) {
        const size = (e as unknown as { shape: number[] }).shape.reduce((a, b) => a * b, 1);
        if (e.name === name) return at;
        at += size;
      }
      throw new Error(name);
    };
    const at = words('[0].nu.b') + 1;
    const bad = dtype === 'bfloat16' ? [0xbf80, 0x7fc0, 0x7f80] : [0xbf800000 | 0, 0x7fc00000, 0x7f800000]; // -1, NaN, Infinity
    for (const word of bad) {
      const copy = data.slice();
      copy[at] = dtype === 'bfloat16' ? (copy[at] & ~0xffff) | word : word;
      expect(() => stateFromArtifacts(tx, params, { ...artifacts, modelTopology: m, weightData: copy.buffer })).toThrow(
        /state\[0\]\.nu\.b: expected every value finite and >= 0 \(a packed second moment\)/,
      );
    }
    // Untouched, it loads.
    treeDispose([stateFromArtifacts(tx, params, { ...artifacts, modelTopology: m, weightData: data.buffer }), params, state]);
  });

  it.each(['bfloat16', 'int8'] as const)('%s: save and load exactly, and the loaded state steps as the original', async (dtype) => {
    const { tx, params, state } = trained(dtype);
    const before = tf.memory().numTensors;
    const artifacts = stateToArtifacts(state, { params });
    const back = stateFromArtifacts(tx, params, artifacts);
    expectBitwiseEqual(back, state);
    expect((back as unknown as [{ mu: { w: tf.Tensor } }])[0].mu.w.dtype).toBe('int32');
    // Through the file format too.
    let saved: tf.io.ModelArtifacts | undefined;
    await saveState(state, tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { params });
    const loaded = await loadState(tx, params, tf.io.fromMemory(saved!));
    expectBitwiseEqual(loaded, state);
    const grads = { w: tf.onesLike(params.w), b: tf.onesLike(params.b) };
    const [u1, s1] = tx.update(grads, state, params);
    const [u2, s2] = tx.update(grads, loaded, params);
    expectBitwiseEqual([u1, s1], [u2, s2]);
    treeDispose([back, loaded, u1, s1, u2, s2, grads]);
    expect(tf.memory().numTensors).toBe(before);
    treeDispose([params, state]);
  });

  it('a packed checkpoint does not load into a float32 state (nor the reverse), nor into another stateDtype, and a damaged header is refused', () => {
    const { tx, params, state } = trained('int8');
    const artifacts = stateToArtifacts(state, { params });
    const plain = adamw(0.05, { weightDecay: 0.01 });
    expect(() => stateFromArtifacts(plain, params, artifacts)).toThrow(/expected a float32 tensor of shape \[3\], the checkpoint has a int32 tensor of shape \[3\]/);
    const plainState = plain.init(params);
    expect(() => stateFromArtifacts(tx, params, stateToArtifacts(plainState, { params }))).toThrow(StateFormatError);
    // Element 0 of a packed leaf (its header, 4 n + 2 for int8 signed) changed: refused by the value
    // checks. The checksums are dropped (a version-2-like manifest) so that the header check is what refuses it.
    const { checksum: _c, ...m } = JSON.parse(JSON.stringify(artifacts.modelTopology));
    m.formatVersion = 2;
    const entries = m.tensors as Array<{ name: string; checksum?: string }>;
    m.tensors = entries.map(({ checksum: _t, ...t }) => t);
    const data = new Int32Array((artifacts.weightData as ArrayBuffer).slice(0));
    // The first tensor in the buffer is state[0].mu.b (sorted keys): its count 3 becomes 5.
    expect(entries[0].name).toBe('[0].mu.b');
    expect(data[0]).toBe(4 * 3 + 2);
    data[0] = 4 * 5 + 2;
    const damaged = { ...artifacts, modelTopology: m, weightData: data.buffer };
    expect(() => stateFromArtifacts(tx, params, damaged)).toThrow(
      /state\[0\]\.mu\.b: expected a packed int8 \(signed\) state of 3 values, the checkpoint has a packed int8 \(signed\) state of 5 values in 3 elements \(a state saved with another stateDtype/,
    );
    // The same words said to be bfloat16 (3 values take 3 words in both formats): refused too,
    // by the template's header; without headers this loaded and stepped into wrong numbers.
    data[0] = 4 * 3 + 1;
    expect(() => stateFromArtifacts(tx, params, damaged)).toThrow(/expected a packed int8 \(signed\) state of 3 values, the checkpoint has a packed bfloat16 state of 3 values in 3 elements/);
    // A state of bfloat16 moments saved and loaded into the int8 optimizer: refused by name.
    const bf = trained('bfloat16');
    expect(() => stateFromArtifacts(tx, params, stateToArtifacts(bf.state, { params }))).toThrow(/the checkpoint has a packed bfloat16 state of 3 values in 3 elements \(a state saved with another stateDtype/);
    treeDispose([params, state, plainState, bf.params, bf.state]);
  });
});

function makeModel(seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 300, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  model.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return model;
}

const xs = tf.randomNormal([16, 4], 0, 1, 'float32', 5);
const ys = tf.randomNormal([16, 2], 0, 1, 'float32', 6);

describe('packed states through toTfOptimizer and model.save', () => {
  it.each(['bfloat16', 'int8'] as const)('%s: fit lowers the loss; save with the optimizer and resume exactly', async (dtype) => {
    const tx = sgd(0.05, { momentum: 0.9, stateDtype: dtype });
    const straight = makeModel(3);
    const first = makeModel(3);
    first.setWeights(straight.getWeights());
    straight.compile({ optimizer: toTfOptimizer(tx), loss: 'meanSquaredError' });
    first.compile({ optimizer: toTfOptimizer(tx), loss: 'meanSquaredError' });
    const fitArgs = { batchSize: 16, shuffle: false, verbose: 0 as const };
    const h = await straight.fit(xs, ys, { ...fitArgs, epochs: 6 });
    const losses = h.history.loss as number[];
    expect(losses[5]).toBeLessThan(losses[0]);
    await first.fit(xs, ys, { ...fitArgs, epochs: 3 });
    const names = (await first.optimizer.getWeights()).map((w) => w.name);
    expect(names.some((n) => n.includes('trace'))).toBe(true);
    let saved: tf.io.ModelArtifacts | undefined;
    await first.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
    const int32Weights = saved!.weightSpecs!.filter((w) => w.dtype === 'int32' && w.name.includes('trace'));
    expect(int32Weights.length).toBe(4);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    resumeTfOptimizer(loaded, tx);
    await loaded.fit(xs, ys, { ...fitArgs, epochs: 3 });
    expectBitwiseEqual(loaded.getWeights(), straight.getWeights());
    expect(Object.keys(modelParams(loaded)).length).toBe(4);
    for (const m of [straight, first, loaded]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });
});
