// What packed-states.test.ts runs in Chromium, as pure functions of a tfjs namespace and the
// library's namespace (the page bundles this with the built library, as it does scenarios.ts):
// optimizers whose moments are kept in bfloat16 or int8 (`stateDtype`), on a tree whose leaf
// sizes are not multiples of 2, 4 or 256, and the same optimizers in float32. Each run reports
// what `init` threw (if it did), the updates, params and state after two steps (and after two
// steps of `trainStep`), and the tensors left behind, so that the test can compare a GPU backend with wasm in the same page.
import type { Params } from 'tfjs-optax';
import { leavesOf, type Leaf, type Lib, type Tf } from './scenarios.js';

type AnyTx = ReturnType<Lib['adam']>;

export const PACKED_DTYPES = ['bfloat16', 'int8', 'float32'] as const;
export type PackedDtype = (typeof PACKED_DTYPES)[number];

/** The case whose gradients at step 0 hold {@link SPECIAL} values. */
export const SPECIAL_CASE = 'sgd momentum, special values';

/**
 * Put at the start of leaf c (finite: bfloat16 ties both ways, the largest float, signed zeros,
 * tiny normals) and of leaf d (NaN and infinities: its int8 blocks read back as NaN) at step 0.
 * No subnormals: SwiftShader's WebGL and WebGPU flush them to zero in float32 arithmetic (float32
 * state included: measured here), so no packing can make a step with them equal wasm's there.
 */
const SPECIAL: Record<string, number[]> = {
  c: [-0, 0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8 + 2 ** -20), 3.4028234663852886e38, -1e38, 65504, 2 ** -120, -1e-30, 1e30],
  d: [NaN, Infinity, -Infinity, 0.5, -0],
};

/** The case whose program needs more storage buffers than SwiftShader's WebGPU binds (8): packed slots go through float32 copies there. */
export const FALLBACK_CASE = 'amsgrad';

/**
 * The optimizers taking `stateDtype` that the browser runs: Adam's two moments, Lion's one, a
 * trace, AMSGrad's three, and Adam behind a global-norm clip (the clip factor read on the device).
 */
export const PACKED_OPTIMIZERS: Record<string, (lib: Lib, stateDtype: PackedDtype) => AnyTx> = {
  adam: (l, stateDtype) => l.adam(0.1, { stateDtype }) as AnyTx,
  [FALLBACK_CASE]: (l, stateDtype) => l.amsgrad(0.1, { stateDtype }) as unknown as AnyTx,
  // The clip factor is read from a device buffer by the kernel; a limit above the norm keeps it
  // exactly 1 (a GPU sums the squares in another order than wasm: an engaged clip differs by an ulp).
  'adam, clipped': (l, stateDtype) => l.chain(l.clipByGlobalNorm(1e9), l.adam(0.1, { stateDtype })) as unknown as AnyTx,
  lion: (l, stateDtype) => l.lion(0.01, { stateDtype }) as unknown as AnyTx,
  'sgd momentum': (l, stateDtype) => l.sgd(0.1, { momentum: 0.9, stateDtype }) as unknown as AnyTx,
  // Its first moment after step 0 is the gradient itself: SPECIAL values packed, then unpacked.
  [SPECIAL_CASE]: (l, stateDtype) => l.sgd(0.1, { momentum: 0.5, stateDtype }) as unknown as AnyTx,
};

/**
 * Leaves of 1, 3, 257, 600, 2601, 64, 16 and 0 values: partial words (bfloat16, int8) and partial
 * blocks (int8); on webgpu, small leaves share a dispatch (a, b, c; f, g) where their buffers
 * fit, the others do not, and e spans several workgroups (11 int8 blocks, 11 bfloat16 groups
 * of 256 values, lengths not multiples of 4) while d, f and g take the vec4 loads; h is empty
 * (its packed leaves are the count word alone).
 */
const SIZES: Record<string, number[]> = { a: [1], b: [3], c: [257], d: [20, 30], e: [2601], f: [64], g: [4, 4], h: [0, 3] };

function values(n: number, seed: number, k = 0): number[] {
  // Magnitudes over several decades, both signs, and a zero: the int8 blocks see a wide range.
  return Array.from({ length: n }, (_, i) => (i % 97 === 5 ? 0 : Math.sin(seed + 0.61 * i + 1.3 * k) * 10 ** ((i % 7) - 4)));
}

function tree(tf: Tf, seed: number, k = 0, special = false): Params {
  return Object.fromEntries(
    Object.entries(SIZES).map(([key, shape], j) => {
      const v = values(shape.reduce((x, y) => x * y, 1), seed + j, k);
      if (special) v.splice(0, SPECIAL[key]?.length ?? 0, ...(SPECIAL[key] ?? []));
      return [key, tf.tensor(v, shape)];
    }),
  ) as Params;
}

export interface PackedResult {
  optimizer: string;
  stateDtype: PackedDtype;
  /** `kernelPath(tx)` on the backend. */
  path: string;
  /** `init`'s or a step's error, `name: message`. */
  error?: string;
  /** Each step's updates, the params and the state after the last step, then the same after `trainStep`'s steps. */
  leaves: Leaf[];
  /** Tensors alive after disposing everything, minus before the run. */
  leaked: number;
  /** WebGPU compute dispatches recorded during the trainStep steps (0 off webgpu). */
  dispatches: number;
}

/** Counts WebGPU compute dispatches while `fn` runs. */
function countDispatches<T>(fn: () => T): [T, number] {
  const proto = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: Record<string, unknown> } }).GPUComputePassEncoder?.prototype;
  if (proto === undefined) return [fn(), 0];
  const original = proto.dispatchWorkgroups as (...a: unknown[]) => unknown;
  let n = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  try {
    return [fn(), n];
  } finally {
    proto.dispatchWorkgroups = original;
  }
}

/** `steps` steps of `update` + `applyUpdates` of each optimizer in each state dtype, on the active backend. */
export async function runPackedCases(tf: Tf, lib: Lib, steps = 2): Promise<PackedResult[]> {
  const out: PackedResult[] = [];
  for (const [optimizer, make] of Object.entries(PACKED_OPTIMIZERS)) {
    for (const stateDtype of PACKED_DTYPES) {
      const start = tf.memory().numTensors;
      const result: PackedResult = { optimizer, stateDtype, path: '', leaves: [], leaked: 0, dispatches: 0 };
      let params: Params = tree(tf, 1);
      let state: unknown;
      try {
        const tx = make(lib, stateDtype);
        result.path = lib.kernelPath(tx);
        state = tx.init(params);
        for (let k = 0; k < steps; k++) {
          const grads = tree(tf, 7, k, optimizer === SPECIAL_CASE && k === 0);
          const [u, s] = tx.update(grads, state as never, params);
          result.leaves.push(...(await leavesOf(tf, u, `step ${k} updates`)));
          const next = lib.applyUpdates<Params>(params, u as never);
          lib.disposeReplaced([params, state, grads, u], [next, s]);
          params = next;
          state = s;
        }
        result.leaves.push(...(await leavesOf(tf, { params, state })));
        lib.treeDispose([params, state]);
        // The same steps with trainStep (in place where a fused kernel runs: float32 here).
        params = tree(tf, 1);
        state = tx.init(params);
        for (let k = 0; k < steps; k++) {
          const grads = tree(tf, 7, k, optimizer === SPECIAL_CASE && k === 0);
          let n: number;
          [{ params, state }, n] = countDispatches(() => lib.trainStep(tx, params, state as never, grads));
          result.dispatches += n;
        }
        result.leaves.push(...(await leavesOf(tf, { params, state }, 'trainStep')));
      } catch (e) {
        result.error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e);
      }
      lib.treeDispose([params, state]);
      result.leaked = tf.memory().numTensors - start;
      out.push(result);
    }
  }
  return out;
}

/**
 * tfjs's int32 arithmetic on the active backend, for words that need all 32 bits: `[2^31 - 127,
 * -(2^31 - 1)] + 1` through a GPU program where the backend has one (inputs of 2000 elements, above
 * tfjs's CPU hand-off sizes), read asynchronously. Exact: `[2147483522, -2147483646]`.
 */
export async function int32Words(tf: Tf): Promise<number[]> {
  const y = tf.tidy(() => {
    const x = tf.tile(tf.tensor1d([2147483521, -2147483647], 'int32'), [1000]);
    return tf.add(x, tf.onesLike(x));
  });
  const got = Array.from((await y.data()) as Int32Array).slice(0, 2);
  y.dispose();
  return got;
}

// --- Checkpoints across the packed layouts (webgl's 24-bit one and the 32-bit one) ---

type Tensor = ReturnType<Tf['tensor']>;

/** A packed checkpoint saved on one backend and stepped on another, beside the same steps on one backend. */
export interface PackedCheckpointResult {
  stateDtype: PackedDtype;
  error?: string;
  /** Element 0 of a packed leaf of 1 value as loaded (1: the 32-bit layout; -2: the 24-bit one). */
  loadedHead: number;
  /** Updates, params and state after two steps on `from`, a save, a load on `to` and a third step there. */
  moved: Leaf[];
  /** The same three steps on `to` throughout. */
  stayed: Leaf[];
  /** Two steps on `from`, `tf.setBackend(to)` (tfjs moves the tensors), a third step. */
  switched: Leaf[];
  leaked: number;
}

/**
 * Adam with packed moments: two steps on backend `from`, the state saved (`stateToArtifacts`),
 * the backend switched to `to`, loaded (`stateFromArtifacts`) and stepped once more; the same
 * with the backend switched under the live state (no checkpoint); and the same three steps on
 * `to` alone. `use` sets a backend.
 */
export async function runPackedCheckpoints(tf: Tf, lib: Lib, use: (name: string) => Promise<unknown>, from: string, to: string): Promise<PackedCheckpointResult[]> {
  const out: PackedCheckpointResult[] = [];
  for (const stateDtype of ['bfloat16', 'int8'] as const) {
    const result: PackedCheckpointResult = { stateDtype, loadedHead: 0, moved: [], stayed: [], switched: [], leaked: 0 };
    const tx = PACKED_OPTIMIZERS.adam(lib, stateDtype);
    const steps = async (backend: string, first: number, last: number, params: Params, state: unknown) => {
      await use(backend);
      for (let k = first; k < last; k++) {
        const grads = tree(tf, 7, k);
        const [u, s] = tx.update(grads, state as never, params);
        const next = lib.applyUpdates<Params>(params, u as never);
        lib.disposeReplaced([params, state, grads, u], [next, s]);
        params = next;
        state = s;
      }
      return { params, state };
    };
    const start = tf.memory().numTensors;
    try {
      // On `to` throughout.
      await use(to);
      const p = tree(tf, 1);
      let run = await steps(to, 0, 3, p, tx.init(p));
      result.stayed = await leavesOf(tf, run);
      lib.treeDispose([run.params, run.state]);
      // Two steps on `from`, saved; loaded on `to` with the params' values, one more step.
      await use(from);
      const p0 = tree(tf, 1);
      run = await steps(from, 0, 2, p0, tx.init(p0));
      const artifacts = lib.stateToArtifacts(run.state, { params: run.params });
      const saved = await Promise.all(Object.entries(run.params as Record<string, unknown>).map(async ([k, t]) => [k, Array.from(await (t as Tensor).data()), (t as Tensor).shape] as const));
      lib.treeDispose([run.params, run.state]);
      await use(to);
      const params = Object.fromEntries(saved.map(([k, v, shape]) => [k, tf.tensor(v, shape)])) as Params;
      const state = lib.stateFromArtifacts(tx, params, artifacts);
      result.loadedHead = ((state as unknown as [{ mu: { a: Tensor } }])[0].mu.a.dataSync() as Int32Array)[0];
      run = await steps(to, 2, 3, params, state);
      result.moved = await leavesOf(tf, run);
      lib.treeDispose([run.params, run.state]);
      // Two steps on `from`, then the backend switched under the state.
      await use(from);
      const p1 = tree(tf, 1);
      run = await steps(from, 0, 2, p1, tx.init(p1));
      run = await steps(to, 2, 3, run.params, run.state);
      result.switched = await leavesOf(tf, run);
      lib.treeDispose([run.params, run.state]);
    } catch (e) {
      result.error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e);
    }
    result.leaked = tf.memory().numTensors - start;
    out.push(result);
  }
  return out;
}

/** Packed states through `toTfOptimizer` and `model.save` on one backend. */
export interface PackedModelSaveResult {
  stateDtype: PackedDtype;
  error?: string;
  /** The int32 optimizer weights `model.save` wrote for the trace (one per layer weight). */
  int32Weights: number;
  /** Weights after 3 epochs, a save with the optimizer, a load and 3 more; and after 6 straight. */
  resumed: Leaf[];
  straight: Leaf[];
  leaked: number;
}

/**
 * SGD with a packed trace as a tf.Optimizer (`toTfOptimizer`) in `model.fit`: six epochs
 * straight, and three, `model.save` with the optimizer, `tf.loadLayersModel`,
 * `resumeTfOptimizer` and three more, on the active backend.
 */
export async function runPackedModelSave(tf: Tf, lib: Lib): Promise<PackedModelSaveResult[]> {
  const out: PackedModelSaveResult[] = [];
  for (const stateDtype of ['bfloat16', 'int8'] as const) {
    const result: PackedModelSaveResult = { stateDtype, int32Weights: 0, resumed: [], straight: [], leaked: 0 };
    const start = tf.memory().numTensors;
    const xs = tf.randomNormal([16, 4], 0, 1, 'float32', 5);
    const ys = tf.randomNormal([16, 2], 0, 1, 'float32', 6);
    const models: Array<ReturnType<Tf['sequential']>> = [];
    const makeModel = () => {
      const model = tf.sequential();
      model.add(tf.layers.dense({ units: 300, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
      model.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
      models.push(model);
      return model;
    };
    try {
      const tx = lib.sgd(0.05, { momentum: 0.9, stateDtype });
      const fitArgs = { batchSize: 16, shuffle: false, verbose: 0 as const };
      const straight = makeModel();
      straight.compile({ optimizer: lib.toTfOptimizer(tx), loss: 'meanSquaredError' });
      await straight.fit(xs, ys, { ...fitArgs, epochs: 6 });
      result.straight = await leavesOf(tf, straight.getWeights());
      const first = makeModel();
      first.compile({ optimizer: lib.toTfOptimizer(tx), loss: 'meanSquaredError' });
      await first.fit(xs, ys, { ...fitArgs, epochs: 3 });
      let saved: Parameters<typeof tf.io.fromMemory>[0] | undefined;
      await first.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
      result.int32Weights = (saved as { weightSpecs: Array<{ dtype: string; name: string }> }).weightSpecs.filter((w) => w.dtype === 'int32' && w.name.includes('trace')).length;
      const loaded = (await tf.loadLayersModel(tf.io.fromMemory(saved!))) as ReturnType<Tf['sequential']>;
      models.push(loaded);
      lib.resumeTfOptimizer(loaded, tx);
      await loaded.fit(xs, ys, { ...fitArgs, epochs: 3 });
      result.resumed = await leavesOf(tf, loaded.getWeights());
    } catch (e) {
      result.error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e);
    }
    for (const m of models) {
      m.optimizer?.dispose();
      m.dispose();
    }
    tf.dispose([xs, ys]);
    result.leaked = tf.memory().numTensors - start;
    out.push(result);
  }
  return out;
}

/**
 * What `init` of packed Adam says on webgl with float16 textures (`WEBGL_RENDER_FLOAT32_ENABLED`
 * false, as on GPUs without float32 render targets), and the tensors it leaves (the flag is
 * restored after).
 */
export function packedFloat16Refusal(tf: Tf, lib: Lib): { errors: string[]; leaked: number } {
  const previous = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
  const start = tf.memory().numTensors;
  const errors: string[] = [];
  tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', false);
  try {
    const params = tree(tf, 1);
    for (const stateDtype of ['bfloat16', 'int8'] as const) {
      try {
        lib.treeDispose(PACKED_OPTIMIZERS.adam(lib, stateDtype).init(params) as never);
        errors.push('no error');
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    lib.treeDispose(params);
  } finally {
    tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', previous);
  }
  return { errors, leaked: tf.memory().numTensors - start };
}
