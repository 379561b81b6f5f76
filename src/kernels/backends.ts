import type { KernelBackend } from './backend.js';
import { cpuBackend } from './cpu/backend.js';
import { wasmBackend } from './wasm/backend.js';
import { webglBackend } from './webgl/backend.js';
import { webgpuBackend } from './webgpu/backend.js';

/**
 * Every tfjs backend with fused kernels, one entry per folder: adding a backend is a folder with
 * a `backend.ts` implementing {@link KernelBackend}, and one line here.
 */
export const KERNEL_BACKENDS: readonly KernelBackend[] = [wasmBackend, cpuBackend, webgpuBackend, webglBackend];

/** The kernels serving the tfjs backend `name`, if any. */
export function kernelBackendNamed(name: string): KernelBackend | undefined {
  for (const k of KERNEL_BACKENDS) if (k.name === name) return k;
  return undefined;
}
