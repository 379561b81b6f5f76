// Ready to publish: the packed package passes publint and Are the Types Wrong (attw), `npm
// publish --dry-run` prints no warning, and the GitHub workflows are valid (action-validator's
// schema check) and do what CONTRIBUTING.md says: CI runs .ci/run on Node 20, 22 and 24, and a
// version tag publishes with provenance. Everything runs offline from the devDependencies. Needs
// `npm run build` first (dist/ is packed as it is: no script of ours runs here).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatMessage } from 'publint/utils';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const BIN = (pkg: string, file: string) => join(ROOT, 'node_modules', pkg, file);
const dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-publish-'));
let tarball = '';

/** Runs a command; its status, stdout and stderr. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

beforeAll(() => {
  const packed = run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir]);
  expect(packed.status, packed.stderr).toBe(0);
  tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the package, as npm would publish it', () => {
  it('passes publint with no message, suggestions included', async () => {
    const data = readFileSync(tarball);
    const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    // The tarball's files are under package/.
    const { messages, pkg } = await publint({ pkgDir: 'package', pack: { tarball: bytes }, level: 'suggestion', strict: true });
    expect(pkg.name).toBe('tfjs-optax');
    expect(messages.map((m) => formatMessage(m, pkg) ?? m.code)).toEqual([]);
  });

  it('passes Are the Types Wrong for node10, node16 (ESM and CJS) and bundlers', () => {
    const r = run(process.execPath, [BIN('@arethetypeswrong/cli', 'dist/index.js'), tarball, '--format', 'json', '--no-color']);
    const report = JSON.parse(r.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('npm publish --dry-run succeeds without a warning', () => {
    // A token in the environment stands for `npm login`; --offline keeps npm from asking the
    // registry whether the version exists (the suite runs offline).
    const r = run('npm', ['publish', tarball, '--dry-run', '--ignore-scripts', '--offline'], { 'npm_config_//registry.npmjs.org/:_authToken': 'dry-run' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /^npm (warn|error)/i.test(l))).toEqual([]);
    expect(r.stdout).toMatch(/^\+ tfjs-optax@\d+\.\d+\.\d+/m);
  });
});

describe('the GitHub workflows', () => {
  const WORKFLOWS = join(ROOT, '.github', 'workflows');
  const read = (name: string) => readFileSync(join(WORKFLOWS, name), 'utf8');

  it.each(readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)))('%s is a valid workflow (action-validator)', (name) => {
    const r = run(process.execPath, [BIN('@action-validator/cli', 'cli.mjs'), join(WORKFLOWS, name)]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('CI runs .ci/run on Node 20, 22 and 24', () => {
    const ci = read('ci.yml');
    expect(ci).toMatch(/node: \[20, 22, 24\]/);
    expect(ci).toMatch(/node-version: \$\{\{ matrix\.node \}\}/);
    expect(ci).toMatch(/run: bash \.ci\/run$/m);
  });

  it('a version tag runs the suite, then publishes with provenance', () => {
    const release = read('release.yml');
    expect(release).toMatch(/tags: \['v\*\.\*\.\*'\]/);
    expect(release).toMatch(/id-token: write/);
    expect(release.indexOf('bash .ci/run')).toBeGreaterThan(0);
    expect(release.indexOf('npm publish --provenance')).toBeGreaterThan(release.indexOf('bash .ci/run'));
  });
});
