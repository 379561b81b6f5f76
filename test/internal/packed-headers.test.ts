// Packed moments carry a header (element 0: 4 n + the format's code), checked at every step, so a
// state made with another stateDtype or for params of another shape is refused with an error
// that names the path, instead of being decoded into wrong numbers. Before headers, each case
// below ran without an error: a bfloat16 state read as int8 gave updates of [-0.108, -0.064,
// -0.030] instead of [-0.1, -0.1, -0.1], and an int8 state for 5 values stepped with 8-value
// gradients decoded its padding as -0.993 x the block scale (updates of -4.7e7).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { adam, getKernelMode, lion, setKernelMode, trainStep, treeDispose, type Params } from '../../src/index.js';
import { packValues } from '../../src/internal/packed-codec.js';
import { packedHeader, readPackedHeader } from '../../src/internal/state-dtype.js';
import { expectBitwiseEqual } from '../helpers.js';

const modes = ['auto', 'composite'] as const;
const initial = getKernelMode();
afterEach(() => setKernelMode(initial));

/** `fn` must throw `message` and leave the params, the state and the tensor count as they were. */
function expectRefused(fn: () => unknown, message: RegExp, trees: unknown[]): void {
  const snapshot = trees.map((t) => tf.tidy(() => (t as tf.Tensor[]).map((x) => tf.clone(x))));
  const before = tf.memory().numTensors;
  expect(fn).toThrow(message);
  expect(tf.memory().numTensors).toBe(before);
  trees.forEach((t, k) => expectBitwiseEqual(t, snapshot[k]));
  tf.dispose(snapshot.flat());
}

describe('packed headers', () => {
  it('say the format and the count, and nothing else reads as one', () => {
    expect(packedHeader('bfloat16', 3)).toBe(13);
    expect(packedHeader('int8-signed', 0)).toBe(2);
    expect(readPackedHeader(4 * 1000 + 3)).toEqual({ format: 'int8-unsigned', n: 1000, layout: 32 });
    for (const word of [0, 4, 8, -4, -(2 ** 24) - 1, 2 ** 31, 1.5, NaN]) expect(readPackedHeader(word)).toBeUndefined();
  });

  it.each(modes)('a bfloat16 state stepped by the int8 optimizer (and the reverse) is refused, naming the path (%s)', (mode) => {
    setKernelMode(mode);
    const params: Params = { b: tf.tensor1d([1, 2, 3]) };
    const grads: Params = { b: tf.tensor1d([0.5, -1, 2]) };
    // Three values take three words in both formats: only the header tells them apart.
    const bf = adam(0.1, { stateDtype: 'bfloat16' }).init(params);
    const i8 = adam(0.1, { stateDtype: 'int8' }).init(params);
    const int8Adam = adam(0.1, { stateDtype: 'int8' });
    const bfAdam = adam(0.1, { stateDtype: 'bfloat16' });
    expectRefused(() => int8Adam.update(grads, bf as never, params), /adam: state\.mu\.b must be a packed int8 \(signed\) state of 3 values, got a packed bfloat16 state of 3 values in 3 elements \(a state made with another stateDtype/, [[params.b], [grads.b]]);
    expectRefused(() => bfAdam.update(grads, i8 as never, params), /state\.mu\.b must be a packed bfloat16 state of 3 values, got a packed int8 \(signed\) state of 3 values/, [[params.b]]);
    // trainStep (the fused path under 'auto') checks before it writes anything.
    expectRefused(() => trainStep(int8Adam, params, bf as never, grads), /got a packed bfloat16 state of 3 values/, [[params.b]]);
    treeDispose([params, grads, bf, i8]);
  });

  it.each(modes)('a state made for params of another size is refused, even where the word counts agree (%s)', (mode) => {
    setKernelMode(mode);
    const cases: Array<[string, number, number]> = [
      ['bfloat16', 3, 4], // ceil(3 / 2) = ceil(4 / 2)
      ['int8', 5, 8], // one block and two words each
    ];
    for (const [dtype, made, stepped] of cases) {
      const tx = lion(0.01, { stateDtype: dtype as 'bfloat16' | 'int8' });
      const small = { w: tf.zeros([made]) };
      const state = tx.init(small);
      const params = { w: tf.ones([stepped]) };
      const grads = { w: tf.ones([stepped]) };
      expectRefused(() => tx.update(grads, state, params), new RegExp(`lion: state\\.mu\\.w must be a packed [^ ]+( \\(signed\\))? state of ${stepped} values, got a packed [^ ]+( \\(signed\\))? state of ${made} values`), [[params.w]]);
      treeDispose([small, state, params, grads]);
    }
  });

  it('a hand-made leaf is read once: a right header steps as the library-made leaf, a wrong one is refused', () => {
    const params = { w: tf.tensor1d([1, -2, 3, 0.5, 7]) };
    const grads = { w: tf.tensor1d([0.25, 1, -1, 2, 0]) };
    const tx = adam(0.1, { stateDtype: 'int8' });
    const state = tx.init(params) as unknown as [{ count: number; mu: Params; nu: Params }];
    const words = packValues('int8-signed', new Float32Array(5));
    const copy = [{ ...state[0], mu: { w: tf.tensor1d(words, 'int32') } }, ...state.slice(1)];
    const [u1, s1] = tx.update(grads, state as never, params);
    const [u2, s2] = tx.update(grads, copy as never, params);
    expectBitwiseEqual([u1, s1], [u2, s2]);
    const garbage = [{ ...state[0], mu: { w: tf.tensor1d(Array.from(words, (w, i) => (i === 0 ? 8 : w)), 'int32') } }, ...state.slice(1)];
    expectRefused(() => tx.update(grads, garbage as never, params), /state\.mu\.w must be a packed int8 \(signed\) state of 5 values, got element 0 = 8, which is no packed header/, [[params.w]]);
    treeDispose([params, grads, state, copy[0].mu, garbage[0].mu, u1, s1, u2, s2]);
  });
});
