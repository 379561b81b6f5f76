import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveStatic, watchErrors, type StaticServer } from './chromium.js';
import { buildPage } from './page-build.js';
import { ALIASING_CASES, ALIASING_OPTIMIZERS, type AliasingResult } from './in-place-cases.js';
import type { OptaxPage } from './page/entry.js';

// trainStep's in-place step on tfjs's webgl and webgpu backends in headless Chromium: with a
// fused optimizer, every way another tensor, a CPU copy or an array of the caller's could see the
// parameters' or state's data (in-place-cases.ts makes them) keeps its old values; the step's
// results equal the composite path's through data() and dataSync() (no stale CPU copy); the step
// goes in place wherever nothing would see it (on webgpu taking no storage buffer but to upload
// a tensor from the CPU), and the next step does once the aliases are gone; and nothing is left
// behind (tensors, GPU bytes, tfjs's texture pool). Also inside tf.tidy: the params and state
// trainStep returns must outlive it, also when the step makes new tensors.

const BACKENDS = ['webgl', 'webgpu'] as const;

let browser: Browser;
let server: StaticServer;

beforeAll(async () => {
  server = await serveStatic(await buildPage());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

function call<K extends keyof OptaxPage>(page: Page, name: K, ...args: Parameters<OptaxPage[K]>): Promise<Awaited<ReturnType<OptaxPage[K]>>> {
  return page.evaluate(
    ([n, a]) => ((globalThis as unknown as { optaxPage: Record<string, (...x: unknown[]) => unknown> }).optaxPage[n as string](...(a as unknown[]))),
    [name, args] as const,
  ) as never;
}

const hex = (bits: number[]) => bits.map((b) => b.toString(16).padStart(8, '0')).join(' ');

/** What is wrong with one case's result on `backend` (empty when nothing is). */
function problemsOf(r: AliasingResult, backend: (typeof BACKENDS)[number]): string[] {
  const out: string[] = [];
  if (r.error !== undefined) out.push(`threw: ${r.error}`);
  if (r.disposed.length > 0) out.push(`returned params or state already disposed: ${r.disposed.join(', ')}`);
  for (const c of r.checks) {
    if (c.want.length !== c.got.length || c.want.some((b, i) => b !== c.got[i])) out.push(`${c.what}: got ${hex(c.got)}, want ${hex(c.want)}`);
  }
  if (r.error === undefined && r.disposed.length === 0 && r.inPlace.join() !== r.expectedInPlace.join()) {
    out.push(`in place per step: ${r.inPlace.join(', ')}, expected ${r.expectedInPlace.join(', ')}`);
  }
  // In place on webgpu writes into the tensors' own buffers: a storage buffer is handed out only
  // to upload a tensor whose values were on the CPU.
  if (backend === 'webgpu') {
    r.inPlace.forEach((yes, k) => {
      if (yes && r.allocations[k] !== r.uploads[k]) out.push(`step ${k + 1} went in place but took ${r.allocations[k]} storage buffers for ${r.uploads[k]} uploads`);
    });
  }
  if (r.leaked !== 0) out.push(`${r.leaked} tensors left after disposing everything`);
  if (r.gpuBytesLeft !== 0) out.push(`${r.gpuBytesLeft} GPU bytes left in use after disposing everything`);
  out.push(...r.pool.map((p) => `texture pool: ${p}`));
  return out;
}

describe.each(BACKENDS)('trainStep in place on %s in Chromium', (backend) => {
  let context: BrowserContext;
  let errors: ReturnType<typeof watchErrors>;
  let results: AliasingResult[] = [];
  const cases = ALIASING_CASES.filter((c) => c.backends === undefined || c.backends.includes(backend));

  beforeAll(async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => 'optaxPage' in globalThis, null, { timeout: 30_000 });
    await call(page, 'setBackend', backend);
    const t0 = Date.now();
    results = await call(page, 'inPlaceCases');
    const unit = backend === 'webgpu' ? 'storage buffers' : 'textures';
    const rows = results.map((r) => `  ${r.optimizer.padEnd(13)} ${r.inPlace.map((x, k) => `${x ? 'in place' : 'new     '} ${String(r.allocations[k] ?? '-').padStart(2)}`).join('   ')}   ${r.name}`);
    console.log(`${backend}: ${results.length} runs in ${Date.now() - t0} ms; step 1 and step 2, each with the ${unit} it took:\n${rows.join('\n')}`);
  });

  afterAll(async () => {
    await context?.close();
  });

  it.each(cases.map((c) => c.name))('%s: aliases keep their values, results are right, nothing left behind', (name) => {
    const mine = results.filter((r) => r.name === name);
    expect(mine.map((r) => r.optimizer)).toEqual(Object.keys(ALIASING_OPTIMIZERS));
    expect(mine.flatMap((r) => problemsOf(r, backend).map((p) => `${r.optimizer}: ${p}`)), `${backend}: ${name}`).toEqual([]);
  });

  it('the page reported no errors', () => {
    errors.check();
  });
});
