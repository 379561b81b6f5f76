// The transformations whose training must resume bit for bit from a checkpoint, and the
// deterministic training they run: shared by resume.test.ts and the child processes it starts.
import * as tf from '@tensorflow/tfjs-core';
import {
  adadelta,
  adagrad,
  adam,
  adamax,
  adamw,
  addDecayedWeights,
  amsgrad,
  applyIfFinite,
  chain,
  clip,
  clipByGlobalNorm,
  cosineDecaySchedule,
  exponentialDecay,
  flatten,
  injectHyperparams,
  lion,
  lookahead,
  multiSteps,
  namedChain,
  nadam,
  partition,
  radam,
  rmsprop,
  scheduleFreeAdamw,
  sgd,
  trainStep,
  treeMap,
  warmupCosineDecaySchedule,
  type GradientTransformation,
  type Params,
  type TensorTree,
} from '../../../src/index.js';

export type TestParams = { layer: { kernel: tf.Tensor; bias: tf.Tensor }; scale: tf.Tensor };

const kernelsOnly = (p: Params) => {
  const q = p as TestParams;
  return { layer: { kernel: q.layer.kernel.rank > 1, bias: false }, scale: false };
};

/**
 * The core optimizers (sgd to lion, with their variants), and chains with schedules, clipping and
 * masks, and the wrappers around them. (The browser suite resumes every export's case from IndexedDB.)
 */
export const CASES: Record<string, () => GradientTransformation<any>> = {
  sgd: () => sgd(0.05),
  'sgd-momentum': () => sgd(0.05, { momentum: 0.9 }),
  'sgd-nesterov': () => sgd(0.05, { momentum: 0.9, nesterov: true }),
  adagrad: () => adagrad(0.1),
  rmsprop: () => rmsprop(0.01),
  'rmsprop-centered-momentum': () => rmsprop(0.01, { centered: true, momentum: 0.5 }),
  adam: () => adam(0.01),
  adamw: () => adamw(0.01, { weightDecay: 0.01, mask: kernelsOnly }),
  nadam: () => nadam(0.01),
  adamax: () => adamax(0.01),
  amsgrad: () => amsgrad(0.01),
  radam: () => radam(0.01),
  adadelta: () => adadelta(1, { weightDecay: 1e-3 }),
  lion: () => lion(0.001, { mask: kernelsOnly }),
  'clip-adamw-warmup-cosine': () =>
    chain(
      clipByGlobalNorm(0.5),
      adamw(warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.02, warmupSteps: 10, decaySteps: 100 }), {
        weightDecay: 0.05,
        mask: kernelsOnly,
      }),
    ),
  'clip-sgd-exponential': () => chain(clip(0.3), sgd(exponentialDecay({ initValue: 0.1, transitionSteps: 10, decayRate: 0.5 }), { momentum: 0.9 })),
  'l2-rmsprop-cosine': () => chain(addDecayedWeights(1e-3, { mask: kernelsOnly }), rmsprop(cosineDecaySchedule({ initValue: 0.01, decaySteps: 100 }))),
  // Wrappers: a resumed state carries their counters, accumulators and injected values.
  'inject-adamw': () => injectHyperparams(adamw)({ learningRate: cosineDecaySchedule({ initValue: 0.02, decaySteps: 100 }), weightDecay: 0.01, b1: 0.85 }),
  'finite-multisteps-named': () =>
    applyIfFinite(multiSteps(namedChain(['clip', clipByGlobalNorm(0.5)], ['opt', adam(0.02)]), { everyK: 3 }), { maxConsecutiveErrors: 2 }),
  'partition-flatten-lookahead': () =>
    partition(
      { kernels: lookahead(flatten(adam(0.01)), { syncPeriod: 4 }), rest: sgd(0.05, { momentum: 0.9 }) },
      { layer: { kernel: 'kernels', bias: 'rest' }, scale: 'rest' },
    ),
  'schedule-free-adamw': () => scheduleFreeAdamw(0.01, { warmupSteps: 5, weightDecay: 0.01 }),
};

/** The starting parameters (fixed values). */
export function initialParams(): TestParams {
  return {
    layer: {
      kernel: tf.tensor2d([0.5, -1, 2, 0.25, -0.75, 1.5, 0.1, -0.2, 0.3, 1, -2, 0.6], [3, 4]),
      bias: tf.tensor1d([0.1, -0.1, 0.2, 0]),
    },
    scale: tf.scalar(1.5),
  };
}

/** The gradients at step `k`: a smooth function of the params that changes with the step. */
export function gradients<P extends Params>(params: P, k: number): P {
  return treeMap((p) => tf.tidy(() => tf.add(tf.sin(tf.mul(p, 1 + 0.05 * k)), tf.mul(p, 0.1 * (k % 7)))), params) as P;
}

/** Runs steps `from` to `to - 1`. */
export function train<P extends Params, S>(tx: GradientTransformation<S>, params: P, state: S, from: number, to: number): { params: P; state: S } {
  let p = params;
  let s = state;
  for (let k = from; k < to; k++) ({ params: p, state: s } = trainStep(tx, p, s, gradients(p, k) as unknown as TensorTree<P>));
  return { params: p, state: s };
}

/** Every value in a state or tree as exact float32 bit patterns, plus JS numbers as they are. */
export function fingerprint(value: unknown): Array<number | string> {
  if (typeof value === 'number') return [`n:${value}`];
  if (value instanceof tf.Tensor) {
    const data = value.dataSync();
    // int32 words (packed states) as they are: through float32 a word above 2^24 would round.
    return data instanceof Float32Array ? Array.from(new Uint32Array(Float32Array.from(data).buffer)) : Array.from(data, (x) => `i:${x}`);
  }
  if (Array.isArray(value)) return value.flatMap(fingerprint);
  if (value !== null && typeof value === 'object') {
    return Object.keys(value).sort().flatMap((k) => [`k:${k}`, ...fingerprint((value as Record<string, unknown>)[k])]);
  }
  return [`v:${String(value)}`];
}
