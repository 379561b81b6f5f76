// The page bench/browser.ts drives in headless Chromium: one Adam step on trees (a)-(c), four
// ways (tf.train.adam, the library's composite tf ops, its fused kernels through tx.update +
// applyUpdates, and trainStep), on the backend asked for. Timed in blocks that end with a read
// of one element (which waits for the GPU queue), interleaved; GPU commands counted per step.
// The library comes from src/ (bundled by esbuild), like bench.ts in Node.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { adam, applyUpdates, disposeReplaced, kernelPath, setKernelMode, trainStep, treeDispose, type Params } from '../src/index.js';

setWasmPaths(new URL('wasm/', location.href).href);

export const TREES: Record<string, { label: string; shapes: number[][] }> = {
  a: { label: '(a) 1 leaf of 1M', shapes: [[1000, 1000]] },
  b: { label: '(b) 100 leaves of 10k', shapes: Array.from({ length: 100 }, () => [100, 100]) },
  c: { label: '(c) 200 leaves of 64', shapes: Array.from({ length: 200 }, () => [64]) },
};

const VARIANTS = ['tfTrain', 'composite', 'fusedUpdate', 'fusedStep'] as const;
type Variant = (typeof VARIANTS)[number];

export interface BrowserRow {
  backend: string;
  tree: string;
  leaves: number;
  /** kernelPath(adam) on the backend. */
  path: string;
  /** Median ms per step of each variant. */
  ms: Record<Variant, number>;
  /** Medians of the per-repetition ratios tf.train / variant. */
  speedup: Record<Variant, number>;
  /** GPU commands (WebGPU dispatches, WebGL draws) per step and per leaf; null on wasm. */
  commandsPerLeaf: Record<Variant, number> | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function randomTree(shapes: number[][], seed: number): tf.Tensor[] {
  return shapes.map((s, i) => tf.randomNormal(s, 0, 0.1, 'float32', seed * 1000 + i));
}

/** Counts WebGPU dispatches and WebGL draws (the GPU commands tfjs and the kernels issue). */
function commandCounter(): { count: () => number; stop: () => void } {
  let n = 0;
  const patched: Array<[Record<string, unknown>, string, unknown]> = [];
  const patch = (proto: Record<string, unknown> | undefined, name: string) => {
    const original = proto?.[name];
    if (typeof original !== 'function') return;
    patched.push([proto!, name, original]);
    proto![name] = function (this: unknown, ...args: unknown[]) {
      n++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  };
  const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>;
  patch(g.GPUComputePassEncoder?.prototype, 'dispatchWorkgroups');
  patch(g.WebGL2RenderingContext?.prototype, 'drawElements');
  patch(g.WebGL2RenderingContext?.prototype, 'drawArrays');
  return { count: () => n, stop: () => patched.forEach(([proto, name, original]) => (proto[name] = original)) };
}

/** Waits until the backend has run everything queued: reads one element of `t`. */
async function settle(t: tf.Tensor): Promise<void> {
  // No reshape: on webgl a packed reshape of a large texture copies it.
  const one = tf.slice(t, t.shape.map(() => 0), t.shape.map(() => 1));
  await one.data();
  one.dispose();
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/** One tree on the current backend: `reps` interleaved repetitions of blocks of each variant. */
async function measure(treeKey: string, reps: number, blockMs: number, stateDtype: 'float32' | 'bfloat16' | 'int8'): Promise<BrowserRow> {
  const { label, shapes } = TREES[treeKey];
  const backend = tf.getBackend();
  const grads = randomTree(shapes, 2);
  const optimizer: tf.Optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
  const vars = randomTree(shapes, 1).map((t, i) => {
    const v = tf.variable(t, true, `bench_${backend}_${treeKey}_${i}`);
    t.dispose();
    return v;
  });
  const named = Object.fromEntries(vars.map((v, i) => [v.name, grads[i]]));
  const tx = adam(1e-3, { eps: 1e-7, stateDtype });
  const plain = (mode: 'composite' | 'auto') => {
    let params: Params = randomTree(shapes, 1);
    let state = tx.init(params);
    return {
      step: () => {
        setKernelMode(mode);
        const [updates, next] = tx.update(grads, state, params);
        const nextParams = applyUpdates(params, updates);
        disposeReplaced([params, state, updates], [nextParams, next, grads]);
        params = nextParams;
        state = next;
      },
      last: () => (params as tf.Tensor[])[0],
      dispose: () => treeDispose([params, state]),
    };
  };
  let stepParams: Params = randomTree(shapes, 1);
  let stepState = tx.init(stepParams);
  const runs: Record<Variant, { step: () => void; last: () => tf.Tensor; dispose?: () => void }> = {
    tfTrain: { step: () => optimizer.applyGradients(named), last: () => vars[0] },
    composite: plain('composite'),
    fusedUpdate: plain('auto'),
    fusedStep: {
      step: () => {
        setKernelMode('auto');
        ({ params: stepParams, state: stepState } = trainStep(tx, stepParams, stepState, grads, { keepGrads: true }));
      },
      last: () => (stepParams as tf.Tensor[])[0],
    },
  };
  /** ms per step over a block of `calls` steps, the GPU's work included. */
  const block = async (v: Variant, calls: number) => {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) runs[v].step();
    await settle(runs[v].last());
    return (performance.now() - t0) / calls;
  };
  // Warm-up (pipelines compiled, buffers pooled), commands per step, and block sizes.
  const calls = {} as Record<Variant, number>;
  const commands = {} as Record<Variant, number>;
  for (const v of VARIANTS) {
    await block(v, 3);
    const counter = commandCounter();
    runs[v].step(); // commands are recorded as the step runs
    counter.stop();
    commands[v] = counter.count();
    const once = await block(v, 1);
    calls[v] = Math.max(1, Math.min(100, Math.round(blockMs / Math.max(once, 0.05))));
  }
  const samples = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  for (let r = 0; r < reps; r++) for (const v of VARIANTS) samples[v].push(await block(v, calls[v]));
  setKernelMode('auto');
  const path = kernelPath(tx);
  optimizer.dispose();
  runs.composite.dispose!();
  runs.fusedUpdate.dispose!();
  treeDispose([stepParams, stepState, grads]);
  tf.dispose(vars);
  const gpu = backend === 'webgpu' || backend === 'webgl';
  const perVariant = (f: (v: Variant) => number) => Object.fromEntries(VARIANTS.map((v) => [v, f(v)])) as Record<Variant, number>;
  return {
    backend,
    tree: label,
    leaves: shapes.length,
    path,
    ms: perVariant((v) => median(samples[v])),
    speedup: perVariant((v) => median(samples.tfTrain.map((x, r) => x / samples[v][r]))),
    commandsPerLeaf: gpu ? perVariant((v) => commands[v] / shapes.length) : null,
  };
}

async function run(backend: string, trees: string[], reps: number, blockMs: number, stateDtype: 'float32' | 'bfloat16' | 'int8' = 'float32'): Promise<BrowserRow[]> {
  await setBackend(backend);
  const rows: BrowserRow[] = [];
  for (const tree of trees) rows.push(await measure(tree, reps, blockMs, stateDtype));
  return rows;
}

/** trainStep's ms per Adam step in each state dtype, interleaved, per tree (`--dtypes`). */
export interface DtypeRow {
  tree: string;
  /** Median ms per step of each dtype. */
  ms: Record<string, number>;
  /** Median over repetitions of each dtype's ms / float32's ms in that repetition. */
  ratio: Record<string, number>;
  commandsPerLeaf: Record<string, number>;
}

const DTYPES = ['float32', 'bfloat16', 'int8'] as const;

/**
 * The library's Adam trainStep (in place, as `--state-dtype`'s "fused step") with its moments in
 * float32, bfloat16 and int8, on one tree: blocks of each dtype interleaved `reps` times, so the
 * ratios to float32 hold on a machine whose load changes between runs.
 */
async function dtypes(backend: string, trees: string[], reps: number, blockMs: number): Promise<DtypeRow[]> {
  await setBackend(backend);
  const rows: DtypeRow[] = [];
  for (const treeKey of trees) {
    const { label, shapes } = TREES[treeKey];
    const grads = randomTree(shapes, 2);
    const runs = DTYPES.map((stateDtype) => {
      const tx = adam(1e-3, { eps: 1e-7, stateDtype });
      let params: Params = randomTree(shapes, 1);
      let state = tx.init(params);
      return {
        step: () => ({ params, state } = trainStep(tx, params, state, grads, { keepGrads: true })),
        last: () => (params as tf.Tensor[])[0],
        dispose: () => treeDispose([params, state]),
      };
    });
    const block = async (k: number, calls: number) => {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) runs[k].step();
      await settle(runs[k].last());
      return (performance.now() - t0) / calls;
    };
    const calls: number[] = [];
    const commands: number[] = [];
    for (let k = 0; k < DTYPES.length; k++) {
      await block(k, 3);
      const counter = commandCounter();
      runs[k].step();
      counter.stop();
      commands.push(counter.count());
      calls.push(Math.max(1, Math.min(100, Math.round(blockMs / Math.max(await block(k, 1), 0.05)))));
    }
    const samples = DTYPES.map(() => [] as number[]);
    for (let r = 0; r < reps; r++) for (let k = 0; k < DTYPES.length; k++) samples[k].push(await block(k, calls[k]));
    for (const run of runs) run.dispose();
    tf.dispose(grads);
    const byDtype = (f: (k: number) => number) => Object.fromEntries(DTYPES.map((d, k) => [d, f(k)]));
    rows.push({
      tree: label,
      ms: byDtype((k) => median(samples[k])),
      ratio: byDtype((k) => median(samples[k].map((x, r) => x / samples[0][r]))),
      commandsPerLeaf: byDtype((k) => commands[k] / shapes.length),
    });
  }
  return rows;
}

const page = { run, dtypes, numTensors: () => tf.memory().numTensors, version: () => tf.version.tfjs };
export type BenchPage = typeof page;
(globalThis as unknown as { benchPage: BenchPage }).benchPage = page;
