// The page the browser suite loads: tfjs (with its gradients, layers, cpu and webgl backends),
// the wasm and webgpu backends, the library's built ESM bundle (`tfjs-optax` is aliased to
// dist/index.js by page-build.ts) and the scenarios, exposed as `window.optaxPage` for
// backends.test.ts to call through page.evaluate.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import * as lib from 'tfjs-optax';
import * as scenarios from '../scenarios.js';
import { runAliasingCases } from '../in-place-cases.js';
import { int32Words, packedFloat16Refusal, runPackedCases, runPackedCheckpoints, runPackedModelSave } from '../packed-cases.js';

// page-build.ts copies the backend's .wasm files here.
setWasmPaths(new URL('wasm/', location.href).href);

/** What the page reports about the backend it set. */
export interface BackendInfo {
  backend: string;
  crossOriginIsolated: boolean;
  /** The wasm binaries the page fetched (file names). */
  wasmFiles: string[];
  /** tfjs's flags, on the wasm backend. */
  multithread: boolean | null;
  simd: boolean | null;
  threads: number | null;
  floatPrecision: number;
  /** The tfjs-optax version the bundle reports. */
  version: string;
}

/** The message of the error a blocked synchronous read throws (see {@link setBackend}). */
export const SYNC_READ_BLOCKED = 'synchronous read blocked';

/**
 * Sets the backend. On webgl and webgpu, tfjs runs ops on small CPU-resident tensors on the CPU
 * (`*_CPU_FORWARD`); the suite's trees are small, so that shortcut is turned off to make the GPU
 * kernels run. With `blockSyncReads` (webgpu, where the synchronous read is broken: see
 * backends.test.ts), a `dataSync` of a tensor whose values are only on the GPU throws
 * {@link SYNC_READ_BLOCKED} instead of returning zeros and destroying the device.
 */
async function setBackend(name: string, options: { blockSyncReads?: boolean } = {}): Promise<BackendInfo> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tf.setBackend('${name}') failed (active: ${tf.getBackend()})`);
  if (name === 'webgl') tf.env().set('WEBGL_CPU_FORWARD', false);
  if (name === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
  if (options.blockSyncReads) blockSyncReads();
  const wasm = name === 'wasm';
  return {
    backend: tf.getBackend(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    wasmFiles: performance
      .getEntriesByType('resource')
      .map((e) => e.name.split('/').pop() ?? '')
      .filter((f) => f.endsWith('.wasm')),
    multithread: wasm ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : null,
    simd: wasm ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null,
    threads: wasm ? getThreadsCount() : null,
    floatPrecision: tf.backend().floatPrecision(),
    version: lib.VERSION,
  };
}

interface ReadSyncBackend {
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { values: unknown } | undefined };
}

function blockSyncReads(): void {
  const backend = tf.backend() as unknown as ReadSyncBackend;
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    if (backend.tensorMap.get(dataId)?.values == null) throw new Error(`${SYNC_READ_BLOCKED}: dataSync of a tensor that is only on the GPU`);
    return readSync(dataId);
  };
}

/**
 * Whether `dataSync` of a GPU-resident tensor returns the right values on `name` (a throwaway
 * page: where it is broken, it may destroy the backend's device).
 */
async function probeSyncRead(name: string): Promise<{ works: boolean; got: number[]; lost: string | null }> {
  await setBackend(name);
  let lost: string | null = null;
  const device = (tf.backend() as unknown as { device?: { lost: Promise<{ reason: string; message: string }> } }).device;
  void device?.lost.then((info) => (lost = `${info.reason}: ${info.message}`));
  const x = tf.range(1, 4);
  const y = tf.mul(x, 3);
  let got: number[] = [];
  try {
    got = Array.from(y.dataSync());
  } catch (e) {
    lost = `dataSync threw ${String(e)}`;
  }
  await new Promise((ok) => setTimeout(ok, 200));
  tf.dispose([x, y]);
  return { works: got.join() === '3,6,9' && lost === null, got, lost };
}

/**
 * The named cases in the composite mode and in the fused one ('auto'), on this page's backend:
 * `update` + `applyUpdates` with a NaN and an Infinity in the gradients of step 1, and
 * `trainStep` (in place) with them in step 2.
 */
async function fusedAndComposite(names: string[]) {
  const out: Record<'composite' | 'auto', { cases: scenarios.CaseResult[]; trainSteps: scenarios.TrainStepResult[] }> = {
    composite: { cases: [], trainSteps: [] },
    auto: { cases: [], trainSteps: [] },
  };
  try {
    for (const mode of ['composite', 'auto'] as const) {
      lib.setKernelMode(mode);
      for (const c of scenarios.CASES.filter((x) => names.includes(x.name))) {
        out[mode].cases.push(await scenarios.runCase(tf, lib, { ...c, nonFiniteAt: 1 }));
        out[mode].trainSteps.push(await scenarios.trainStepCase(tf, lib, c, scenarios.STEPS, 2));
      }
    }
  } finally {
    lib.setKernelMode('auto');
  }
  return out;
}

const page = {
  fusedAndComposite,
  probeSyncRead,
  setBackend,
  runCases: (names?: string[]) => scenarios.runCases(tf, lib, names),
  train: (optimizer: string, steps?: number) => scenarios.train(tf, lib, optimizer, steps),
  fitLayers: () => scenarios.fitLayers(tf, lib),
  checkpointSave: (prefix: string, names?: string[]) => scenarios.checkpointSave(tf, lib, prefix, names),
  checkpointResume: (prefix: string, names?: string[]) => scenarios.checkpointResume(tf, lib, prefix, names),
  numTensors: () => tf.memory().numTensors,
  inPlaceCases: (names?: string[], optimizers?: string[]) => runAliasingCases(tf, lib, names, optimizers),
  /** packed-states.test.ts: the packed-state runs on `name`, with tfjs's CPU forwarding on or off. */
  packedCases: async (name: string, cpuForward: boolean, mode: 'auto' | 'composite' = 'auto') => {
    await setBackend(name);
    if (name === 'webgl' || name === 'webgpu') tf.env().set(name === 'webgl' ? 'WEBGL_CPU_FORWARD' : 'WEBGPU_CPU_FORWARD', cpuForward);
    lib.setKernelMode(mode);
    try {
      return { int32Words: await int32Words(tf), results: await runPackedCases(tf, lib), numTensors: tf.memory().numTensors };
    } finally {
      lib.setKernelMode('auto');
    }
  },
  /** A packed checkpoint saved on `from` and stepped on `to` in this page (packed-states.test.ts). */
  packedCheckpoints: async (from: string, to: string) => runPackedCheckpoints(tf, lib, (name) => setBackend(name), from, to),
  /** Packed Adam's init on webgl with float16 textures (packed-states.test.ts). */
  packedFloat16Refusal: async () => {
    await setBackend('webgl');
    return packedFloat16Refusal(tf, lib);
  },
  /** Packed states through toTfOptimizer and model.save on `name` (packed-states.test.ts). */
  packedModelSave: async (name: string) => {
    await setBackend(name);
    return runPackedModelSave(tf, lib);
  },
};

export type OptaxPage = typeof page;
(globalThis as unknown as { optaxPage: OptaxPage }).optaxPage = page;
