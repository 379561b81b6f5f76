// The floor of the plain optax-style step on many small leaves: what tfjs itself costs to make
// and dispose the tensors a step returns, measured in the same process as the step.
//
//   npx tsx bench/tensor-floor.ts
//
// Tree (c), 200 leaves of 64 on the wasm backend: a plain Adam step (tx.update + applyUpdates +
// disposeReplaced) makes and disposes 800 tensors (updates, both moments, parameters). Timed
// interleaved: tf.train.adam, a kernel that only allocates 800 outputs (no computation) which are
// then disposed, the plain step, and trainStep (in place, no new tensors).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { adam, applyUpdates, disposeReplaced, trainStep, type Params } from '../src/index.js';
import { TREES, median, medianRatio, randomTree, timeInterleaved } from './common.js';

const ALLOCATE = 'TfjsOptaxBenchAllocate';

await tf.setBackend('wasm');
tf.env().set('IS_TEST', true);
tf.registerKernel({
  kernelName: ALLOCATE,
  backendName: 'wasm',
  kernelFunc: ({ backend, attrs }) => {
    const b = backend as unknown as { makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo };
    return Array.from({ length: attrs!.count as number }, () => b.makeOutput([64], 'float32'));
  },
});
const { shapes } = TREES.c;
const grads = randomTree(shapes, 2);
const vars = randomTree(shapes, 3).map((t) => tf.variable(t));
const named: tf.NamedTensorMap = Object.fromEntries(vars.map((v, i) => [v.name, grads[i]]));
const optimizer: tf.Optimizer = tf.train.adam(1e-3);
const x = tf.zeros([64]);
const tx = adam(1e-3);
let params: Params = randomTree(shapes, 1);
let state = tx.init(params);
let stepParams: Params = randomTree(shapes, 4);
let stepState = tx.init(stepParams);
const t = timeInterleaved({
  tfTrain: () => optimizer.applyGradients(named),
  allocate800: () => tf.dispose(tf.engine().runKernel(ALLOCATE, { x }, { count: 800 }) as tf.Tensor[]),
  plain: () => {
    const [u, next] = tx.update(grads, state, params);
    const nextParams = applyUpdates(params, u);
    disposeReplaced([params, state, u], [nextParams, next, grads]);
    params = nextParams;
    state = next;
  },
  trainStep: () => {
    ({ params: stepParams, state: stepState } = trainStep(tx, stepParams, stepState, grads, { keepGrads: true }));
  },
});
const ms = (k: keyof typeof t) => median(t[k]).toFixed(3);
console.log(`ms per call (medians): tf.train.adam ${ms('tfTrain')}, 800 tensors made and disposed ${ms('allocate800')}, plain step ${ms('plain')}, trainStep ${ms('trainStep')}`);
console.log(
  `ratios: the 800 tensors / plain step ${medianRatio(t.allocate800, t.plain).toFixed(2)}; ` +
    `tf.train.adam / plain step ${medianRatio(t.tfTrain, t.plain).toFixed(1)}x; tf.train.adam / the 800 tensors alone ${medianRatio(t.tfTrain, t.allocate800).toFixed(1)}x`,
);
