import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// kernelPath before a tfjs backend is ready. test/setup.ts readies one for every test file, so
// the questions are asked in a fresh process (test/fixtures/kernel-path-before-ready.ts), where
// nothing has set a backend yet.

const ROOT = resolve(__dirname, '..', '..');

interface Answer {
  path?: string;
  error?: { name: string; message: string };
  backendName: string | null;
  initialised: string[];
}

function stagesOn(backend: 'wasm' | 'cpu'): Record<string, any> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/kernel-path-before-ready.ts', backend], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const NOT_SET =
  'kernelPath: the tfjs backend is not ready (no backend has been set); await tf.setBackend(name) or ' +
  'await tf.ready() first, as the kernels used depend on the backend';

function initialising(owner: string, backend: string): string {
  return (
    `${owner}: the tfjs backend is not ready (the '${backend}' backend is still initialising); ` +
    `await tf.setBackend('${backend}') or await tf.ready() first, as the kernels used depend on the backend`
  );
}

describe('kernelPath before a tfjs backend is ready', () => {
  const wasm = stagesOn('wasm');
  const cpu = stagesOn('cpu');

  it.each(['beforeAnything', 'compositeModeBeforeAnything', 'unfusedBeforeAnything'])(
    '%s: an Error saying to await tf.ready(), without initialising a backend itself',
    (stage) => {
      for (const stages of [wasm, cpu]) {
        const answer: Answer = stages[stage];
        expect(answer.path).toBeUndefined();
        expect(answer.error).toEqual({ name: 'Error', message: NOT_SET });
        expect(answer.backendName).toBeNull();
        expect(answer.initialised).toEqual([]);
      }
    },
  );

  it('while the wasm backend initialises: an Error naming it, and tfjs left to finish on its own', () => {
    const answer: Answer = wasm.whileSetBackendPending;
    expect(answer.error).toEqual({ name: 'Error', message: initialising('kernelPath', 'wasm') });
    expect(answer.backendName).toBe('wasm');
    expect(answer.initialised).toEqual([]);
  });

  it('once the backend is ready: the fused path', () => {
    expect(wasm.afterSetBackend.path).toBe('wasm-simd');
    expect(wasm.afterReady.path).toBe('wasm-simd');
    // The cpu backend initialises synchronously: ready as soon as setBackend is called.
    expect(cpu.whileSetBackendPending.path).toBe('cpu');
    expect(cpu.afterReady.path).toBe('cpu');
  });

  it('a step while a switch to the wasm backend is pending names its caller', () => {
    expect(cpu.updateWhileSwitching).toEqual({ name: 'Error', message: initialising('adam', 'wasm') });
    expect(cpu.applyUpdatesWhileSwitching).toEqual({ name: 'Error', message: initialising('applyUpdates', 'wasm') });
    expect(cpu.updateAfterSwitch).toBe('ok');
    expect(wasm.updateAfterSwitch).toBe('ok');
  });
});
