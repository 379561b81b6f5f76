import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adabelief,
  adadelta,
  adabound,
  adagrad,
  adam,
  adan,
  ademamix,
  adopt,
  adamaxw,
  adamw,
  addDecayedWeights,
  amsgrad,
  asgd,
  lion,
  lamb,
  fromage,
  lars,
  novograd,
  scaleByTrustRatio,
  scaleByLearningRate,
  centralize,
  chain,
  clip,
  clipByGlobalNorm,
  ema,
  disposeReplaced,
  exponentialDecay,
  getKernelMode,
  kernelPath,
  radam,
  rmsprop,
  rprop,
  scale,
  scaleByAdam,
  scaleBySign,
  scaleByYogi,
  setKernelMode,
  sgd,
  trace,
  trainStep,
  treeLeaves,
  treeMap,
  type GradientTransformation,
  type Params,
  valueAndGrad,
} from '../../src/index.js';
import { setCpuTiles } from '../../src/kernels/cpu/backend.js';
import { FUSED_KERNEL } from '../../src/kernels/layout.js';
import { runsFused } from '../../src/kernels/fused.js';
import { stateValues } from '../helpers.js';
import { factoryOf, OPTIMIZERS } from '../properties/registry.js';

// The fused kernels against the composite tf-op path, the reference, on both the wasm and the
// cpu backend, whatever backend the rest of the suite runs on.

type AnyTx = GradientTransformation<any>;

const SIZES: number[][] = [[], [1], [3], [4], [5], [7], [8], [2, 3], [33], [10, 10], [0], [1000]];

function makeTree(seed: number): Params {
  return {
    layers: SIZES.map((shape, j) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(
        Array.from({ length: n }, (_, i) => Math.sin(seed * 1.3 + j * 0.7 + i * 0.11) * (1 + (i % 5))),
        shape,
      );
    }),
    scale: tf.scalar(0.5 + seed * 0.01),
  };
}

/** The exported optimizers that have a fused description (the optimizer catalogue, docs/guides/optimizers.md, lists them). */
const FUSED = OPTIMIZERS.filter((entry) => runsFused(factoryOf(entry)(0.01), false));

/**
 * Every optimizer of FUSED at learning rate 0.01 with its defaults, then configurations that take
 * other paths through the kernels.
 */
const CONFIGS: Array<[string, () => AnyTx]> = [
  ...FUSED.map((entry): [string, () => AnyTx] => [entry.name, () => factoryOf(entry)(0.01)]),
  ['sgd momentum', () => sgd(0.05, { momentum: 0.9 })],
  ['sgd nesterov', () => sgd(0.05, { momentum: 0.9, nesterov: true })],
  ['adagrad zero accumulator', () => adagrad(0.1, { initialAccumulatorValue: 0 })],
  ['rmsprop centered', () => rmsprop(0.01, { centered: true })],
  ['rmsprop momentum nesterov', () => rmsprop(0.01, { momentum: 0.9, nesterov: true })],
  ['rmsprop eps outside, bias corrected', () => rmsprop(0.01, { epsInSqrt: false, biasCorrection: true, eps: 1e-4 })],
  ['rmsprop centered momentum, bias corrected', () => rmsprop(0.01, { centered: true, momentum: 0.5, biasCorrection: true })],
  ['adam epsRoot', () => adam(0.01, { epsRoot: 1e-6, b1: 0.8 })],
  ['adamw masked, scheduled', () =>
    adamw(exponentialDecay({ initValue: 0.01, transitionSteps: 10, decayRate: 0.5 }), {
      weightDecay: (c) => 0.1 / (c + 1),
      mask: (p: Params) => treeMap((x) => x.rank >= 2, p),
    })],
  ['clipByGlobalNorm + adamw', () => chain(clipByGlobalNorm(1), adamw(0.01))],
  ['clipByGlobalNorm + sgd momentum', () => chain(clipByGlobalNorm(0.5), sgd(0.1, { momentum: 0.9 }))],
  ['chain(rmsprop)', () => chain(rmsprop(0.01, { centered: true }))],
  // Generated kernels: element steps composed by chain.
  ['lion masked, scheduled', () =>
    lion(exponentialDecay({ initValue: 0.01, transitionSteps: 10, decayRate: 0.5 }), {
      weightDecay: (c) => (c % 7 === 3 ? 0 : 0.1 / (c + 1)),
      mask: (p: Params) => treeMap((x) => x.rank >= 2, p),
    })],
  ['clipByGlobalNorm + lion', () => chain(clipByGlobalNorm(1), lion(0.01))],
  ['addDecayedWeights + adam (L2)', () => chain(addDecayedWeights(0.01), adam(0.01))],
  ['scaleByAdam nesterov epsRoot + scaleByLearningRate', () => chain(scaleByAdam({ nesterov: true, epsRoot: 1e-6 }), scaleByLearningRate(0.01))],
  ['adamaxw masked', () => adamaxw(0.01, { weightDecay: 0.1, mask: (p: Params) => treeMap((x) => x.rank >= 2, p) })],
  ['amsgrad uncorrected, epsRoot', () => amsgrad(0.01, { biasCorrectionMu: false, biasCorrectionNu: false, epsRoot: 1e-6 })],
  ['adadelta masked decay', () => adadelta(0.5, { rho: 0.8, eps: 1e-4, weightDecay: 0.1, mask: (p: Params) => treeMap((x) => x.rank >= 2, p) })],
  // The default t0 (1e6) never starts the average: from step 20 it does.
  ['asgd averaging from step 20', () => asgd(0.01, { t0: 20 })],
  ['radam epsRoot', () => radam(0.01, { epsRoot: 1e-6 })],
  ['adan decay', () => adan(0.01, { weightDecay: 0.1, epsRoot: 0 })],
  ['adabound scheduled', () => adabound(exponentialDecay({ initValue: 0.01, transitionSteps: 10, decayRate: 0.5 }))],
  ['adopt nesterov, a bound of 0 every third step', () => adopt(0.01, { nesterov: true, clipValueFn: (k) => (k % 3 === 0 ? 0 : 0.5) })],
  ['adopt unclipped', () => adopt(0.01, { useClipping: false })],
  ['ademamix scheduled, decay', () =>
    ademamix(0.01, { alpha: (c) => Math.min(c / 10, 1) * 5, b3: (c) => 0.9 + 0.09 * Math.min(c / 20, 1), weightDecay: 0.01, epsRoot: 1e-6 })],
  ['rprop bounded', () => rprop(0.1, { minStepSize: 0.05, maxStepSize: 0.2, etaPlus: 1.5, etaMinus: 0.3 })],
  ['rprop equal bounds', () => rprop(0.1, { minStepSize: 0.05, maxStepSize: 0.05 })],
  ['adabelief nesterov, decay', () => adabelief(0.01, { nesterov: true, weightDecay: 0.1, eps: 1e-8, epsRoot: 0 })],
  ['scaleByYogi epsRoot + scaleByLearningRate', () => chain(scaleByYogi({ epsRoot: 1e-6, initialAccumulatorValue: 0 }), scaleByLearningRate(0.01))],
  ['ema + scaleBySign + scale', () => chain(ema({ decay: 0.9 }), scaleBySign(), scale(-0.1))],
  ['clip + sgd momentum', () => chain(clip(1), sgd(0.1, { momentum: 0.9 }))],
  ['clip + sgd', () => chain(clip(1), sgd(0.1))],
  ['clip + sgd nesterov', () => chain(clip(0.5), sgd(0.1, { momentum: 0.9, nesterov: true }))],
  ['clipByGlobalNorm + adabelief', () => chain(clipByGlobalNorm(1), adabelief(0.01))],
  ['trace + clip + scale', () => chain(trace({ decay: 0.5 }), clip(0.3), scale(-0.2))],
  // Per-leaf norms (the trust ratio): a pre-pass for the update's norm, then the step.
  ['clipByGlobalNorm + lamb masked', () => chain(clipByGlobalNorm(1), lamb(0.01, { weightDecay: 0.1, mask: (p: Params) => treeMap((x) => x.rank >= 2, p) }))],
  // A per-leaf scalar state made of the norms (NovoGrad's second moment).
  ['novograd masked, scheduled, epsRoot', () =>
    novograd(exponentialDecay({ initValue: 0.01, transitionSteps: 10, decayRate: 0.5 }), {
      weightDecay: (c) => (c % 5 === 2 ? 0 : 0.05),
      epsRoot: 1e-6,
      mask: (p: Params) => treeMap((x) => x.rank >= 2, p),
    })],
  ['clipByGlobalNorm + novograd (the norm of the clipped gradient)', () => chain(clipByGlobalNorm(1), novograd(0.01))],
  ['lars nesterov, trust ratio masked', () => lars(0.1, { weightDecay: 0.01, nesterov: true, trustRatioMask: (p: Params) => treeMap((x) => x.rank >= 2, p) })],
  ['fromage scheduled', () => fromage(exponentialDecay({ initValue: 0.05, transitionSteps: 10, decayRate: 0.5 }))],
  ['scaleByAdam + trust ratio (floor, eps, coefficient) + scaleByLearningRate', () =>
    chain(scaleByAdam(), scaleByTrustRatio({ minNorm: 0.5, eps: 1e-3, trustCoefficient: 0.3 }), scaleByLearningRate(0.1))],
  ['trust ratio of the raw gradients, then scale', () => chain(scaleByTrustRatio({ trustCoefficient: 0.01 }), scale(-0.1))],
];

/** Runs 50 steps; returns every step's updates and the final state, as numbers. */
function trajectory(make: () => AnyTx, kernels: 'auto' | 'composite', useTrainStep: boolean) {
  setKernelMode(kernels);
  const tx = make();
  let params = makeTree(0);
  let state = tx.init(params);
  const steps: number[][] = [];
  for (let k = 0; k < 50; k++) {
    const grads = makeTree(k + 1);
    if (useTrainStep) {
      ({ params, state } = trainStep(tx, params, state, grads));
      steps.push(stateValues(params));
    } else {
      const [u, s] = tx.update(grads, state, params);
      steps.push(stateValues(u));
      disposeReplaced([u, state, grads], [params, s]);
      state = s;
    }
  }
  const result = { steps, state: stateValues(state), shape: JSON.stringify(state, (_k, v) => (v instanceof tf.Tensor ? v.shape : v)) };
  disposeReplaced([params, state], []);
  setKernelMode('auto');
  return result;
}

function expectClose(a: number[], b: number[], rtol: number, where: string, floor = 1e-3): void {
  expect(a.length, where).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) {
      expect(a[i], `${where}[${i}]`).toBeNaN();
      continue;
    }
    const scale = Math.max(Math.abs(b[i]), floor);
    if (Math.abs(a[i] - b[i]) > rtol * scale) throw new Error(`${where}[${i}]: fused ${a[i]} vs composite ${b[i]}`);
  }
}

afterAll(() => {
  setKernelMode('auto');
  setCpuTiles(true);
});

// The cpu backend runs the SIMD module over tiles of its buffers where WebAssembly SIMD exists,
// and plain typed-array loops elsewhere: both are checked.
describe('the cpu backend streaming buffers through the SIMD module in tiles', () => {
  it('splits leaves longer than a tile and packs many small leaves, with the same bits as the composite path', async () => {
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    setCpuTiles(true);
    // 20,003 elements span three 8,192-element tiles and end in a partial vector; 1,500 leaves
    // of 1 to 5 elements overflow the 1,024 pieces one tile holds.
    const shapes = [[20003], ...Array.from({ length: 1500 }, (_, j) => [1 + (j % 5)])];
    const tree = (seed: number) =>
      shapes.map((shape, j) => tf.tensor(Array.from({ length: shape[0] }, (_, i) => Math.sin(seed + j * 0.37 + i * 0.013)), shape));
    const run = (mode: 'auto' | 'composite') => {
      setKernelMode(mode);
      const tx = adamw(0.01, { weightDecay: 0.1 });
      let params = tree(0);
      let state = tx.init(params);
      for (let k = 1; k <= 3; k++) {
        const grads = tree(k);
        ({ params, state } = trainStep(tx, params, state, grads));
      }
      const values = [...stateValues(params), ...stateValues(state)];
      disposeReplaced([params, state], []);
      setKernelMode('auto');
      return values;
    };
    const fused = run('auto');
    const composite = run('composite');
    expect(fused.length).toBe(composite.length);
    expect(fused.every((x, i) => Object.is(x, composite[i]))).toBe(true);
    await tf.setBackend(previous);
  });
});

describe.each(['wasm', 'cpu', 'cpu with typed-array loops'])('on the %s backend', (variant) => {
  const previous = tf.getBackend();
  const backend = variant.startsWith('cpu') ? 'cpu' : variant;
  const use = async () => {
    setCpuTiles(variant === 'cpu');
    await tf.setBackend(backend);
  };

  it('reports the fused path, and the composite one when asked or when no kernel exists', async () => {
    await use();
    const expected = backend === 'wasm' ? 'wasm-simd' : 'cpu';
    expect(kernelPath(adam(0.1))).toBe(expected);
    expect(kernelPath(chain(clipByGlobalNorm(1), adamw(0.1)))).toBe(expected);
    expect(kernelPath(scaleByAdam())).toBe('composite');
    expect(kernelPath(chain(clipByGlobalNorm(1), clipByGlobalNorm(2), adam(0.1)))).toBe('composite');
    // Per-leaf norms: one part that reads them per chain (one pre-pass).
    expect(kernelPath(lamb(0.1))).toBe(expected);
    expect(kernelPath(fromage(0.1))).toBe(expected);
    expect(kernelPath(novograd(0.1))).toBe(expected);
    expect(kernelPath(chain(scaleByTrustRatio(), scaleByTrustRatio(), scale(-1)))).toBe('composite');
    // Every optimizer with a fused description (those of CONFIGS), and users' chains of element steps.
    const generated: AnyTx[] = [
      ...FUSED.map((entry) => factoryOf(entry)(0.01)), chain(clip(1), sgd(0.1, { momentum: 0.9 })), chain(clipByGlobalNorm(1), adabelief(0.01)),
      chain(trace({ decay: 0.9 }), scale(-0.1)), chain(ema({ decay: 0.9 }), scaleBySign(), scale(-0.1)),
    ];
    expect(FUSED.length).toBeGreaterThanOrEqual(29);
    for (const tx of generated) expect(kernelPath(tx)).toBe(expected);
    // Plain sgd is identity + lr, both element steps: the issue's own example chain is fused.
    expect(kernelPath(chain(clip(1), sgd(0.1)))).toBe(expected);
    // A part that is not element-wise keeps the chain composite.
    expect(kernelPath(chain(centralize(), sgd(0.1)))).toBe('composite');
    setKernelMode('composite');
    expect(getKernelMode()).toBe('composite');
    expect(kernelPath(adam(0.1))).toBe('composite');
    setKernelMode('auto');
    expect(() => setKernelMode('fast' as never)).toThrow("setKernelMode: expected 'auto' or 'composite', got fast");
  });

  it.each(CONFIGS)('%s: fused equals composite over 50 steps (update and trainStep)', async (name, make) => {
    await use();
    for (const useTrainStep of [false, true]) {
      const fused = trajectory(make, 'auto', useTrainStep);
      const composite = trajectory(make, 'composite', useTrainStep);
      expect(fused.shape).toBe(composite.shape);
      // Global-norm clipping: the kernels sum squares in float64, the composite path in float32
      // (tf.sum over ~1,100 elements), whose own rounding error is up to ~n * 6e-8 relative.
      // Per-leaf norms (the trust ratio) scale a whole leaf by a ratio of two such norms, each
      // over one leaf of up to 1,000 elements, summed in float32 by the composite path (up to
      // 6e-5 apart from the exact sum, measured 1e-4 apart on the ratio), relative to the size
      // of the leaf's terms (momentum sums them to values nearer 0): the float64 reference
      // below checks the kernels' own accuracy.
      const norms = /lamb|lars|fromage|trust|novograd/.test(name);
      const rtol = norms ? 2e-4 : name.startsWith('clip') ? 2e-5 : 1e-6;
      const floor = norms ? 1e-2 : 1e-3;
      fused.steps.forEach((s, k) => expectClose(s, composite.steps[k], rtol, `${name} step ${k}`, floor));
      expectClose(fused.state, composite.state, rtol, `${name} state`, floor);
    }
  });

  it.each(CONFIGS)('%s: a NaN or Inf gradient gives the same result on both paths', async (_name, make) => {
    await use();
    const run = (mode: 'auto' | 'composite') => {
      setKernelMode(mode);
      const tx = make();
      const params = { a: tf.tensor1d([1, 2, 3, 4, 5]), b: tf.tensor1d([0.5, -0.5]) };
      const grads = { a: tf.tensor1d([0.1, NaN, 0.3, Infinity, -Infinity]), b: tf.tensor1d([1, -1]) };
      const [u, s] = tx.update(grads, tx.init(params), params);
      setKernelMode('auto');
      return [...stateValues(u), ...stateValues(s)];
    };
    const fused = run('auto');
    const composite = run('composite');
    expect(fused.length).toBe(composite.length);
    fused.forEach((x, i) => {
      if (Number.isNaN(composite[i])) expect(x).toBeNaN();
      else if (!Number.isFinite(composite[i])) expect(x).toBe(composite[i]);
      else expect(Math.abs(x - composite[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(composite[i])));
    });
  });

  it('clip: NaN as tf.clipByValue gives it on the backend (NaN on cpu, -maxDelta on wasm), on both paths', async () => {
    await use();
    const g = [NaN, 2, -2, 0.25, -0];
    const expected = [backend === 'wasm' ? -0.5 : NaN, 0.5, -0.5, 0.25, -0];
    const run = (tx: AnyTx) => {
      const grads = { a: tf.tensor1d(g) };
      const [u] = tx.update(grads, tx.init(grads), grads);
      const values = stateValues(u);
      disposeReplaced([grads, u], []);
      return values;
    };
    const chained = () => chain(clip(0.5), scale(1));
    expect(kernelPath(chained())).toBe(backend === 'wasm' ? 'wasm-simd' : 'cpu');
    const fused = run(chained());
    setKernelMode('composite');
    const composite = run(chained());
    setKernelMode('auto');
    for (const path of [fused, composite, run(clip(0.5))]) expect(path).toEqual(expected);
  });

  /**
   * `g` clipped to `maxNorm` by the fused kernel (behind sgd(1), whose `-g` is negated back)
   * and by the composite path, alone and in the same chain.
   */
  const clipped = (g: Record<string, number[]>, maxNorm: number) => {
    const run = (tx: AnyTx, sign: number) => {
      const grads: Params = Object.fromEntries(Object.entries(g).map(([k, v]) => [k, tf.tensor1d(v)]));
      const [u] = tx.update(grads, tx.init(grads), grads);
      const values = stateValues(u).map((x) => sign * x);
      disposeReplaced([grads, u], []);
      return values;
    };
    const chained = () => chain(clipByGlobalNorm(maxNorm), sgd(1));
    expect(kernelPath(chained())).not.toBe('composite');
    const fused = run(chained(), -1);
    setKernelMode('composite');
    const composite = run(chained(), -1);
    setKernelMode('auto');
    return { fused, composite, alone: run(clipByGlobalNorm(maxNorm), 1) };
  };

  it('clipByGlobalNorm: a sum of squares beyond float32 clips alike on both paths', async () => {
    await use();
    // The squares (1e40) overflow float32; the fused kernels sum them in float64, the composite
    // path scales by a power of two first. Expected: g / norm in float64, rounded to float32.
    const g = [1e20, -1e20, 3e19];
    const norm = Math.sqrt(2e40 + 9e38);
    const expected = g.map((x) => Math.fround(x / norm));
    const { fused, composite, alone } = clipped({ a: g }, 1);
    expect(fused).toEqual(expected);
    expect(composite).toEqual(expected);
    expect(alone).toEqual(expected);
    // Spread over leaves, and at the other end of the range (squares that underflow to 0).
    const split = clipped({ a: [1e20], b: [-1e20, 3e19] }, 1);
    for (const path of Object.values(split)) expect(path).toEqual(expected);
    const tiny = clipped({ a: [3e-25, -4e-25] }, 1e-25);
    const expectedTiny = [3e-25, -4e-25].map((x) => Math.fround(Math.fround(x) * Math.fround(1e-25 / 5e-25)));
    for (const path of Object.values(tiny)) expectClose(path, expectedTiny, 1e-6, 'tiny');
  });

  it('clipByGlobalNorm: an infinite element makes it NaN and the finite ones 0; a NaN, every element NaN', async () => {
    await use();
    // The norm is Infinity, the factor maxNorm / Infinity = 0: Infinity * 0 is NaN, and finite
    // elements become zeros of their sign, in every leaf.
    const inf = clipped({ a: [1, Infinity, -2], b: [3] }, 1);
    for (const path of Object.values(inf)) expect(path).toEqual([0, NaN, -0, 0]);
    const minusInf = clipped({ a: [-Infinity, 0.5] }, 1);
    for (const path of Object.values(minusInf)) expect(path).toEqual([NaN, 0]);
    const nan = clipped({ a: [1, NaN, 2], b: [3] }, 1);
    for (const path of Object.values(nan)) expect(path).toEqual([NaN, NaN, NaN, NaN]);
    const both = clipped({ a: [Infinity, NaN], b: [1e20] }, 1);
    for (const path of Object.values(both)) expect(path).toEqual([NaN, NaN, NaN]);
  });

  it('leaks nothing and survives the heap growing between steps', async () => {
    await use();
    const tx = chain(clipByGlobalNorm(1), adamw(0.01));
    let params = makeTree(0);
    let state = tx.init(params);
    const start = tf.memory().numTensors;
    for (let k = 0; k < 20; k++) ({ params, state } = trainStep(tx, params, state, makeTree(k + 1)));
    expect(tf.memory().numTensors).toBe(start);
    // Grow the heap (a 64 MiB tensor), step, and compare with the composite path.
    const big = tf.zeros([16 * 1024 * 1024]);
    const [u] = tx.update(makeTree(99), state, params);
    big.dispose();
    setKernelMode('composite');
    const [c] = tx.update(makeTree(99), state, params);
    setKernelMode('auto');
    expectClose(stateValues(u), stateValues(c), 1e-6, 'after growth');
    disposeReplaced([params, state], []);
  });

  it('in-place steps are seen by ops that cache their weights (a matmul training loop)', async () => {
    // Regression: the wasm backend caches packed matmul weights per tensor id; writing a
    // parameter in place must invalidate that, or training silently stalls.
    await use();
    const losses = (kernels: 'auto' | 'composite') => {
      setKernelMode(kernels);
      const x = tf.randomNormal([16, 8], 0, 1, 'float32', 1);
      const y = tf.randomNormal([16, 4], 0, 1, 'float32', 2);
      let params = { kernel: tf.randomNormal([8, 4], 0, 0.5, 'float32', 3), bias: tf.zeros([4]) };
      const tx = adam(0.05);
      let state = tx.init(params);
      const loss = valueAndGrad((p: typeof params) =>
        tf.losses.meanSquaredError(y, tf.add(tf.matMul(x, p.kernel), p.bias)) as tf.Scalar,
      );
      const out: number[] = [];
      for (let k = 0; k < 10; k++) {
        const { value, grads } = loss(params);
        out.push(value.dataSync()[0]);
        value.dispose();
        ({ params, state } = trainStep(tx, params, state, grads));
      }
      disposeReplaced([params, state, x, y], []);
      setKernelMode('auto');
      return out;
    };
    const fused = losses('auto');
    const composite = losses('composite');
    expectClose(fused, composite, 1e-5, 'loss');
    expect(fused[9]).toBeLessThan(fused[0] * 0.9);
  });

  it('per-leaf norms: one lamb step on a leaf of 4,000 elements is within 1e-6 of float64', async () => {
    await use();
    const n = 4000;
    const g32 = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 10 ** ((i % 7) - 3));
    const p32 = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11) * (1 + (i % 3)));
    const [lr, wd, eps] = [0.01, 0.1, 1e-6];
    // Step 1 from a fresh state: the bias-corrected moments are g and g^2 (to float32 rounding).
    const u = Array.from(g32, (g, i) => g / (Math.abs(g) + eps) + wd * p32[i]);
    const norm = (xs: ArrayLike<number>) => Math.sqrt(Array.from(xs).reduce((s, x) => s + x * x, 0));
    const ratio = norm(p32) / norm(u);
    const want = u.map((x) => -lr * ratio * x);
    const params = { w: tf.tensor1d(p32) };
    const grads = { w: tf.tensor1d(g32) };
    const tx = lamb(lr, { weightDecay: wd, eps });
    expect(kernelPath(tx)).not.toBe('composite');
    const state = tx.init(params);
    const [got, next] = tx.update(grads, state, params);
    const values = Array.from(got.w.dataSync());
    const worst = Math.max(...values.map((x, i) => Math.abs(x - want[i]) / Math.abs(want[i])));
    expect(worst).toBeLessThan(1e-6);
    disposeReplaced([params, grads, state, got, next], []);
  });

  it('runs under tf.profile and inside a gradient tape (the kernel takes its inputs as a list)', async () => {
    await use();
    const tx = adam(0.1);
    const params = makeTree(0);
    const state = tx.init(params);
    const grads = makeTree(1);
    setKernelMode('composite');
    const [want] = tx.update(grads, state, params);
    setKernelMode('auto');
    let got: Params | undefined;
    const info = await tf.profile(() => {
      [got] = tx.update(grads, state, params) as [Params, unknown];
      return [];
    });
    const leaves = treeLeaves(grads).length;
    const call = info.kernels.find((k) => k.name === FUSED_KERNEL);
    // The profiler lists the kernel's inputs by their keys: one shape per gradient and slot.
    expect(call?.inputShapes.length).toBe(3 * leaves);
    expectClose(stateValues(got!), stateValues(want), 1e-6, 'under tf.profile');
    // Recorded on a tape (tf.grad of a loss that reads the update): the kernel has no
    // gradient, so the update is a constant to the tape, and the loss's gradient is 2x.
    const x = tf.scalar(3);
    const dx = tf.grad((v: tf.Tensor) => {
      const [u] = tx.update(grads, state, params) as [Params, unknown];
      const s = tf.add(tf.square(v), tf.sum(treeLeaves(u)[0]));
      return s as tf.Scalar;
    })(x);
    expect(dx.dataSync()[0]).toBe(6);
    disposeReplaced([params, state, grads, want, got, x, dx], []);
  });

  it('restores the backend', async () => {
    setCpuTiles(true);
    await tf.setBackend(previous);
    expect(tf.getBackend()).toBe(previous);
  });
});
