import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveStatic, watchErrors, type StaticServer } from './chromium.js';
import { diffLeaves, formatDiffs, toleranceFromEnv, within } from './compare.js';
import { FALLBACK_CASE, PACKED_DTYPES, PACKED_OPTIMIZERS, type PackedResult } from './packed-cases.js';
import { convertLayout } from '../../src/internal/packed-layout.js';
import { readPackedHeader } from '../../src/internal/state-dtype.js';
import type { Leaf } from './scenarios.js';
import { buildPage } from './page-build.js';
import type { OptaxPage } from './page/entry.js';

// Low-memory optimizer state (`stateDtype: 'bfloat16' | 'int8'`) in headless Chromium. Adam,
// Lion, SGD with momentum, AMSGrad and a clip in front of Adam take two steps (update + applyUpdates, and trainStep) on a tree of
// leaves of 1, 3, 257 and 600 values, on wasm and then on each GPU backend in the same page, with
// tfjs's CPU forwarding of small ops on (its default) and off, and on webgpu also on the
// composite path (kernel mode 'composite'). float32 state must equal wasm bit for bit everywhere. Packed states
// must equal wasm bit for bit where they run: on webgl in its 24-bit layout (its int32 tensors are
// float textures, which keep 24 bits of a word: measured here, `int32Words`), which this file
// converts to the 32-bit one (exactly: the same codes and scales) before comparing; and a
// checkpoint saved on webgl loads on wasm and steps on as wasm alone does, and the reverse.

type Run = Awaited<ReturnType<OptaxPage['packedCases']>>;

/** Each GPU run: backend, tfjs's CPU forwarding, and kernel mode ('auto': fused kernels where they exist). */
const GPU_RUNS = [
  { backend: 'webgl', cpuForward: true, mode: 'auto' },
  { backend: 'webgl', cpuForward: false, mode: 'auto' },
  { backend: 'webgl', cpuForward: false, mode: 'composite' },
  { backend: 'webgpu', cpuForward: true, mode: 'auto' },
  { backend: 'webgpu', cpuForward: false, mode: 'auto' },
  { backend: 'webgpu', cpuForward: false, mode: 'composite' },
] as const;

/**
 * `leaves` with each packed state leaf (int32, of a packed run) in the 32-bit layout: webgl's are
 * in the 24-bit one (element 0 negative). Counts how many were converted.
 */
function in32BitLayout(leaves: Leaf[], stateDtype: string): { leaves: Leaf[]; converted: number } {
  let converted = 0;
  const out = leaves.map((l) => {
    if (stateDtype === 'float32' || l.kind !== 'i32' || !(l.data[0] < 0)) return l;
    converted++;
    for (let i = 1; i < l.data.length; i++) if (!(l.data[i] >= 0 && l.data[i] < 2 ** 24)) throw new Error(`${l.path}: element ${i} is ${l.data[i]}, not below 2^24`);
    const said = readPackedHeader(l.data[0]);
    if (said === undefined) throw new Error(`${l.path}: element 0 is ${l.data[0]}, no packed header`);
    return { ...l, data: Array.from(convertLayout(said.format, Int32Array.from(l.data), 32)) };
  });
  return { leaves: out, converted };
}

const TOLERANCE = toleranceFromEnv();

let browser: Browser;
let server: StaticServer;
let page: Page;
let errors: ReturnType<typeof watchErrors>;
let wasm: Run;
const runs = new Map<string, Run>();

function call<K extends keyof OptaxPage>(p: Page, name: K, ...args: Parameters<OptaxPage[K]>): Promise<Awaited<ReturnType<OptaxPage[K]>>> {
  return p.evaluate(
    ([n, a]) => ((globalThis as unknown as { optaxPage: Record<string, (...x: unknown[]) => unknown> }).optaxPage[n as string](...(a as unknown[]))),
    [name, args] as const,
  ) as never;
}

beforeAll(async () => {
  server = await serveStatic(await buildPage());
  browser = await launchChromium();
  page = await browser.newPage();
  errors = watchErrors(page);
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => 'optaxPage' in globalThis, null, { timeout: 30_000 });
  const t0 = Date.now();
  wasm = await call(page, 'packedCases', 'wasm', true);
  const times = [`wasm ${Date.now() - t0} ms`];
  for (const r of GPU_RUNS) {
    const t = Date.now();
    runs.set(`${r.backend} ${r.cpuForward} ${r.mode}`, await call(page, 'packedCases', r.backend, r.cpuForward, r.mode));
    times.push(`${r.backend} (CPU forwarding ${r.cpuForward ? 'on' : 'off'}, ${r.mode}) ${Date.now() - t} ms`);
  }
  console.log(`packed states: ${times.join(', ')}; int32 [2^31 - 127, 1 - 2^31] + 1: ${[...runs].map(([k, r]) => `${k}: ${r.int32Words.join(', ')}`).join('; ')}`);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const key = (r: PackedResult) => `${r.optimizer} ${r.stateDtype}`;

it('wasm in Chromium: every optimizer and state dtype runs, leaves nothing, and int32 words are exact', () => {
  expect(wasm.int32Words).toEqual([2147483522, -2147483646]);
  expect(wasm.results.map(key)).toEqual(Object.keys(PACKED_OPTIMIZERS).flatMap((o) => PACKED_DTYPES.map((d) => `${o} ${d}`)));
  for (const r of wasm.results) {
    expect(r.error, key(r)).toBeUndefined();
    expect(r.leaked, key(r)).toBe(0);
  }
  // The packed runs differ from float32 (the moments are rounded) but stay close.
  const adam = (d: string) => wasm.results.find((r) => key(r) === `adam ${d}`)!;
  expect(diffLeaves(adam('float32').leaves.filter((l) => !l.path.includes('.state')), adam('int8').leaves.filter((l) => !l.path.includes('.state')), 'adam').length).toBeGreaterThan(0);
});

describe.each(GPU_RUNS)('$backend in Chromium, CPU forwarding $cpuForward, kernel mode $mode', ({ backend, cpuForward, mode }) => {
  const run = () => runs.get(`${backend} ${cpuForward} ${mode}`)!;

  it("float32 state, bfloat16 and int8 equal wasm's bit for bit, and leave nothing", () => {
    for (const r of run().results) {
      const ref = wasm.results.find((x) => key(x) === key(r))!;
      expect(r.error, `${backend} ${key(r)}`).toBeUndefined();
      expect(r.leaked, `${backend} ${key(r)}`).toBe(0);
      // Each has a WGSL kernel; on webgpu it decodes and encodes packed moments itself (AMSGrad's
      // through float32 copies: see the dispatch test).
      expect(r.path, `${backend} ${key(r)}`).toBe(mode === 'auto' ? backend : 'composite');
      const got = in32BitLayout(r.leaves, r.stateDtype);
      // webgl keeps packed states in its 24-bit layout (every leaf: the state after update, and after trainStep).
      const packedLeaves = ref.leaves.filter((l) => l.kind === 'i32').length;
      if (r.stateDtype !== 'float32') expect(got.converted, `${backend} ${key(r)}`).toBe(backend === 'webgl' ? packedLeaves : 0);
      const outside = diffLeaves(ref.leaves, got.leaves, `${backend} ${key(r)}`).filter((d) => !within(d, TOLERANCE));
      expect(outside, formatDiffs(outside)).toEqual([]);
    }
  });

  it.runIf(backend === 'webgpu' && mode === 'auto')('bfloat16 and int8 trainStep: decoded and encoded inside the step (no more dispatches than float32)', () => {
    for (const r of run().results.filter((x) => x.stateDtype !== 'float32')) {
      const f32 = run().results.find((x) => x.optimizer === r.optimizer && x.stateDtype === 'float32')!;
      expect(f32.dispatches, `${backend} ${key(f32)}`).toBeGreaterThan(0);
      // AMSGrad's program binds 9 storage buffers (SwiftShader's WebGPU binds 8): float32 copies
      // packed and unpacked by separate programs, around the float32 step.
      if (r.optimizer === FALLBACK_CASE) expect(r.dispatches, `${backend} ${key(r)}`).toBeGreaterThan(f32.dispatches);
      else expect(r.dispatches, `${backend} ${key(r)}`).toBeLessThanOrEqual(f32.dispatches);
    }
  });

  it("tfjs's int32 ops round a 32-bit word to float32 there (why packing needs its own programs on webgpu, and its 24-bit layout on webgl)", () => {
    expect(run().int32Words).toEqual([2147483520, -2147483648]);
    errors.check();
  });
});

describe.each([
  ['webgl', 'wasm'],
  ['wasm', 'webgl'],
])('a packed checkpoint saved on %s loads on %s in the same page', (from, to) => {
  it('as saved (its layout), and steps on exactly as the same steps there alone (as does the live state after tf.setBackend)', async () => {
    const results = await call(page, 'packedCheckpoints', from, to);
    expect(results.map((r) => r.stateDtype)).toEqual(['bfloat16', 'int8']);
    for (const r of results) {
      expect(r.error, `${from} -> ${to} ${r.stateDtype}`).toBeUndefined();
      expect(r.leaked, `${from} -> ${to} ${r.stateDtype}`).toBe(0);
      // Leaf a holds 1 value: element 0, its header, is 4 + the format's code (bfloat16 1, int8
      // signed 2) in the 32-bit layout, negated in the 24-bit one.
      expect(r.loadedHead).toBe((from === 'webgl' ? -1 : 1) * (4 + (r.stateDtype === 'bfloat16' ? 1 : 2)));
      const outside = diffLeaves(r.stayed, r.moved, `${from} -> ${to} ${r.stateDtype}`).filter((d) => !within(d, TOLERANCE));
      expect(outside, formatDiffs(outside)).toEqual([]);
      // And with tf.setBackend under the live state: its leaves move, the first step converts them.
      const switched = diffLeaves(r.stayed, r.switched, `${from} -> ${to} ${r.stateDtype}, switched`).filter((d) => !within(d, TOLERANCE));
      expect(switched, formatDiffs(switched)).toEqual([]);
    }
    errors.check();
  });
});

describe.each(['webgl', 'wasm'])('packed states through toTfOptimizer and model.save on %s', (backend) => {
  it('a model saved with its optimizer resumes exactly as one that never stopped, and leaves nothing', async () => {
    const results = await call(page, 'packedModelSave', backend);
    for (const r of results) {
      expect(r.error, `${backend} ${r.stateDtype}`).toBeUndefined();
      expect(r.leaked, `${backend} ${r.stateDtype}`).toBe(0);
      expect(r.int32Weights, `${backend} ${r.stateDtype}`).toBe(4);
      expect(r.resumed.length).toBe(4);
      const outside = diffLeaves(r.straight, r.resumed, `${backend} ${r.stateDtype}`);
      expect(outside, formatDiffs(outside)).toEqual([]);
    }
    errors.check();
  });
});

it('webgl with float16 textures: packed init throws a clear error and leaves nothing', async () => {
  const r = await call(page, 'packedFloat16Refusal');
  expect(r.errors).toEqual(
    (['bfloat16', 'int8'] as const).map(
      (d) =>
        `adam: stateDtype '${d}' packs moments into int32 words, which the 'webgl' backend does not compute on exactly ` +
        `(its textures are float16 here (WEBGL_RENDER_FLOAT32_ENABLED is false), exact to 2^11 only); use stateDtype 'float32' on this backend`,
    ),
  );
  expect(r.leaked).toBe(0);
  errors.check();
});
