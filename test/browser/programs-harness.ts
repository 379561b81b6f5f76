// What the program-compiler suites in Chromium share (webgpu-programs.test.ts for WGSL,
// webgl-programs.test.ts for GLSL): the programs page, opened once per file, and the bit-exact
// comparison of a kernel's outputs with the composite path's.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { launchChromium, serveStatic, watchErrors, type StaticServer } from './chromium.js';
import { buildPage } from './page-build.js';
import type { ProgramsPage } from './page/programs.js';

/** The programs page of this test file: `call` runs one of its functions. */
export interface ProgramsPageHandle {
  call<K extends keyof ProgramsPage>(name: K): Promise<Awaited<ReturnType<ProgramsPage[K]>>>;
  /** Throws the errors the page has reported (uncaught, or `console.error`), if any. */
  checkErrors(): void;
}

/** Opens test/browser/page/programs.html in headless Chromium before the file's tests, closes it after. */
export function useProgramsPage(): ProgramsPageHandle {
  let browser: Browser | undefined;
  let server: StaticServer | undefined;
  let page: Page;
  let errors: ReturnType<typeof watchErrors>;
  beforeAll(async () => {
    const root = await buildPage();
    server = await serveStatic(root);
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    errors = watchErrors(page);
    await page.goto(`${server.url}/programs.html`);
    await page.waitForFunction(() => 'programsPage' in globalThis, null, { timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    call: (name) =>
      page.evaluate((n) => (globalThis as unknown as { programsPage: Record<string, () => unknown> }).programsPage[n](), name) as never,
    checkErrors: () => errors.check(),
  };
}

const view = new DataView(new ArrayBuffer(4));

/** The float32 whose bit pattern is `bits`. */
export const float = (bits: number): number => (view.setUint32(0, bits), view.getFloat32(0));

/** Whether `bits` is a NaN pattern (any payload). */
export const isNaNBits = (bits: number): boolean => (bits & 0x7fffffff) > 0x7f800000;

/** Equal bit patterns, any NaN equal to any NaN (tfjs's NaN and a propagated one differ in payload). */
export function expectSameBits(got: number[][], want: number[][], what: string, inputs?: [Float32Array, Float32Array]): void {
  expect(got.length, what).toBe(want.length);
  const wrong: string[] = [];
  got.forEach((g, k) => {
    expect(g.length, `${what}: output ${k}`).toBe(want[k].length);
    g.forEach((x, i) => {
      const y = want[k][i];
      if (x === y || (isNaNBits(x) && isNaNBits(y))) return;
      const at = inputs ? `a = ${inputs[0][i]}, b = ${inputs[1][i]}` : `element ${i}`;
      wrong.push(`${what}: output ${k}, ${at}: got ${float(x)} (0x${x.toString(16)}), want ${float(y)} (0x${y.toString(16)})`);
    });
  });
  expect(wrong.slice(0, 10), `${wrong.length} elements differ`).toEqual([]);
}
