import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  freeze,
  getHyperparam,
  masked,
  setHyperparam,
  setToZero,
  sgd,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  treeDispose,
  treeMap,
  TreeStructureError,
  type ExtraArgs,
  type GradientTransformation,
  type Mask,
  type Params,
} from '../../src/index.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  flat,
  gradValues32,
  makeGrads,
  makeParams,
  noLeak,
  PARAM_VALUES,
  stateValues,
  tensorsOf,
  trainWithoutLeak,
  updateSteps,
} from '../helpers.js';
import { wrappedExamples } from '../properties/registry.js';

type TestParams = ReturnType<typeof makeParams>;

/** Three ways to select the kernel and the bias (not the scale). */
const KERNEL_AND_BIAS: Array<[string, Mask]> = [
  ['a full mask tree', { layer: { kernel: true, bias: true }, scale: false }],
  ['a prefix mask', { layer: true, scale: false }],
  ['a mask function', (p: Params) => treeMap((x) => x.rank > 0, p)],
];

describe('masked', () => {
  it.each(wrappedExamples(0.1))('masked(%s, all true) equals the plain transformation bit for bit (updates and inner state)', (_name, make) => {
    const plain = updateSteps(make(), 6);
    for (const mask of [true, { layer: true, scale: true }, { layer: { bias: true, kernel: true }, scale: true }] as Mask[]) {
      const wrapped = updateSteps(masked(make(), mask), 6);
      expectBitwiseEqual(wrapped.updates, plain.updates);
      expectBitwiseEqual(tensorsOf(wrapped.state.inner), tensorsOf(plain.state));
      expect(stateValues(wrapped.state.inner)).toEqual(stateValues(plain.state));
      treeDispose([wrapped.state, wrapped.params]);
    }
    treeDispose([plain.state, plain.params]);
  });

  it('a hand-derived step: sgd on the selected scalar, the other leaves passed through', () => {
    const tx = masked(sgd(0.1), { layer: false, scale: true });
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    const [u, next] = tx.update(grads, state, params);
    expect(u.layer.kernel).toBe(grads.layer.kernel);
    expect(u.layer.bias).toBe(grads.layer.bias);
    expectAllClose(flat(u.scale), [-0.1 * gradValues32(0)[9]], 1e-7);
    expect(next).toEqual({ inner: [{}, { count: 1, learningRate: 0.1 }] });
    treeDispose([params, grads, u.scale]);
  });

  it.each(KERNEL_AND_BIAS)('%s selects the same leaves; the others are the very tensors given; the inner sees only its leaves', (_name, mask) => {
    const tx = masked(adam(0.1), mask);
    const params = makeParams();
    const state = tx.init(params);
    // The inner state exists for the selected leaves only.
    expect((state.inner[0].mu as any).scale).toBeNull();
    expect((state.inner[0].mu as any).layer.kernel.shape).toEqual([2, 3]);
    const grads = makeGrads(0);
    const [u, next] = tx.update(grads, state, params);
    expect(u.scale).toBe(grads.scale);
    expect((next.inner[0].nu as any).scale).toBeNull();
    // The same as adam run by hand on the selected sub-tree.
    const inner = adam(0.1);
    const sub = { layer: params.layer };
    const [v, s] = inner.update({ layer: grads.layer }, inner.init(sub), sub);
    expectBitwiseEqual(u.layer, v.layer);
    expectBitwiseEqual(tensorsOf(next.inner), tensorsOf(s));
    treeDispose([params, grads, u.layer, state, next, v, s]);
  });

  it('a mask function is called with the params, or with the updates when update gets no params', () => {
    const seen: unknown[] = [];
    const tx = masked(sgd(0.1), (p: Params) => {
      seen.push(p);
      return { layer: false, scale: true };
    });
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    const [u1] = tx.update(grads, state, params);
    const [u2] = tx.update(grads, state);
    expect(seen).toEqual([params, params, grads]);
    expect(seen[2]).toBe(grads);
    expectBitwiseEqual(u1, u2);
    treeDispose([params, grads, u1.scale, u2.scale]);
  });

  it('passes extra unchanged to the inner transformation', () => {
    const got: Array<ExtraArgs | undefined> = [];
    const spy: GradientTransformation<Record<string, never>> = {
      init: () => ({}),
      update: (updates, state, _params, extra) => {
        got.push(extra);
        return [updates, state];
      },
    };
    const tx = masked(spy, { layer: true, scale: false });
    const params = makeParams();
    const extra: ExtraArgs = { value: 1.5 };
    tx.update(params, tx.init(params), params, extra);
    expect(got[0]).toBe(extra);
    treeDispose(params);
  });

  it('getHyperparam and setHyperparam reach the inner learning rate; checkpoints round-trip the nulls', () => {
    const tx = masked(adam(0.1), { layer: true, scale: false });
    const { state, params } = updateSteps(tx, 3);
    expect(getHyperparam(state, 'learningRate')).toBe(0.1);
    const slower = setHyperparam(state, 'learningRate', 0.01);
    expect(getHyperparam(slower, 'inner.learningRate')).toBe(0.01);
    const back = stateFromArtifacts(tx, params, stateToArtifacts(state));
    expect((back.inner[0].mu as any).scale).toBeNull();
    expectBitwiseEqual(back, state);
    treeDispose([state, params, back]);
  });

  it('chain(clipByGlobalNorm(1), masked(adamw, mask)) equals clipping then adamw on the sub-tree, and trains with trainStep', () => {
    const mask = { layer: { kernel: true, bias: false }, scale: false };
    const tx = chain(clipByGlobalNorm(1), masked(adamw(0.1, { weightDecay: 0.01 }), mask));
    const clip = clipByGlobalNorm(1);
    const inner = adamw(0.1, { weightDecay: 0.01 });
    let params: TestParams = makeParams();
    let state = tx.init(params);
    let innerState = inner.init({ kernel: params.layer.kernel });
    for (let k = 0; k < 5; k++) {
      const grads = makeGrads(k);
      const [clipped] = clip.update(grads, {});
      const [expected, nextInner] = inner.update({ kernel: clipped.layer.kernel }, innerState, { kernel: params.layer.kernel });
      const before = { kernel: flat(params.layer.kernel), bias: flat(params.layer.bias), scale: flat(params.scale) };
      const expectedKernel = flat(applyUpdates(params.layer.kernel, expected.kernel));
      const otherUpdates = { bias: flat(clipped.layer.bias), scale: flat(clipped.scale) };
      treeDispose([innerState, expected, clipped]);
      innerState = nextInner;
      ({ params, state } = trainStep(tx, params, state, grads));
      expectBitwiseEqual(flat(params.layer.kernel), expectedKernel);
      // The other leaves moved by the clipped gradient alone.
      expectBitwiseEqual(flat(params.layer.bias), Float32Array.from(before.bias.map((p, i) => p + otherUpdates.bias[i])));
      expectBitwiseEqual(flat(params.scale), Float32Array.from(before.scale.map((p, i) => p + otherUpdates.scale[i])));
    }
    treeDispose([params, state, innerState]);
    trainWithoutLeak(tx, 100);
  });

  it.each([
    ['masked(adam)', () => masked(adam(0.1), { layer: true, scale: false })],
    ['masked(adamw) with a mask function', () => masked(adamw(0.1, { weightDecay: 0.01 }), (p: Params) => treeMap((x) => x.rank === 2, p))],
    ['masked(sgd momentum), nothing selected', () => masked(sgd(0.1, { momentum: 0.9 }), false)],
    ['freeze', () => freeze({ layer: { kernel: true, bias: false }, scale: true })],
    ['chain(adam, freeze)', () => chain(adam(0.1), freeze({ layer: true, scale: false }))],
    ['setToZero', () => setToZero()],
  ])('%s: 100 trainSteps leak nothing', (_name, make) => {
    trainWithoutLeak(make(), 100);
  });

  describe('bad input: an error naming masked, and nothing created', () => {
    const inner = adam(0.1);
    it('at construction', () => {
      expect(() => masked(3 as never, true)).toThrow('masked: expected a gradient transformation ({ init, update }), got a number (3)');
      expect(() => masked(inner, undefined as never)).toThrow(
        'masked: expected a mask (a tree of booleans, or a function from the params to one), got undefined',
      );
      expect(() => masked(inner, { layer: 1 } as never)).toThrow(
        new TypeError('masked: mask.layer must be true, false or a subtree of them, got a number (1)'),
      );
    });

    it('a mask that does not fit the params: TreeStructureError naming the path, at init and update', () => {
      const tx = masked(inner, { layer: { kernel: true }, scale: false } as never);
      const params = makeParams();
      noLeak(() => {
        let err: unknown;
        try {
          tx.init(params);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(TreeStructureError);
        expect((err as TreeStructureError).path).toBe('layer.bias');
        expect((err as Error).message).toBe('masked: mask and params differ at layer.bias: mask has no such key');
        const good = masked(inner, { layer: true, scale: false });
        const state = good.init(params);
        const before = tf.memory().numTensors;
        expect(() => tx.update(params, state, params)).toThrow(TreeStructureError);
        expect(() => tx.update(params, state)).toThrow('masked: mask and updates differ at layer.bias: mask has no such key');
        expect(tf.memory().numTensors).toBe(before);
        treeDispose(state);
      });
      treeDispose(params);
    });

    it('a mask function returning a bad tree, updates that do not fit the params, a foreign state', () => {
      const params = makeParams();
      const grads = makeGrads(0);
      const tx = masked(inner, () => ({ layer: 'yes', scale: false }) as never);
      noLeak(() => expect(() => tx.init(params)).toThrow(/^masked: mask\.layer must be true, false or a subtree of them, got a string \("yes"\)$/));
      const good = masked(inner, { layer: true, scale: false });
      const state = good.init(params);
      const foreign = inner.init(params);
      const all = masked(adamw(0.1), true);
      const allState = all.init(params);
      noLeak(() => {
        let err: unknown;
        try {
          good.update({ layer: grads.layer }, state, params);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(TreeStructureError);
        expect((err as Error).message).toMatch(/^masked: tree structures differ at scale: params has this key, updates does not/);
        expect(() => good.update(grads, foreign as never, params)).toThrow(/^masked: state must be \{inner\}, got an array of length 2/);
        expect(() => good.update(grads, { inner: [] } as never, params)).toThrow(/^masked: state\.inner must be \[\{count, mu, nu\}, \{count, learningRate\}\]/);
        // The inner transformation's own checks name it and the path.
        const int = { ...grads, layer: { ...grads.layer, kernel: tf.zeros([2, 3], 'int32') } };
        expect(() => good.update(int, state, params)).toThrow(/^adam: updates\.layer\.kernel must be a float32 tensor, got int32/);
        int.layer.kernel.dispose();
        // And one that needs params says so.
        expect(() => all.update(grads, allState)).toThrow(/^adamw: this transformation needs the current parameters/);
      });
      treeDispose([params, grads, state, foreign, allState]);
    });

    it('an inner transformation returning another structure: TreeStructureError, its tensors freed', () => {
      const bad: GradientTransformation<Record<string, never>> = {
        init: () => ({}),
        update: (updates, state) => [{ other: tf.zeros([1]) } as never, state],
      };
      const tx = masked(bad, { layer: true, scale: false });
      const params = makeParams();
      noLeak(() => {
        expect(() => tx.update(params, tx.init(params), params)).toThrow(TreeStructureError);
      });
      treeDispose(params);
    });
  });
});

describe('freeze', () => {
  it('frozen leaves get exact zeros (new tensors), the others are the very tensors given; state {}', () => {
    const tx = freeze({ layer: { kernel: true, bias: false }, scale: true });
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    expect(state).toEqual({});
    const [u, next] = tx.update(grads, state);
    expect(next).toEqual({});
    expect(u.layer.bias).toBe(grads.layer.bias);
    expect(u.layer.kernel).not.toBe(grads.layer.kernel);
    expect(u.layer.kernel.shape).toEqual([2, 3]);
    expect(u.layer.kernel.dtype).toBe('float32');
    for (const x of [...flat(u.layer.kernel), ...flat(u.scale)]) expect(Object.is(x, 0)).toBe(true);
    treeDispose([params, grads, u.layer.kernel, u.scale]);
  });

  it('freeze(true) zeros everything, freeze(false) nothing; freeze equals masked(setToZero())', () => {
    const params = makeParams();
    const grads = makeGrads(1);
    const [all] = freeze(true).update(grads, {});
    expect(flat(all).every((x) => x === 0)).toBe(true);
    const [none] = freeze(false).update(grads, {});
    expect(none.layer.kernel).toBe(grads.layer.kernel);
    const mask = (p: Params) => treeMap((x) => x.rank === 1, p);
    const [a] = freeze(mask).update(grads, {}, params);
    const viaMasked = masked(setToZero(), mask);
    const [b] = viaMasked.update(grads, viaMasked.init(params), params);
    expectBitwiseEqual(a, b);
    expect(a.layer.kernel).toBe(grads.layer.kernel);
    treeDispose([params, grads, all, a.layer.bias, b.layer.bias]);
  });

  it('chain(adam, freeze(mask)) through trainStep: the frozen parameters stay exactly where they were', () => {
    const tx = chain(adam(0.1), freeze({ layer: { kernel: false, bias: true }, scale: true }));
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 10; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    const p = params as TestParams;
    expectBitwiseEqual([...flat(p.layer.bias), ...flat(p.scale)], [...PARAM_VALUES.slice(0, 3), PARAM_VALUES[9]]);
    expect(flat(p.layer.kernel)).not.toEqual(PARAM_VALUES.slice(3, 9));
    treeDispose([params, state]);
  });

  it('bad input names freeze and creates nothing', () => {
    expect(() => freeze({ a: 'x' } as never)).toThrow(/^freeze: mask\.a must be true, false or a subtree of them, got a string/);
    expect(() => freeze(undefined as never)).toThrow(/^freeze: expected a mask/);
    const params = makeParams();
    noLeak(() => {
      expect(() => freeze({ layer: true }).init(params)).toThrow('freeze: mask and params differ at scale: mask has no such key');
      expect(() => freeze({ layer: true, scale: true }).update(params, { inner: {} } as never)).toThrow(/^freeze: state must be \{\}, got an object with keys \{inner\}/);
      const int = { layer: params.layer, scale: tf.scalar(1, 'int32') };
      expect(() => freeze({ layer: false, scale: true }).update(int, {})).toThrow(/^freeze: updates\.scale must be a float32 tensor, got int32/);
      int.scale.dispose();
    });
    treeDispose(params);
  });
});
