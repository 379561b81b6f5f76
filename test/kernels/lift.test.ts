import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  applyIfFinite,
  chain,
  clipByGlobalNorm,
  flatten,
  getKernelMode,
  injectHyperparams,
  kernelPath,
  multiSteps,
  namedChain,
  setKernelMode,
  trainStep,
  treeDispose,
  warmupCosineDecaySchedule,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, flat, makeGrads, makeParams, stateValues } from '../helpers.js';

// The wrapped forms people run keep the fused kernel on wasm and cpu: kernelPath reports it, a
// step runs no tf op but the fused kernel (and the zeros a cycle starts from), and the result
// equals the composite path to float32 rounding, NaN steps included.

type AnyTx = GradientTransformation<any>;
const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.05, warmupSteps: 3, decaySteps: 20 });

const FORMS: Array<[string, () => AnyTx]> = [
  ['injectHyperparams(adamw)', () => injectHyperparams(adamw)({ learningRate: schedule, weightDecay: 0.01 })],
  ['applyIfFinite(chain(clipByGlobalNorm(1), adamw))', () => applyIfFinite(chain(clipByGlobalNorm(1), adamw(schedule)), { maxConsecutiveErrors: 2 })],
  ['multiSteps(adamw, { everyK: 3 })', () => multiSteps(adamw(0.05), { everyK: 3 })],
  ["namedChain(['clip', ...], ['opt', adamw])", () => namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(schedule)])],
  ['flatten(adam)', () => flatten(adam(0.05))],
];

/** Test gradients; steps 7 and 8 hold a NaN and an infinity. */
function grads(k: number) {
  const g = makeGrads(k);
  if (k !== 7 && k !== 8) return g;
  g.scale.dispose();
  g.scale = tf.scalar(k === 7 ? NaN : Infinity) as typeof g.scale;
  return g;
}

function train(tx: AnyTx, steps: number, params: Params = makeParams(), state: unknown = tx.init(params)): { params: Params; state: unknown } {
  for (let k = 0; k < steps; k++) ({ params, state } = trainStep(tx, params, state, grads(k)));
  return { params, state };
}

/** The names of the tf kernels run while `fn` runs. */
function kernelsRun(fn: () => void): string[] {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const original = engine.runKernel;
  const names: string[] = [];
  engine.runKernel = function (name: string, ...rest: unknown[]) {
    names.push(name);
    return original.call(this, name, ...rest);
  };
  try {
    fn();
  } finally {
    engine.runKernel = original;
  }
  return names;
}

const previous = tf.getBackend();
const previousMode = getKernelMode();
afterAll(async () => {
  setKernelMode(previousMode);
  await tf.setBackend(previous);
});

describe.each(['wasm', 'cpu'])('on the %s backend', (backend) => {
  it.each(FORMS)('%s: fused path reported and run; equals composite to float32 rounding', async (_name, make) => {
    await tf.setBackend(backend);
    setKernelMode('auto');
    const tx = make();
    expect(kernelPath(tx)).toBe(backend === 'wasm' ? 'wasm-simd' : 'cpu');
    let fused!: { params: Params; state: unknown };
    const params = makeParams();
    const state = tx.init(params);
    // The steps only (flatten's init concatenates the leaves once).
    const names = kernelsRun(() => (fused = train(tx, 12, params, state)));
    const foreign = names.filter((n) => n !== 'TfjsOptaxFusedUpdate' && n !== 'ZerosLike');
    expect(foreign).toEqual([]);
    setKernelMode('composite');
    const composite = train(make(), 12);
    setKernelMode('auto');
    expectAllClose(flat(fused.params), flat(composite.params), 2e-6, 1e-7);
    expectAllClose(stateValues(fused.state), stateValues(composite.state), 2e-6, 1e-7);
    treeDispose([fused, composite]);
  });
});
