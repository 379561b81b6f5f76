import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/index.js';

// Installs the package as a user would, into empty folders, both ways that work before it is on
// the registry: the tarball of `npm pack`, and `npm install git+file://<this repo>` (npm clones
// the committed HEAD, installs its devDependencies and runs `prepare`, which builds dist/; in
// CI that is the commit under test, during development uncommitted changes are not in it).
// Then imports each with ESM and CJS and type-checks the tarball's types. Needs `npm run build`
// first (`npm test` runs it). Peer dependencies (tfjs) are linked from this repo, not fetched.

const ROOT = resolve(__dirname, '..');
let dir = '';
let tarball = '';
const apps = { tarball: '', git: '' };

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command to completion without blocking the event loop (so two installs overlap). */
function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${stderr}`))));
  });
}

function emptyApp(name: string): string {
  const app = join(dir, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `app-${name}`, version: '1.0.0', private: true }));
  return app;
}

function linkPeers(app: string): void {
  // npm prunes what it did not install, so the peers are linked after the install.
  mkdirSync(join(app, 'node_modules', '@tensorflow'), { recursive: true });
  for (const pkg of ['tfjs-core', 'tfjs-backend-cpu']) {
    symlinkSync(join(ROOT, 'node_modules', '@tensorflow', pkg), join(app, 'node_modules', '@tensorflow', pkg), 'dir');
  }
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-install-'));
  // --ignore-scripts: dist/ is built already, and prepare's rebuild would empty it under the other test files.
  sh('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], ROOT);
  const name = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!name) throw new Error('npm pack produced no tarball');
  tarball = join(dir, name);
  apps.tarball = emptyApp('from-tarball');
  apps.git = emptyApp('from-git');
  // No --ignore-scripts: installing must not run any script of ours on the user's machine.
  const common = ['install', '--no-audit', '--no-fund', '--legacy-peer-deps', '--no-package-lock', '--prefer-offline'];
  await Promise.all([run('npm', [...common, tarball], apps.tarball), run('npm', [...common, `git+${pathToFileURL(ROOT).href}`], apps.git)]);
  linkPeers(apps.tarball);
  linkPeers(apps.git);
}, 300_000);

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
  it('contains dist, sources, README, CHANGELOG and LICENSE, no tests, and no install-time script', () => {
    const files = sh('tar', ['-tzf', tarball], dir).split('\n');
    for (const f of ['package/dist/index.js', 'package/dist/index.cjs', 'package/dist/index.d.ts', 'package/dist/index.d.cts', 'package/README.md', 'package/ARCHITECTURE.md', 'package/CHANGELOG.md', 'package/LICENSE']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('package/test/'))).toBe(false);
    const manifest = JSON.parse(sh('tar', ['-xzOf', tarball, 'package/package.json'], dir));
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(manifest.scripts?.[hook], hook).toBeUndefined();
    expect(manifest.version).toBe(VERSION);
    expect(manifest.repository?.url).toMatch(/^git\+https:\/\//);
  });
});

describe.each(['tarball', 'git'] as const)('installed from the %s into an empty folder', (how) => {
  it('has a built dist/', () => {
    const pkg = join(apps[how], 'node_modules', 'tfjs-optax');
    for (const f of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) expect(existsSync(join(pkg, 'dist', f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version).toBe(VERSION);
  });

  it('imports as ESM', () => {
    writeFileSync(
      join(apps[how], 'esm.mjs'),
      `import * as tf from '@tensorflow/tfjs-core';\nimport '@tensorflow/tfjs-backend-cpu';\nimport { adam, chain, clipByGlobalNorm } from 'tfjs-optax';\n${PROGRAM}`,
    );
    expect(sh('node', ['esm.mjs'], apps[how]).trim()).toBe('[-0.1,-0.1]');
  });

  it('requires as CJS', () => {
    writeFileSync(
      join(apps[how], 'cjs.cjs'),
      `const tf = require('@tensorflow/tfjs-core');\nrequire('@tensorflow/tfjs-backend-cpu');\nconst { adam, chain, clipByGlobalNorm } = require('tfjs-optax');\n(async () => {${PROGRAM}})();`,
    );
    expect(sh('node', ['cjs.cjs'], apps[how]).trim()).toBe('[-0.1,-0.1]');
  });
});

describe('the installed types', () => {
  it('resolve for ESM and CJS consumers', () => {
    const app = apps.tarball;
    const body = `
const params = { dense: { kernel: tf.zeros([2, 2]), bias: tf.zeros([2]) } };
const tx = adamw(warmupCosineDecaySchedule({ initValue: 0, peakValue: 1e-3, warmupSteps: 10, decaySteps: 100 }), { weightDecay: 0.01 });
const state: AdamwState = tx.init(params);
const [updates, next] = tx.update(params, state, params);
const out: typeof params = applyUpdates(params, updates);
const count: number = next[0].count;
const optimizer: tf.Optimizer = toTfOptimizer(tx);
void out; void count; void optimizer;
`;
    const imports = 'adamw, applyUpdates, toTfOptimizer, warmupCosineDecaySchedule, type AdamwState';
    writeFileSync(join(app, 'types.mts'), `import * as tf from '@tensorflow/tfjs-core';\nimport { ${imports} } from 'tfjs-optax';\n${body}`);
    writeFileSync(join(app, 'types.cts'), `import tf = require('@tensorflow/tfjs-core');\nimport { ${imports} } from 'tfjs-optax';\n${body}`);
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
