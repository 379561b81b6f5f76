import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveStatic, watchErrors, type StaticServer } from './chromium.js';
import { describeTolerance, diffLeaves, formatDiffs, toleranceFromEnv, widest, within, worst, type Diff, type Tolerance } from './compare.js';
import { buildPage, DIST } from './page-build.js';
import { runsFused } from '../../src/kernels/fused.js';
import { OTHER_EXPORTS } from '../properties/registry.js';
import type { BackendInfo, OptaxPage } from './page/entry.js';
import {
  CASES,
  fitLayers,
  runCases,
  STEPS,
  TRAINING,
  type CaseResult,
  type CheckpointResult,
  type LayersResult,
  type Lib,
  type TrainingResult,
} from './scenarios.js';

// The built library (dist/index.js) in headless Chromium on every backend tfjs has there, against
// the same scenarios run here in Node on the wasm backend (scenarios.ts holds them; page/ and
// page-build.ts make the page). Per backend: the bundle loads, kernelPath reports the expected
// path, a regression trains with a flat tensor count, every case's first steps equal Node's bit for
// bit (or within the tolerance written next to it below, measured here), a layers model fits as
// in Node, and checkpoints saved to IndexedDB resume exactly after a page reload.

type BackendId = 'wasm' | 'wasm-isolated' | 'webgl' | 'webgpu';

interface BackendSpec {
  id: BackendId;
  backend: 'wasm' | 'webgl' | 'webgpu';
  crossOriginIsolated: boolean;
  /**
   * What `kernelPath` must report for a transformation that has a fused kernel (in Node on wasm
   * it reports 'wasm-simd'). Cross-origin isolated pages get tfjs's threaded wasm build, whose
   * memory is shared: the kernels run there through their shared-memory build. webgpu and
   * webgl run generated kernels (WGSL, GLSL) for the transformations with a generated form (the
   * Node-side `runsFused(tx, true)` below says which). Transformations without a fused kernel
   * report 'composite' everywhere.
   */
  fusedPath: 'wasm-simd' | 'webgpu' | 'webgl';
}

const BACKENDS: BackendSpec[] = [
  { id: 'wasm', backend: 'wasm', crossOriginIsolated: false, fusedPath: 'wasm-simd' },
  { id: 'wasm-isolated', backend: 'wasm', crossOriginIsolated: true, fusedPath: 'wasm-simd' },
  { id: 'webgl', backend: 'webgl', crossOriginIsolated: false, fusedPath: 'webgl' },
  { id: 'webgpu', backend: 'webgpu', crossOriginIsolated: false, fusedPath: 'webgpu' },
];

/** For every comparison with Node: bitwise unless TFJS_OPTAX_BROWSER_TOLERANCE says otherwise. */
const TOLERANCE = toleranceFromEnv();

/** A case's own tolerance on one backend: the bound, what was measured here, and why. */
type CaseTolerance = Tolerance & { measured: string; why: string };

const REDUCTION =
  'sums over a leaf (norms, means, factored statistics) add in another order on the GPU than ' +
  "in wasm's kernels; each is a few ulps, and divisions by them carry it into every element";
const POW = 'tf.pow(x, 1 / 3) (the cube root) rounds differently in the GPU backends\' shaders';
const MATMUL = "matMul accumulates in another order; Newton-Schulz's five iterations (odd polynomials) amplify it";
const DOTS =
  'inner products are summed per leaf on the device (another order on the GPU), then in float64; ' +
  "the two-loop recursion and the line search's step sizes amplify the difference";

/**
 * The cases that are not bit for bit equal to Node on a backend: everything else must match
 * exactly (SwiftShader computes in exact IEEE float32, so elementwise math, sqrt and division
 * included, agrees to the bit). Each bound is the worst difference measured here (Chromium 156,
 * tfjs 4.22), doubled and rounded up to a power of two, for another SwiftShader build.
 */
const CASE_TOLERANCES: Record<string, Partial<Record<BackendId, CaseTolerance>>> = {
  centralize: { webgpu: { ulps: 8, measured: '4 ulps', why: REDUCTION } },
  // optax contrib, composite (global norms and sums, a cube root as tf.pow): tf ops on the GPU.
  scaleByMadgrad: { webgl: { ulps: 64, measured: '32 ulps', why: POW }, webgpu: { ulps: 64, measured: '32 ulps', why: POW } },
  madgrad: { webgl: { ulps: 2, measured: '1 ulp', why: POW }, webgpu: { ulps: 2, measured: '1 ulp', why: POW } },
  scaleByDog: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  dog: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  scaleByDowg: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION }, webgpu: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  dowg: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION }, webgpu: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  dadaptAdamw: { webgl: { ulps: 8, measured: '4 ulps', why: REDUCTION }, webgpu: { ulps: 16, measured: '8 ulps', why: REDUCTION } },
  mechanize: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION }, webgpu: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  scaleByTrustRatio: { webgl: { ulps: 32, measured: '16 ulps', why: REDUCTION }, webgpu: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  scaleByNovograd: { webgpu: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  novograd: { webgpu: { ulps: 16, measured: '6 ulps', why: REDUCTION } },
  clipByBlockRms: { webgpu: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  adaptiveGradClip: { webgpu: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  scaleByParamBlockNorm: { webgl: { ulps: 8, measured: '3 ulps', why: REDUCTION }, webgpu: { ulps: 8, measured: '3 ulps', why: REDUCTION } },
  scaleByParamBlockRms: { webgpu: { ulps: 16, measured: '6 ulps', why: REDUCTION } },
  scaleByFactoredRms: { webgl: { ulps: 8, measured: '3 ulps', why: REDUCTION }, webgpu: { ulps: 64, measured: '32 ulps', why: REDUCTION } },
  'adafactor momentum, weightDecay, factored': {
    webgl: { ulps: 64, measured: '32 ulps', why: REDUCTION },
    webgpu: { ulps: 32, measured: '16 ulps', why: REDUCTION },
  },
  lars: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION }, webgpu: { ulps: 128, measured: '64 ulps (relative 4.5e-6)', why: REDUCTION } },
  fromage: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  prodigy: { webgl: { ulps: 4, measured: '2 ulps', why: REDUCTION } },
  scaleByMuon: { webgpu: { ulps: 1024, measured: '320 ulps (relative 2.0e-5)', why: MATMUL } },
  muon: { webgpu: { ulps: 256, measured: '118 ulps (relative 8.1e-6)', why: MATMUL } },
  'muon adaptive, consistentRms, dion': {
    webgl: { ulps: 8, measured: '3 ulps', why: MATMUL },
    webgpu: { relative: 4e-4, measured: '2135 ulps, relative 1.5e-4', why: MATMUL },
  },
  // Measured on SwiftShader (webgpu's sync reads are broken there, so these cases are blocked on it).
  'soap precondition1d, normalizeGrads, mergeDims': { webgl: { ulps: 8, measured: '3 ulps (relative 2.4e-7)', why: MATMUL } },
  psgdKron: { webgl: { ulps: 16, measured: '8 ulps (relative 6.1e-7)', why: MATMUL } },
  'psgdKron oneDiag, raw gradients, every other step': { webgl: { ulps: 8, measured: '3 ulps (relative 2.7e-7)', why: MATMUL } },
  scaleByZoomLinesearch: { webgl: { ulps: 2, measured: '1 ulp (the loss)', why: DOTS } },
  scaleByBacktrackingLinesearch: { webgl: { ulps: 2, measured: '1 ulp (the loss)', why: DOTS } },
  scaleByLbfgs: { webgl: { relative: 4e-5, measured: '192 ulps, relative 1.8e-5 (float64 dots too)', why: DOTS } },
  lbfgs: { webgl: { relative: 2e-4, measured: '1024 ulps, relative 9.6e-5 (float64 dots too)', why: DOTS } },
  momo: { webgl: { relative: 2e-7, measured: 'relative 7.1e-8 (a float64 average of the dots)', why: DOTS } },
  momoAdam: { webgl: { relative: 4e-6, measured: '14 ulps, relative 1.4e-6 (float64 dots too)', why: DOTS } },
  scaleByGalore: { webgpu: { ulps: 32, measured: '16 ulps', why: 'matMul accumulates in another order (the projections)' } },
  'layers fit': {
    webgl: { ulps: 16, measured: '6 ulps', why: 'matMul and its gradients accumulate in another order; tanh is another approximation' },
    webgpu: { ulps: 64, measured: '20 ulps', why: 'matMul and its gradients accumulate in another order; tanh is another approximation' },
  },
};

/**
 * Cases whose update reads a tensor back synchronously (`dataSync`): a finiteness probe, a norm
 * or a loss on the JS side. tfjs-backend-webgpu reads synchronously by drawing a WebGPU canvas
 * into a 2D canvas; in headless Chromium on SwiftShader that gives zeros and destroys the device
 * (probed at the start of the webgpu run). Where the probe finds the read broken, these cases
 * are run with such reads blocked and must fail with the block and nothing else; where it works,
 * they run and compare like the rest.
 */
const WEBGPU_SYNC_READ_CASES = new Set<string>([
  'scaleByPolyak', 'polyakSgd', // the squared gradient norm
  'scaleByLbfgs', 'lbfgs', 'scaleByZoomLinesearch', 'scaleByBacktrackingLinesearch', // inner products, losses
  'applyIfFinite(chain(clipByGlobalNorm, adam))', 'applyIfFinite(multiSteps(namedChain))', // the finiteness probe
  'soap', 'soap precondition1d, normalizeGrads, mergeDims', 'scaleBySoap', // the factors, for the eigenbases
  'psgdKron', 'psgdKron oneDiag, raw gradients, every other step', 'scaleByKron', // the triangular factors, to invert
  'momo', 'momoAdam', 'galore', // momo's inner products; galore's gradient at a projector refresh (transposed on the GPU)
]);

const TRAINING_STEPS = 300;

/**
 * The cases whose checkpoints the GPU backends save and resume (wasm, plain and isolated, does all
 * of them): every kind of state (moments, factored and per-leaf statistics, JS-number counters
 * and hyperparameters, wrapper accumulators, slow weights, RNG step counts), in a third of the
 * time. The checkpoint format does not depend on the backend; reading and uploading do.
 */
const GPU_CHECKPOINT_CASES = [
  'sgd momentum', 'adam', 'adamw masked, scheduled', 'lion', 'adafactor momentum, weightDecay, factored', 'sm3',
  'muon', 'prodigy', 'novograd', 'rprop', 'asgd', 'ademamix', 'noisySgd', 'reduceOnPlateau', 'zeroNans',
  'scheduleFreeAdamw', 'chain(clipByGlobalNorm, adamw warmup cosine)', 'injectHyperparams(adamw)',
  'namedChain(clipByGlobalNorm, adamw)', 'multiSteps(adam)', 'lookahead(sgd momentum)',
  'applyIfFinite(multiSteps(namedChain))', 'partition(lookahead(flatten(adam)), sgd)', 'lbfgs',
];

// ---------------------------------------------------------------------------------------------
// Node's side: the same scenarios on the wasm backend, with the fused kernels ('auto') and
// without ('composite'); a backend is compared with the one that runs its implementation.

let lib: Lib;
/**
 * The cases whose fused kernel has a generated form (webgpu and webgl run only those): asked of the built
 * library's transformations through src's check, which reads the same registered symbols.
 */
const generated = new Set<string>();
const reference: Record<'auto' | 'composite', { cases: Map<string, CaseResult>; layers: LayersResult }> = {} as never;
let browser: Browser;
let servers: { plain: StaticServer; isolated: StaticServer };
/** Per backend and case: the worst difference from Node, for the summary printed at the end. */
const measured: Array<{ backend: BackendId; name: string } & ReturnType<typeof worst>> = [];
const started = Date.now();

beforeAll(async () => {
  const root = await buildPage();
  lib = (await import(pathToFileURL(DIST).href)) as Lib;
  await tf.setBackend('wasm');
  await tf.ready();
  for (const mode of ['auto', 'composite'] as const) {
    lib.setKernelMode(mode);
    const cases = await runCases(tf, lib);
    reference[mode] = { cases: new Map(cases.map((c) => [c.name, c])), layers: await fitLayers(tf, lib) };
  }
  lib.setKernelMode('auto');
  for (const c of CASES) if (runsFused(c.make(lib), true)) generated.add(c.name);
  servers = { plain: await serveStatic(root), isolated: await serveStatic(root, { crossOriginIsolated: true }) };
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await servers?.plain.close();
  await servers?.isolated.close();
  const notBitwise = measured.filter((m) => m.count > 0);
  const stale = measured.filter((m) => m.count === 0 && CASE_TOLERANCES[m.name]?.[m.backend] !== undefined);
  if (stale.length > 0) console.log(`tolerances no longer needed (bitwise now): ${stale.map((m) => `${m.backend} ${m.name}`).join(', ')}`);
  console.log(
    `browser suite: ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `${notBitwise.length === 0 ? 'every case bitwise equal to Node' : 'not bitwise:\n' + notBitwise.map((m) => `  ${m.backend} ${m.name}: ${m.count} elements, max ${m.ulps} ulps${m.float32Only ? '' : ' (and float64 numbers)'}, relative ${m.relative.toExponential(2)}`).join('\n')}`,
  );
});

describe('the case list', () => {
  it('has every exported transformation, optimizer and wrapper, each name once', async () => {
    const api = (await import(pathToFileURL(DIST).href)) as Record<string, unknown>;
    const covered = new Set(CASES.map((c) => c.name.split(/[ (]/)[0]));
    // Every export but those the property registry names as no transformation, optimizer or wrapper.
    const missing = Object.keys(api).filter((name) => !covered.has(name) && !OTHER_EXPORTS.has(name));
    expect(missing, 'exports without a case in test/browser/scenarios.ts').toEqual([]);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    const unknown = [...Object.keys(CASE_TOLERANCES), ...WEBGPU_SYNC_READ_CASES, ...GPU_CHECKPOINT_CASES]
      .filter((n) => n !== 'layers fit' && !CASES.some((c) => c.name === n));
    expect(unknown, 'tolerances or exceptions for cases that do not exist').toEqual([]);
  });

  it('runs in Node without errors or leaks, and the fused kernels run on Node wasm', () => {
    for (const mode of ['auto', 'composite'] as const) {
      for (const r of reference[mode].cases.values()) {
        expect(r.error, `${r.name} (${mode}) in Node`).toBeUndefined();
        expect(r.leaked, `${r.name} (${mode}) leaked tensors in Node`).toBe(0);
      }
    }
    const fused = [...reference.auto.cases.values()].filter((r) => r.path === 'wasm-simd').map((r) => r.name);
    console.log(`Node wasm: ${reference.auto.cases.size} cases, ${fused.length} on the fused kernels: ${fused.join(', ')}`);
    expect(fused.length).toBeGreaterThan(10);
  });
});

// ---------------------------------------------------------------------------------------------
// The browser's side.

interface Session {
  context: BrowserContext;
  page: Page;
  errors: ReturnType<typeof watchErrors>;
  info: BackendInfo;
  syncRead?: Awaited<ReturnType<OptaxPage['probeSyncRead']>>;
  cases: Map<string, CaseResult>;
  training: TrainingResult[];
  layers: LayersResult;
}

/** Calls `optaxPage[name](...args)` in the page. */
function call<K extends keyof OptaxPage>(page: Page, name: K, ...args: Parameters<OptaxPage[K]>): Promise<Awaited<ReturnType<OptaxPage[K]>>> {
  return page.evaluate(
    ([n, a]) => ((globalThis as unknown as { optaxPage: Record<string, (...x: unknown[]) => unknown> }).optaxPage[n as string](...(a as unknown[]))),
    [name, args] as const,
  ) as never;
}

async function openPage(context: BrowserContext, url: string): Promise<{ page: Page; errors: ReturnType<typeof watchErrors> }> {
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(url);
  await page.waitForFunction(() => 'optaxPage' in globalThis, null, { timeout: 30_000 });
  errors.check();
  return { page, errors };
}

/** The path a case must report on a backend, from the one it took in Node on wasm. */
function expectedPath(spec: BackendSpec, r: CaseResult): string {
  if (r.path !== 'wasm-simd') return 'composite';
  return spec.fusedPath !== 'wasm-simd' && !generated.has(r.name) ? 'composite' : spec.fusedPath;
}

describe.each(BACKENDS)('$id in Chromium', (spec) => {
  let s: Session;
  const url = () => `${(spec.crossOriginIsolated ? servers.isolated : servers.plain).url}/`;
  const blockSyncReads = () => spec.backend === 'webgpu' && s?.syncRead?.works === false;

  beforeAll(async () => {
    const context = await browser.newContext();
    let syncRead: Session['syncRead'];
    if (spec.backend === 'webgpu') {
      // A throwaway page: where the synchronous read is broken, it destroys the page's device.
      const probe = await openPage(context, url());
      syncRead = await call(probe.page, 'probeSyncRead', 'webgpu');
      await probe.page.close();
    }
    const t0 = Date.now();
    const { page, errors } = await openPage(context, url());
    const info = await call(page, 'setBackend', spec.backend, { blockSyncReads: syncRead?.works === false });
    const t1 = Date.now();
    const cases = new Map((await call(page, 'runCases')).map((c) => [c.name, c]));
    const t2 = Date.now();
    const training: TrainingResult[] = [];
    for (const [name] of TRAINING) training.push(await call(page, 'train', name, TRAINING_STEPS));
    const t3 = Date.now();
    const layers = await call(page, 'fitLayers');
    s = { context, page, errors, info, syncRead, cases, training, layers };
    console.log(
      `${spec.id}: page and backend ${t1 - t0} ms, ${cases.size} cases ${t2 - t1} ms, training ${t3 - t2} ms, layers ${Date.now() - t3} ms` +
        (syncRead ? `; synchronous read ${syncRead.works ? 'works' : `broken (got [${syncRead.got.join(', ')}], device ${syncRead.lost})`}` : ''),
    );
  });

  afterAll(async () => {
    await s?.context.close();
  });

  it('loads the built bundle and sets the backend', () => {
    const where = `${spec.id}: ${JSON.stringify(s.info)}`;
    expect(s.info.backend, where).toBe(spec.backend);
    expect(s.info.crossOriginIsolated, where).toBe(spec.crossOriginIsolated);
    expect(s.info.version, where).toBe((lib as unknown as { VERSION: string }).VERSION);
    if (spec.backend === 'wasm') {
      expect(s.info.simd, where).toBe(true);
      // Cross-origin isolation is what lets tfjs take its threaded build.
      expect(s.info.multithread, where).toBe(spec.crossOriginIsolated);
      expect(s.info.wasmFiles, where).toEqual([spec.crossOriginIsolated ? 'tfjs-backend-wasm-threaded-simd.wasm' : 'tfjs-backend-wasm-simd.wasm']);
    }
    s.errors.check();
  });

  it(`kernelPath: '${spec.fusedPath}' where Node wasm runs a fused kernel, 'composite' elsewhere`, () => {
    const wrong = [...reference.auto.cases.values()]
      .map((r) => ({ name: r.name, expected: expectedPath(spec, r), got: s.cases.get(r.name)?.path }))
      .filter((r) => r.got !== r.expected);
    expect(wrong, `${spec.id}: cases whose kernelPath is not the expected one`).toEqual([]);
    expect(s.training.map((t) => t.path), `${spec.id}: training`).toEqual(s.training.map(() => spec.fusedPath));
  });

  it.each(TRAINING.map(([name]) => name))(`a regression trained with %s for ${TRAINING_STEPS} steps: the loss falls 100-fold, numTensors stays flat`, (name) => {
    const t = s.training.find((x) => x.optimizer === name)!;
    const where = `${spec.id} ${name}: losses ${t.losses.map((l) => l.toPrecision(3)).join(', ')}; ${t.msPerStep.toFixed(2)} ms/step`;
    console.log(where);
    expect(t.losses.every(Number.isFinite), where).toBe(true);
    expect(t.losses[t.losses.length - 1], where).toBeLessThan(0.01 * t.losses[0]);
    expect(t.tensorsAfterLast, `${where}: tensors after step 1 vs after step ${TRAINING_STEPS}`).toBe(t.tensorsAfterFirst);
    expect(t.leaked, where).toBe(0);
  });

  it.for(CASES.map((c) => c.name))(`%s: ${STEPS} steps equal Node on wasm, and leak nothing`, (name, ctx) => {
    const got = s.cases.get(name)!;
    const where = `${spec.id}, ${name}`;
    if (blockSyncReads() && WEBGPU_SYNC_READ_CASES.has(name)) {
      expect(got.error, `${where}: expected to need a synchronous read`).toContain('synchronous read blocked');
      ctx.skip();
    }
    expect(got.error, `${where} threw in the browser`).toBeUndefined();
    const mode = spec.fusedPath === 'wasm-simd' ? 'auto' : 'composite';
    const ref = reference[mode].cases.get(name)!;
    const diffs: Diff[] = [];
    for (let k = 0; k < STEPS; k++) diffs.push(...diffLeaves(ref.updates[k], got.updates[k], `step ${k} updates`));
    diffs.push(...diffLeaves(ref.params, got.params, `params after ${STEPS} steps`));
    diffs.push(...diffLeaves(ref.state, got.state, `state after ${STEPS} steps`));
    measured.push({ backend: spec.id, name, ...worst(diffs) });
    const own = CASE_TOLERANCES[name]?.[spec.id];
    const tolerance = widest(TOLERANCE, { ulps: own?.ulps, relative: own?.relative });
    const outside = diffs.filter((d) => !within(d, tolerance));
    if (outside.length > 0) {
      const w = worst(diffs);
      throw new Error(
        `${where}: ${outside.length} of ${diffs.length} differing elements outside ${describeTolerance(tolerance)}` +
          `${own ? ` (this case's own: measured ${own.measured}; ${own.why})` : ''} ` +
          `(Node wasm, kernel mode '${mode}', vs Chromium; max ${w.ulps} ulps, relative ${w.relative.toExponential(2)}):\n${formatDiffs(outside)}`,
      );
    }
    expect(got.strays, `${where}: tensors alive beyond those params and state hold, after each step`).toEqual(got.strays.map(() => 0));
    expect(got.leaked, `${where}: tensors left after disposing everything`).toBe(0);
  });

  it.runIf(spec.fusedPath !== 'wasm-simd')(
    `the ${spec.fusedPath === 'webgpu' ? 'WGSL' : 'GLSL'} kernels equal the composite path here, bit for bit, NaN and Infinity included (update, and trainStep in place)`,
    async () => {
      const names = [...s.cases.values()]
        .filter((c) => c.path === spec.fusedPath && !(blockSyncReads() && WEBGPU_SYNC_READ_CASES.has(c.name)))
        .map((c) => c.name);
      expect(names.length).toBeGreaterThan(20);
      const r = await call(s.page, 'fusedAndComposite', names);
      const problems: string[] = [];
      names.forEach((name, i) => {
        const [c, f] = [r.composite.cases[i], r.auto.cases[i]];
        const [ct, ft] = [r.composite.trainSteps[i], r.auto.trainSteps[i]];
        for (const x of [c, f, ct, ft]) {
          if (x.error !== undefined || x.leaked !== 0) problems.push(`${name}: ${x.error ?? `${x.leaked} tensors leaked`}`);
        }
        if (f.path !== spec.fusedPath || c.path !== 'composite') problems.push(`${name}: paths ${f.path} (auto), ${c.path} (composite)`);
        const diffs: Diff[] = [];
        for (let k = 0; k < STEPS; k++) diffs.push(...diffLeaves(c.updates[k], f.updates[k], `step ${k} updates`));
        diffs.push(...diffLeaves(c.params, f.params, 'params'), ...diffLeaves(c.state, f.state, 'state'));
        diffs.push(...diffLeaves(ct.leaves, ft.leaves, 'trainStep'));
        const outside = diffs.filter((d) => !within(d, TOLERANCE));
        if (outside.length > 0) problems.push(`${name}, fused vs composite:\n${formatDiffs(outside, 4)}`);
      });
      // Something non-finite reached the kernels: NaN bits in the params of the fused runs.
      const nans = r.auto.trainSteps.filter((t) => t.leaves.some((l) => l.kind === 'f32' && l.data.some((b) => (b & 0x7fffffff) > 0x7f800000)));
      expect(nans.length, 'cases whose trainStep params hold a NaN').toBeGreaterThan(names.length / 2);
      expect(problems, `${spec.id}: fused vs composite`).toEqual([]);
      s.errors.check();
    },
  );

  it('a layers model compiled with toTfOptimizer: two epochs of fit equal Node', () => {
    const mode = spec.fusedPath === 'wasm-simd' ? 'auto' : 'composite';
    const ref = reference[mode].layers;
    expect(s.layers.iterations).toBe(ref.iterations);
    expect(s.layers.leaked, `${spec.id}: tensors left by fit`).toBe(0);
    const diffs = diffLeaves(ref.weights, s.layers.weights, 'weights');
    measured.push({ backend: spec.id, name: 'layers fit', ...worst(diffs) });
    const own = CASE_TOLERANCES['layers fit']?.[spec.id];
    const tolerance = widest(TOLERANCE, { ulps: own?.ulps, relative: own?.relative });
    const outside = diffs.filter((d) => !within(d, tolerance));
    expect(outside, `${spec.id}: layers weights outside ${describeTolerance(tolerance)}:\n${formatDiffs(outside)}`).toEqual([]);
  });

  it('checkpoints: saved to IndexedDB, loaded after a page reload, resume exactly', async () => {
    const t0 = Date.now();
    const prefix = `optax-${spec.id}`;
    const names = CASES.map((c) => c.name)
      .filter((n) => spec.backend === 'wasm' || GPU_CHECKPOINT_CASES.includes(n))
      .filter((n) => !(blockSyncReads() && WEBGPU_SYNC_READ_CASES.has(n)));
    const straight: CheckpointResult[] = await call(s.page, 'checkpointSave', prefix, names);
    // A reload: a fresh engine, backend and library; only IndexedDB keeps the checkpoints.
    await s.page.reload();
    await s.page.waitForFunction(() => 'optaxPage' in globalThis, null, { timeout: 30_000 });
    await call(s.page, 'setBackend', spec.backend, { blockSyncReads: blockSyncReads() });
    expect(await call(s.page, 'numTensors'), `${spec.id}: tensors alive after the reload`).toBe(0);
    const resumed: CheckpointResult[] = await call(s.page, 'checkpointResume', prefix, names);
    const problems: string[] = [];
    straight.forEach((a, i) => {
      const b = resumed[i];
      if (a.error || b.error) problems.push(`${a.name}: ${a.error ?? ''} ${b.error ?? ''}`);
      else {
        const diffs = diffLeaves(a.leaves, b.leaves, a.name);
        if (diffs.length > 0) problems.push(formatDiffs(diffs, 3));
      }
    });
    console.log(`${spec.id}: ${names.length} checkpoints saved, reloaded and resumed in ${Date.now() - t0} ms`);
    expect(problems, `${spec.id}: resumed runs that differ from the uninterrupted ones`).toEqual([]);
    expect(resumed.map((r) => r.name)).toEqual(names);
    s.errors.check();
  });
});
