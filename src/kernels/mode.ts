import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from './backend.js';
import { kernelBackendNamed } from './backends.js';

/**
 * `'auto'` uses a fused kernel where one exists for the backend; `'composite'` never does.
 * @group Kernels
 */
export type KernelMode = 'auto' | 'composite';

let mode: KernelMode = 'auto';

/**
 * Chooses between the fused kernels (`'auto'`, the default) and the composite tf-op path
 * (`'composite'`) for every transformation, for example to compare the two or to rule the
 * kernels out while debugging. The composite path is the reference the kernels are tested
 * against; both give the same results to float32 rounding.
 * @group Kernels
 */
export function setKernelMode(next: KernelMode): void {
  if (next !== 'auto' && next !== 'composite') {
    throw new TypeError(`setKernelMode: expected 'auto' or 'composite', got ${String(next)}`);
  }
  mode = next;
}

/**
 * The current kernel mode (see {@link setKernelMode}).
 * @group Kernels
 */
export function getKernelMode(): KernelMode {
  return mode;
}

/** The parts of tfjs-core's engine that tell whether a backend is ready (4.x). */
interface EngineState {
  backendName?: string | null;
  registry: Record<string, unknown>;
  /** Set while an asynchronous backend (wasm, webgpu) initialises. Private in tfjs-core. */
  pendingBackendInit?: unknown;
  /** The active backend; `null` until `setBackend` has finished. Private in tfjs-core. */
  backendInstance?: unknown;
}

/**
 * The name of the active tfjs backend, or an `Error` if none is ready yet. Reads the engine's
 * fields only: `tf.backend()` would start initialising the best registered backend as a side
 * effect (and throw for an asynchronous one), which a question about the path must not do.
 */
function readyBackend(owner: string): string {
  const engine = tf.engine() as unknown as EngineState;
  const name = engine.backendName;
  const pending = engine.pendingBackendInit != null;
  // `backendInstance` is only checked where tfjs has set the field (setBackend sets it to null
  // first), so a tfjs that renamed it would still pass here.
  const unset = 'backendInstance' in engine && engine.backendInstance == null;
  if (name && !pending && !unset && engine.registry[name] != null) return name;
  const state = name ? `the '${name}' backend is still initialising` : 'no backend has been set';
  const wait = name ? `await tf.setBackend('${name}')` : `await tf.setBackend(name)`;
  throw new Error(
    `${owner}: the tfjs backend is not ready (${state}); ${wait} or await tf.ready() first, ` +
      'as the kernels used depend on the backend',
  );
}

/**
 * The fused kernels of the active tfjs backend, ignoring the mode: `undefined` where it has none
 * or they cannot run on it. Throws (naming `owner`) before a backend is ready.
 */
export function backendKernels(owner: string): KernelBackend | undefined {
  const kernels = kernelBackendNamed(readyBackend(owner));
  return kernels !== undefined && kernels.ready(tf.backend()) ? kernels : undefined;
}

/** {@link backendKernels} in the `'auto'` mode, `undefined` in the `'composite'` one. */
export function activeKernels(owner: string): KernelBackend | undefined {
  return mode === 'composite' ? undefined : backendKernels(owner);
}
