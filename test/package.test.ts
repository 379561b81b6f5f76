import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Packs the built library, installs the tarball into an empty folder as a user would, and
// imports it from there with ESM and CJS, type-checking both. Needs `npm run build` first
// (`npm test` runs it). tfjs is linked from this repo rather than downloaded.

const ROOT = resolve(__dirname, '..');
let dir = '';

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-pack-'));
  sh('npm', ['pack', '--silent', '--pack-destination', dir], ROOT);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--legacy-peer-deps', '--no-package-lock', join(dir, tarball)], app);
  // The peer dependency, linked after the install (npm prunes what it did not install).
  mkdirSync(join(app, 'node_modules', '@tensorflow'), { recursive: true });
  for (const pkg of ['tfjs-core', 'tfjs-backend-cpu']) {
    symlinkSync(join(ROOT, 'node_modules', '@tensorflow', pkg), join(app, 'node_modules', '@tensorflow', pkg), 'dir');
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const PROGRAM = `
await tf.setBackend('cpu');
const params = { w: tf.tensor1d([1, -1]) };
const tx = chain(clipByGlobalNorm(1), adam(0.1));
const [u] = tx.update({ w: tf.tensor1d([3, 4]) }, tx.init(params), params);
console.log(JSON.stringify(Array.from(u.w.dataSync()).map((x) => Math.round(x * 1e4) / 1e4)));
`;

describe('the packed package', () => {
  it('contains dist, sources, README and LICENSE, and no tests', () => {
    const files = sh('tar', ['-tzf', join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!)], dir).split('\n');
    for (const f of ['package/dist/index.js', 'package/dist/index.cjs', 'package/dist/index.d.ts', 'package/dist/index.d.cts', 'package/README.md', 'package/LICENSE']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('package/test/'))).toBe(false);
  });

  it('imports as ESM', () => {
    const app = join(dir, 'app');
    writeFileSync(
      join(app, 'esm.mjs'),
      `import * as tf from '@tensorflow/tfjs-core';\nimport '@tensorflow/tfjs-backend-cpu';\nimport { adam, chain, clipByGlobalNorm } from 'tfjs-optax';\n${PROGRAM}`,
    );
    expect(sh('node', ['esm.mjs'], app).trim()).toBe('[-0.1,-0.1]');
  });

  it('requires as CJS', () => {
    const app = join(dir, 'app');
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const tf = require('@tensorflow/tfjs-core');\nrequire('@tensorflow/tfjs-backend-cpu');\nconst { adam, chain, clipByGlobalNorm } = require('tfjs-optax');\n(async () => {${PROGRAM}})();`,
    );
    expect(sh('node', ['cjs.cjs'], app).trim()).toBe('[-0.1,-0.1]');
  });

  it('resolves its types for ESM and CJS consumers', () => {
    const app = join(dir, 'app');
    const body = `
const params = { dense: { kernel: tf.zeros([2, 2]), bias: tf.zeros([2]) } };
const tx = adamw(warmupCosineDecaySchedule({ initValue: 0, peakValue: 1e-3, warmupSteps: 10, decaySteps: 100 }), { weightDecay: 0.01 });
const state: AdamwState = tx.init(params);
const [updates, next] = tx.update(params, state, params);
const out: typeof params = applyUpdates(params, updates);
const count: number = next[0].count;
void out; void count;
`;
    writeFileSync(join(app, 'types.mts'), `import * as tf from '@tensorflow/tfjs-core';\nimport { adamw, applyUpdates, warmupCosineDecaySchedule, type AdamwState } from 'tfjs-optax';\n${body}`);
    writeFileSync(join(app, 'types.cts'), `import tf = require('@tensorflow/tfjs-core');\nimport { adamw, applyUpdates, warmupCosineDecaySchedule, type AdamwState } from 'tfjs-optax';\n${body}`);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const common = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    expect(() => sh('node', [tsc, ...common, 'types.mts'], app)).not.toThrow();
    expect(() => sh('node', [tsc, ...common, 'types.cts'], app)).not.toThrow();
    // A wrong option is a compile-time error.
    writeFileSync(join(app, 'wrong.mts'), `import { adam } from 'tfjs-optax';\nadam(0.1, { beta1: 0.9 });\n`);
    let output = '';
    try {
      sh('node', [tsc, ...common, 'wrong.mts'], app);
    } catch (e) {
      output = String((e as { stdout?: string }).stdout);
    }
    expect(output).toMatch(/'beta1' does not exist in type 'ScaleByAdamOptions'/);
  });
});
