// Building the playground and driving its pages: shared by test/browser/playground.test.ts and
// scripts/screenshots.ts (which refreshes the PNGs in docs/images/).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import type { MlpHook, RaceHook } from '../../examples/playground/src/page.js';

const run = promisify(execFile);

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PLAYGROUND_DIST = join(ROOT, 'examples', 'playground', 'dist');

/** The race the README shows: the default preset, Rosenbrock's valley with five racers. */
export const RACE_QUERY =
  '?fn=rosenbrock&start=-1.2,1&steps=500&o=sgd(lr=0.001,momentum=0.9)&o=adam(lr=0.1)~clipnorm(10)~warmup-cosine' +
  '&o=rmsprop(lr=0.01)&o=lion(lr=0.01)&o=lbfgs';

/**
 * Builds the static site into examples/playground/dist with Vite (in a child process, so the
 * build has its own module graph), assembling the library's wasm kernels first if needed.
 */
export async function buildPlayground(): Promise<void> {
  if (!existsSync(join(ROOT, 'src', 'kernels', 'wasm', 'binary.generated.ts'))) {
    await run(process.execPath, [join(ROOT, 'scripts', 'build-wasm.mjs')], { cwd: ROOT });
  }
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  // The runner config loader: Vite's default one writes a temporary file into node_modules.
  const config = join(ROOT, 'examples', 'playground', 'vite.config.ts');
  await run(process.execPath, [vite, 'build', '--config', config, '--configLoader', 'runner', '--logLevel', 'warn'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** The hook's data as it crosses over from the page, with the live tensor count. */
export type HookData<T extends RaceHook | MlpHook> = Omit<T, 'done' | 'numTensors'> & { tensors: number };

/** Waits until the page's current race or training has finished, and returns its hook's data. */
export async function finished<T extends RaceHook | MlpHook>(page: Page, timeout = 120_000): Promise<HookData<T>> {
  await page.waitForFunction(() => window.__playground?.finished === true, null, { timeout, polling: 100 });
  // The hook's functions and promises do not cross over: copy its data.
  return (await page.evaluate(() => {
    const { done: _done, numTensors, ...data } = window.__playground as RaceHook | MlpHook;
    return { ...data, tensors: numTensors() };
  })) as unknown as HookData<T>;
}
