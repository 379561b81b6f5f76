// Benchmarks one Adam step in headless Chromium (Debian's chromium through playwright-core, as
// the browser suite runs it) on webgpu, wasm and webgl: tf.train.adam, the library's composite
// tf ops, its fused kernels through tx.update + applyUpdates, and trainStep, on trees (a)-(c) of
// bench.ts; ms per step (medians of interleaved blocks, each ending when the GPU has finished),
// ratios against tf.train.adam, and GPU commands per leaf (WebGPU dispatches, WebGL draws).
// WebGPU and WebGL run on SwiftShader here, a CPU rasterizer: compare ratios and command counts,
// not milliseconds.
//
//   npm run bench:browser                       webgpu, wasm and webgl, trees a, b and c
//   npm run bench:browser -- --backend webgpu --tree b,c --reps 5
//   npm run bench:browser -- --backend webgpu --state-dtype int8   the library's Adam with int8 moments
//   npm run bench:browser -- --save             writes bench/results/browser.md (full runs only)
//   npm run bench:browser -- --backend webgpu --dtypes   trainStep with float32, bfloat16 and int8
//                                               moments interleaved, ratios to float32 (prints only)
//
// Every run is written to bench/results/runs/ (not tracked by git).
import { build, type Plugin } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serveStatic, watchErrors } from '../test/browser/chromium.js';
import type { BenchPage, BrowserRow, DtypeRow } from './browser-page.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const PAGE = join(HERE, '.page');

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const BACKENDS = (option('backend') ?? 'webgpu,wasm,webgl').split(',');
const TREE_KEYS = (option('tree') ?? 'a,b,c').split(',');
const REPS = Number(option('reps') ?? 7);
/** Each timed block lasts about this long. */
const BLOCK_MS = Number(option('block-ms') ?? 150);
/** The library's Adam keeps its moments in this dtype (tf.train.adam is always float32). */
const STATE_DTYPE = (option('state-dtype') ?? 'float32') as 'float32' | 'bfloat16' | 'int8';

/** One copy of tfjs-core in the page, whoever imports it (two would be two engines). */
const oneCore: Plugin = {
  name: 'one-tfjs-core',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs-core(\/.*)?$/ }, async (a) => {
      if (a.pluginData === 'root') return undefined;
      const r = await b.resolve(a.path, { kind: a.kind, resolveDir: ROOT, pluginData: 'root' });
      return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, sideEffects: r.sideEffects };
    });
  },
};

async function buildPage(): Promise<void> {
  rmSync(PAGE, { recursive: true, force: true });
  mkdirSync(join(PAGE, 'wasm'), { recursive: true });
  await build({
    entryPoints: [join(HERE, 'browser-page.ts')],
    outfile: join(PAGE, 'bench.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [oneCore],
  });
  writeFileSync(join(PAGE, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./bench.js"></script>tfjs-optax browser bench');
  const wasm = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of readdirSync(wasm).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(wasm, f), join(PAGE, 'wasm', f));
}

const ms = (x: number) => x.toFixed(2);
const times = (x: number) => `${x.toFixed(1)}x`;
const perLeaf = (row: BrowserRow, v: keyof BrowserRow['ms']) => (row.commandsPerLeaf === null ? '—' : String(Math.round(row.commandsPerLeaf[v] * 100) / 100));

async function main(): Promise<void> {
  await buildPage();
  const server = await serveStatic(PAGE);
  // 'wasm-isolated': the wasm backend in a cross-origin-isolated page (tfjs's threaded build).
  const isolated = BACKENDS.includes('wasm-isolated') ? await serveStatic(PAGE, { crossOriginIsolated: true }) : null;
  const browser = await launchChromium();
  const rows: BrowserRow[] = [];
  let version = '';
  if (args.includes('--dtypes')) {
    try {
      for (const backend of BACKENDS) {
        const page = await browser.newPage();
        const errors = watchErrors(page);
        await page.goto(`${server.url}/`);
        await page.waitForFunction(() => 'benchPage' in globalThis, null, { timeout: 30_000 });
        const got = (await page.evaluate(
          ([b, t, r, m]) => (globalThis as unknown as { benchPage: BenchPage }).benchPage.dtypes(b as string, t as string[], r as number, m as number),
          [backend, TREE_KEYS, REPS, BLOCK_MS] as const,
        )) as DtypeRow[];
        errors.check();
        console.log(`| backend | tree | float32 ms | bfloat16 ms | int8 ms | bfloat16 / float32 | int8 / float32 | dispatches per leaf (f32, bf16, int8) |\n|---|---|---:|---:|---:|---:|---:|---|`);
        for (const row of got) {
          const d = ['float32', 'bfloat16', 'int8'];
          console.log(
            `| ${backend} | ${row.tree} | ${d.map((k) => ms(row.ms[k])).join(' | ')} | ${times(row.ratio.bfloat16)} | ${times(row.ratio.int8)} | ` +
              `${d.map((k) => Math.round(row.commandsPerLeaf[k] * 100) / 100).join(', ')} |`,
          );
        }
        await page.close();
      }
    } finally {
      await browser.close();
      await server.close();
      await isolated?.close();
    }
    return;
  }
  try {
    for (const backend of BACKENDS) {
      // A fresh page per backend: nothing of another backend's buffers or pipelines in the way.
      const page = await browser.newPage();
      const errors = watchErrors(page);
      await page.goto(`${(backend === 'wasm-isolated' ? isolated! : server).url}/`);
      await page.waitForFunction(() => 'benchPage' in globalThis, null, { timeout: 30_000 });
      const got = (await page.evaluate(
        ([b, t, r, m, d]) => (globalThis as unknown as { benchPage: BenchPage }).benchPage.run(b as string, t as string[], r as number, m as number, d as typeof STATE_DTYPE),
        [backend === 'wasm-isolated' ? 'wasm' : backend, TREE_KEYS, REPS, BLOCK_MS, STATE_DTYPE] as const,
      )) as BrowserRow[];
      if (backend === 'wasm-isolated') for (const row of got) row.backend = 'wasm, isolated';
      version = (await page.evaluate(() => (globalThis as unknown as { benchPage: BenchPage }).benchPage.version())) as string;
      errors.check();
      for (const row of got) {
        rows.push(row);
        console.log(
          `${row.backend.padEnd(7)} ${row.tree.padEnd(22)} ${row.path.padEnd(10)} tf.train ${ms(row.ms.tfTrain).padStart(8)} ms  composite ${ms(row.ms.composite).padStart(8)}` +
            `  fused update ${ms(row.ms.fusedUpdate).padStart(7)}  fused step ${ms(row.ms.fusedStep).padStart(7)} ms  ${times(row.speedup.fusedStep).padStart(6)}` +
            `  commands/leaf ${perLeaf(row, 'tfTrain')}, ${perLeaf(row, 'composite')}, ${perLeaf(row, 'fusedUpdate')}, ${perLeaf(row, 'fusedStep')}`,
        );
      }
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
    await isolated?.close();
  }
  const header =
    '| backend | tree | kernelPath | tf.train ms | composite ms | fused update ms | fused step ms | tf.train / composite | tf.train / fused update | tf.train / fused step | GPU commands per leaf (tf.train, composite, fused update, fused step) |\n' +
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n';
  const body = rows
    .map(
      (r) =>
        `| ${r.backend} | ${r.tree} | ${r.path} | ${ms(r.ms.tfTrain)} | ${ms(r.ms.composite)} | ${ms(r.ms.fusedUpdate)} | ${ms(r.ms.fusedStep)} | ` +
        `${times(r.speedup.composite)} | ${times(r.speedup.fusedUpdate)} | ${times(r.speedup.fusedStep)} | ` +
        `${(['tfTrain', 'composite', 'fusedUpdate', 'fusedStep'] as const).map((v) => perLeaf(r, v)).join(', ')} |`,
    )
    .join('\n');
  const note =
    `\nAdam (lr 1e-3, eps 1e-7${STATE_DTYPE === 'float32' ? '' : `, the library's moments in ${STATE_DTYPE}`}) in headless Chromium (tfjs ${version}); webgpu and webgl on SwiftShader, a CPU rasterizer: ` +
    `compare ratios and command counts, not milliseconds. Times are medians of ${REPS} interleaved repetitions of blocks of about ` +
    `${BLOCK_MS} ms, each ended by a read that waits for the GPU; ratios are medians of per-repetition ratios. GPU commands are ` +
    `WebGPU dispatches and WebGL draw calls recorded during one step (uploads and copies not counted).\n`;
  const filtered = Boolean(option('backend') || option('tree') || option('reps') || option('state-dtype'));
  if (args.includes('--save') && filtered) throw new Error('--save keeps full runs only: drop --backend, --tree and --reps');
  const results = join(HERE, 'results');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const [dir, file] = args.includes('--save') ? [results, 'browser'] : [join(results, 'runs'), `browser-${stamp}${filtered ? '-partial' : ''}`];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${file}.md`), header + body + '\n' + note);
  writeFileSync(join(dir, `${file}.json`), JSON.stringify({ date: new Date().toISOString(), tfjs: version, reps: REPS, rows }, null, 2));
  console.log(`\n${header}${body}\n${note}\nwrote ${join('bench', 'results', dir === results ? '' : 'runs', file)}.md and .json`);
}

await main();
