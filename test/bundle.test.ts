import { build } from 'esbuild';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// What an app's bundle takes from the built library when it imports a little of it: esbuild
// bundles small entry files against dist/index.js (minified, tfjs external) and the sizes are
// checked. The embedded WebAssembly module (base64 of '\0asm' starts 'AGFzbQ') must stay out of
// bundles that use no optimizer with a fused kernel. Needs `npm run build` first.

const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist', 'index.js');
const dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(name: string, code: string): Promise<string> {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` first');
  const entry = join(dir, `${name}.mjs`);
  writeFileSync(entry, code.replaceAll('LIB', JSON.stringify(DIST)));
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'],
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

const WASM = 'AGFzbQ';

describe('bundle sizes (esbuild, minified, tfjs external)', () => {
  it('a schedule alone, sgd alone and everything', async () => {
    const schedule = await bundle('schedule', `import { cosineDecaySchedule } from LIB;\nconsole.log(cosineDecaySchedule({ initValue: 1, decaySteps: 10 })(3));`);
    const sgd = await bundle('sgd', `import { sgd } from LIB;\nconsole.log(sgd(0.1));`);
    const all = await bundle('all', `import * as all from LIB;\nconsole.log(all);`);
    console.log(`bundle bytes: schedule alone ${schedule.length}, sgd alone ${sgd.length}, everything ${all.length}`);
    expect(schedule).not.toContain(WASM);
    expect(all).toContain(WASM);
    // sgd has a fused kernel, so it carries the module; the rest of the library it does not need.
    expect(sgd).toContain(WASM);
    expect(schedule.length).toBeLessThan(0.1 * all.length);
    expect(sgd.length).toBeLessThan(0.5 * all.length);
  });
});
