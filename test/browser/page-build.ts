// Builds the page the browser suite serves, into test/browser/.page/ (gitignored):
//   index.html, page.js (esbuild bundle of page/entry.ts), wasm/*.wasm (tfjs's wasm binaries),
//   and programs.html, programs.js (page/programs.ts: the WebGPU kernels from src/, internal).
// esbuild rather than Vite: one call, no config file, and its metafile lets us check that the
// bundle holds exactly one tfjs-core (BROWSER.md: a second copy means a second engine, and the
// library would see no backend). The library comes in as the BUILT bundle dist/index.js, never
// src/, so the suite tests what npm publishes; `npm run test:browser` builds it first.
import { build, type Plugin } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

export const ROOT = resolve(HERE, '..', '..');
export const DIST = join(ROOT, 'dist', 'index.js');
export const PAGE_DIR = join(HERE, '.page');
const WASM_DIR = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');

/**
 * Resolves `tfjs-optax` to dist/index.js, and every `@tensorflow/tfjs-core` import (bare or a
 * subpath) from the project root, whoever imports it, so there is one copy in the bundle.
 */
const onePackagePlugin: Plugin = {
  name: 'tfjs-optax-page',
  setup(b) {
    b.onResolve({ filter: /^tfjs-optax$/ }, () => ({ path: DIST }));
    b.onResolve({ filter: /^@tensorflow\/tfjs-core(\/.*)?$/ }, async (args) => {
      if (args.pluginData === 'from-root') return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: ROOT, pluginData: 'from-root' });
      return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, sideEffects: r.sideEffects };
    });
  },
};

/** Builds the page (about a second) and returns the folder to serve. */
export async function buildPage(): Promise<string> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm run test:browser does)`);
  const built = statSync(DIST).mtimeMs;
  const newer = readdirSync(join(ROOT, 'src'), { recursive: true })
    .map((f) => join(ROOT, 'src', String(f)))
    .filter((f) => statSync(f).isFile() && statSync(f).mtimeMs > built);
  if (newer.length > 0) {
    console.warn(`browser suite: src/ has files newer than dist/index.js (${newer.slice(0, 3).join(', ')}); the page tests the old build`);
  }
  rmSync(PAGE_DIR, { recursive: true, force: true });
  mkdirSync(join(PAGE_DIR, 'wasm'), { recursive: true });
  const result = await build({
    entryPoints: { page: join(HERE, 'page', 'entry.ts'), programs: join(HERE, 'page', 'programs.ts') },
    outdir: PAGE_DIR,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [onePackagePlugin],
  });
  const cores = new Set(
    Object.keys(result.metafile.inputs)
      .filter((f) => f.endsWith('tfjs-core/dist/engine.js'))
      .map((f) => dirname(f)),
  );
  if (cores.size !== 1) throw new Error(`the page bundle holds ${cores.size} copies of tfjs-core: ${[...cores].join(', ')}`);
  if (!Object.keys(result.metafile.inputs).some((f) => resolve(ROOT, f) === DIST)) {
    throw new Error('the page bundle does not contain dist/index.js');
  }
  copyFileSync(join(HERE, 'page', 'index.html'), join(PAGE_DIR, 'index.html'));
  copyFileSync(join(HERE, 'page', 'programs.html'), join(PAGE_DIR, 'programs.html'));
  for (const f of readdirSync(WASM_DIR).filter((name) => name.endsWith('.wasm'))) copyFileSync(join(WASM_DIR, f), join(PAGE_DIR, 'wasm', f));
  return PAGE_DIR;
}
