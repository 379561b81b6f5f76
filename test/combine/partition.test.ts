import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  chain,
  clipByGlobalNorm,
  getHyperparam,
  injectHyperparams,
  multiTransform,
  partition,
  setHyperparam,
  setToZero,
  sgd,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  treeDispose,
  treeMapWithPath,
  TreeStructureError,
  type ExtraArgs,
  type GradientTransformation,
  type Labels,
  type Params,
} from '../../src/index.js';
import {
  expectBitwiseEqual,
  flat,
  makeGrads,
  makeParams,
  noLeak,
  PARAM_VALUES,
  stateValues,
  tensorsOf,
  thrown,
  trainWithoutLeak,
  updateSteps,
} from '../helpers.js';
import { wrappedExamples } from '../properties/registry.js';

type TestParams = ReturnType<typeof makeParams>;

const LABELS = { layer: { kernel: 'kernels', bias: 'biases' }, scale: 'biases' };

describe('partition', () => {
  it('multiTransform is the very same function', () => {
    expect(multiTransform).toBe(partition);
  });

  it.each(wrappedExamples(0.1))('partition with one label equals %s bit for bit (updates and inner state)', (_name, make) => {
    const plain = updateSteps(make(), 6);
    for (const labels of ['all', { layer: 'all', scale: 'all' }, (p: Params) => treeMapWithPath(() => 'all', p)] as Labels[]) {
      const wrapped = updateSteps(partition({ all: make() }, labels), 6);
      expectBitwiseEqual(wrapped.updates, plain.updates);
      expectBitwiseEqual(tensorsOf(wrapped.state.inner.all), tensorsOf(plain.state));
      expect(stateValues(wrapped.state.inner.all)).toEqual(stateValues(plain.state));
      treeDispose([wrapped.state, wrapped.params]);
    }
    treeDispose([plain.state, plain.params]);
  });

  it('two labels (adam for kernels, sgd for biases) equal running each on its sub-tree by hand', () => {
    const make = () => partition({ kernels: adam(0.1), biases: sgd(0.05, { momentum: 0.9 }) }, LABELS);
    const viaTree = updateSteps(make(), 5);
    const viaFn = updateSteps(
      partition({ kernels: adam(0.1), biases: sgd(0.05, { momentum: 0.9 }) }, (p: Params) =>
        treeMapWithPath((path, x) => (x.rank === 2 ? 'kernels' : 'biases'), p),
      ),
      5,
    );
    expectBitwiseEqual(viaFn.updates, viaTree.updates);
    // By hand: adam on { kernel }, sgd on { bias, scale }.
    const kernel = updateSteps(adam(0.1), 5, { kernel: makeParams().layer.kernel }, (k) => ({ kernel: makeGrads(k).layer.kernel }));
    const others = updateSteps(sgd(0.05, { momentum: 0.9 }), 5, { bias: makeParams().layer.bias, scale: makeParams().scale }, (k) => {
      const g = makeGrads(k);
      g.layer.kernel.dispose();
      return { bias: g.layer.bias, scale: g.scale };
    });
    // Flatten order of the whole tree: layer.bias (3), layer.kernel (6), scale (1).
    const byHand = kernel.updates.map((ku, k) => [...others.updates[k].slice(0, 3), ...ku, others.updates[k][3]]);
    expectBitwiseEqual(viaTree.updates, byHand);
    expectBitwiseEqual(tensorsOf(viaTree.state.inner.kernels), tensorsOf(kernel.state));
    expectBitwiseEqual(tensorsOf(viaTree.state.inner.biases), tensorsOf(others.state));
    // Each transformation keeps state for its own leaves only.
    expect((viaTree.state.inner.kernels[0].mu as any).layer.bias).toBeNull();
    expect((viaTree.state.inner.kernels[0].mu as any).scale).toBeNull();
    expect((viaTree.state.inner.biases[0].trace as any).layer.kernel).toBeNull();
    treeDispose([viaTree, viaFn, kernel, others].flatMap((r) => [r.state, r.params]));
  });

  it('the other leaves are the very tensors given, in a transformation that passes them through', () => {
    const tx = partition({ train: sgd(0.1), fixed: setToZero(), keep: chain() }, { layer: { kernel: 'train', bias: 'fixed' }, scale: 'keep' });
    const params = makeParams();
    const grads = makeGrads(0);
    const [u, s] = tx.update(grads, tx.init(params), params);
    expect(u.scale).toBe(grads.scale);
    expect(flat(u.layer.bias)).toEqual([0, 0, 0]);
    expect(s).toEqual({ inner: { train: [{}, { count: 1, learningRate: 0.1 }], fixed: {}, keep: [] } });
    treeDispose([params, grads, u]);
  });

  it('a labels function is called with the params, or with the updates when update gets no params; extra is passed unchanged', () => {
    const seen: unknown[] = [];
    const extras: Array<ExtraArgs | undefined> = [];
    const spy: GradientTransformation<Record<string, never>> = {
      init: () => ({}),
      update: (updates, state, _params, extra) => {
        extras.push(extra);
        return [updates, state];
      },
    };
    const tx = partition({ a: spy, b: sgd(0.1) }, (p: Params) => {
      seen.push(p);
      return { layer: 'a', scale: 'b' };
    });
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    const extra: ExtraArgs = { value: 2 };
    const [u1] = tx.update(grads, state, params, extra);
    const [u2] = tx.update(grads, state);
    expect(seen.length).toBe(3);
    expect(seen[0]).toBe(params);
    expect(seen[1]).toBe(params);
    expect(seen[2]).toBe(grads);
    expect(extras[0]).toBe(extra);
    expectBitwiseEqual(u1, u2);
    treeDispose([params, grads, u1.scale, u2.scale]);
  });

  it("getHyperparam(state, 'kernels.learningRate') picks a label's hyperparameter; setHyperparam too", () => {
    const tx = partition({ kernels: adamw(0.1, { weightDecay: 0.01 }), biases: sgd(0.05) }, LABELS);
    const { state, params } = updateSteps(tx, 2);
    expect(getHyperparam(state, 'kernels.learningRate')).toBe(0.1);
    expect(getHyperparam(state, 'biases.learningRate')).toBe(0.05);
    expect(getHyperparam(state, 'weightDecay')).toBe(0.01);
    expect(() => getHyperparam(state, 'learningRate')).toThrow(
      "getHyperparam: 'learningRate' is at more than one place: inner.biases.1.learningRate, inner.kernels.2.learningRate",
    );
    const next = setHyperparam(state, 'biases.learningRate', 0.5);
    expect(getHyperparam(next, 'biases.learningRate')).toBe(0.5);
    expect(getHyperparam(state, 'biases.learningRate')).toBe(0.05);
    expect(next.inner.kernels).toBe(state.inner.kernels);
    // injectHyperparams over a partition: the injected rate reaches both.
    const injected = injectHyperparams((h: { lr: number }) => partition({ kernels: adam(h.lr), biases: sgd(h.lr) }, LABELS))({ lr: 0.2 });
    const run = updateSteps(injected, 2);
    expect(getHyperparam(run.state, 'lr')).toBe(0.2);
    treeDispose([state, params, run.state, run.params]);
  });

  it('checkpoints round-trip a partition state', () => {
    const tx = partition({ kernels: adam(0.1), biases: sgd(0.05, { momentum: 0.9 }) }, LABELS);
    const { state, params } = updateSteps(tx, 3);
    const back = stateFromArtifacts(tx, params, stateToArtifacts(state));
    expectBitwiseEqual(back, state);
    expect((back.inner.kernels[0].mu as any).scale).toBeNull();
    treeDispose([state, params, back]);
  });

  it.each([
    ['adam + sgd', () => partition({ kernels: adam(0.1), biases: sgd(0.05, { momentum: 0.9 }) }, LABELS)],
    ['adamw + frozen', () => partition({ kernels: adamw(0.1, { weightDecay: 0.01 }), biases: setToZero() }, LABELS)],
    ['clip, then a partition with a labels function', () =>
      chain(clipByGlobalNorm(1), partition({ a: adam(0.1), b: sgd(0.1) }, (p: Params) => treeMapWithPath((path) => (path === 'scale' ? 'b' : 'a'), p)))],
  ])('%s: 100 trainSteps leak nothing', (_name, make) => {
    trainWithoutLeak(make(), 100);
  });

  it('a label given setToZero() holds its parameters exactly where they were', () => {
    const tx = partition({ train: adam(0.1), frozen: setToZero() }, { layer: { kernel: 'train', bias: 'frozen' }, scale: 'frozen' });
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 10; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    const p = params as TestParams;
    expectBitwiseEqual([...flat(p.layer.bias), ...flat(p.scale)], [...PARAM_VALUES.slice(0, 3), PARAM_VALUES[9]]);
    treeDispose([params, state]);
  });

  describe('bad input: an error naming partition, and nothing created', () => {
    it('at construction', () => {
      expect(() => partition({}, 'a')).toThrow(
        'partition: expected an object of transformations by label ({ label: transformation, ... }), got an object with keys {}',
      );
      expect(() => partition([adam(0.1)] as never, 'a')).toThrow(/^partition: expected an object of transformations by label/);
      expect(() => partition({ a: 1 } as never, 'a')).toThrow(
        "partition: expected a gradient transformation for label 'a' ({ init, update }), got a number (1)",
      );
      expect(() => partition({ a: sgd(0.1) }, undefined as never)).toThrow(/^partition: expected labels \(a tree of strings/);
      expect(() => partition({ a: sgd(0.1) }, { layer: 'a', scale: 1 } as never)).toThrow(
        new TypeError('partition: labels.scale must be a label (a string) or a subtree of them, got a number (1)'),
      );
    });

    it('a label with no transformation: an Error naming it (at construction for a tree, at init for a function)', () => {
      const labels = { layer: { kernel: 'kernels', bias: 'bias' }, scale: 'kernels' };
      const e = thrown(() => partition({ kernels: adam(0.1), biases: sgd(0.1) }, labels));
      expect(e.message).toBe("partition: labels.layer.bias is the label 'bias', which has no transformation (the labels with one are: 'kernels', 'biases')");
      // A label that is an Object.prototype name is not taken for a transformation.
      expect(() => partition({ a: sgd(0.1) }, { layer: 'a', scale: 'toString' })).toThrow(/labels\.scale is the label 'toString', which has no transformation/);
      const tx = partition({ kernels: adam(0.1), biases: sgd(0.1) }, () => labels);
      const params = makeParams();
      noLeak(() => expect(() => tx.init(params)).toThrow(e.message));
      treeDispose(params);
    });

    it('a transformation with no leaves: an Error naming it', () => {
      const params = makeParams();
      const tx = partition({ a: adam(0.1), unused: sgd(0.1) }, 'a');
      noLeak(() => {
        expect(() => tx.init(params)).toThrow(
          "partition: no leaf of the params has the label 'unused', so its transformation would get no leaves; label some parameters 'unused' or remove it",
        );
      });
      // Also when a label stands only over an empty subtree, and at update.
      const withEmpty = { ...params, extra: null };
      const tx2 = partition({ a: adam(0.1), b: sgd(0.1) }, { layer: 'a', scale: 'a', extra: 'b' });
      noLeak(() => expect(() => tx2.init(withEmpty)).toThrow(/no leaf of the params has the label 'b'/));
      let calls = 0;
      const tx3 = partition({ a: sgd(0.1), b: sgd(0.1) }, () => (calls++ === 0 ? { layer: 'a', scale: 'b' } : 'a'));
      const state = tx3.init(params);
      noLeak(() => expect(() => tx3.update(params, state, params)).toThrow(/no leaf of the params has the label 'b'/));
      treeDispose(params);
    });

    it('labels that do not fit the params: TreeStructureError naming the path', () => {
      const params = makeParams();
      const tx = partition({ k: adam(0.1), b: sgd(0.1) }, { layer: { kernel: 'k' }, scale: 'b' });
      noLeak(() => {
        const e = thrown(() => tx.init(params));
        expect(e).toBeInstanceOf(TreeStructureError);
        expect((e as TreeStructureError).path).toBe('layer.bias');
        expect(e.message).toBe('partition: labels and params differ at layer.bias: labels has no such key');
        const f = thrown(() => partition({ k: sgd(0.1) }, ['k', 'k']).init(params));
        expect(f).toBeInstanceOf(TreeStructureError);
        expect(f.message).toBe('partition: labels and params differ at (root): labels has an array of length 2, params has an object with keys {layer, scale}');
      });
      treeDispose(params);
    });

    it('updates that do not fit the params, a foreign state, a leaf the inner rejects', () => {
      const params = makeParams();
      const grads = makeGrads(0);
      const tx = partition({ kernels: adam(0.1), biases: sgd(0.1) }, LABELS);
      const state = tx.init(params);
      const foreign = adam(0.1).init(params);
      noLeak(() => {
        const e = thrown(() => tx.update({ layer: grads.layer, scale: [grads.scale] } as never, state, params));
        expect(e).toBeInstanceOf(TreeStructureError);
        expect(e.message).toMatch(/^partition: tree structures differ at scale: updates has an array of length 1, params has a float32 tensor of shape \[\]/);
        expect(() => tx.update(grads, foreign as never, params)).toThrow(/^partition: state must be \{inner\}, got an array of length 2/);
        expect(() => tx.update(grads, { inner: { kernels: state.inner.kernels } } as never, params)).toThrow(
          /^partition: state\.inner must be \{biases, kernels\}, got an object with keys \{kernels\}/,
        );
        const int = { ...grads, scale: tf.scalar(1, 'int32') };
        // sgd (the second label) rejects it after adam (the first) ran: adam's outputs are freed.
        expect(() => tx.update(int, state, params)).toThrow(/^sgd: updates\.scale must be a float32 tensor, got int32/);
        int.scale.dispose();
      });
      treeDispose([params, grads, state, foreign]);
    });

    it('a later init that throws frees the earlier states; an inner returning another structure frees its tensors', () => {
      const params = makeParams();
      const failing: GradientTransformation<Record<string, never>> = {
        init: () => {
          throw new Error('boom');
        },
        update: (u, s) => [u, s],
      };
      noLeak(() => expect(() => partition({ a: adam(0.1), b: failing }, { layer: 'a', scale: 'b' }).init(params)).toThrow('boom'));
      const bad: GradientTransformation<Record<string, never>> = {
        init: () => ({}),
        update: (_u, s) => [null as never, s],
      };
      const tx = partition({ a: adam(0.1), b: bad }, { layer: 'a', scale: 'b' });
      const state = tx.init(params);
      noLeak(() => {
        const e = thrown(() => tx.update(params, state, params));
        expect(e).toBeInstanceOf(TreeStructureError);
        expect(e.message).toMatch(/^partition: tree structures differ at \(root\): updates given has an object with keys \{layer, scale\}, updates the transformation for 'b' returned has null/);
      });
      treeDispose([params, state]);
    });
  });
});
