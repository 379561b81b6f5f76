import * as tf from '@tensorflow/tfjs-core';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam, fileHandler, loadState, stateToArtifacts, StateFormatError, toTfOptimizer, treeDispose } from '../../src/index.js';

// fileHandler's saves are atomic and its files checked: a killed process, two processes or
// several calls saving to one path at once, and a full disk at any write leave the old or the
// new checkpoint whole, never a mix, and no leftover outlives the next save; a flipped bit in a
// weights file or its JSON is a StateFormatError; files of the previous layout still load.
// Every checkpoint here is Adam's state for 16 parameters after "k steps": both counts are k
// and every moment is k, so a checkpoint mixed from two saves is seen at once.

const N = 16;
const tx = adam(0.1);
const params = { w: tf.zeros([N]) };
type AdamState = [{ count: number; mu: { w: tf.Tensor }; nu: { w: tf.Tensor } }, { count: number; learningRate: number }];

function artifactsAt(k: number): tf.io.ModelArtifacts {
  const state: AdamState = [
    { count: k, mu: { w: tf.fill([N], k) }, nu: { w: tf.fill([N], k) } },
    { count: k, learningRate: 0.1 },
  ];
  const artifacts = stateToArtifacts(state, { params });
  treeDispose(state);
  return artifacts;
}

/** The k of the checkpoint at `target`, after checking that it is whole: one save's, not a mix. */
async function loadWhole(target: string): Promise<number> {
  const s = (await loadState(tx, params, fileHandler(target))) as AdamState;
  try {
    const k = s[0].count;
    const values = [...s[0].mu.w.dataSync(), ...s[0].nu.w.dataSync()];
    if (s[1].count !== k || values.some((v) => v !== k)) {
      throw new Error(`a mixed checkpoint at ${target}: counts ${k} and ${s[1].count}, moments ${[...new Set(values)].join(', ')}`);
    }
    return k;
  } finally {
    treeDispose(s);
  }
}

/** The directory holds the manifest and the one weights file it names, nothing else. */
function expectOnlyCheckpoint(dir: string, json = 'state.json'): void {
  const manifest = JSON.parse(readFileSync(join(dir, json), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
  const named = manifest.weightsManifest.flatMap((g) => g.paths);
  expect(named).toHaveLength(1);
  expect(readdirSync(dir).sort()).toEqual([json, named[0]].sort());
}

// On tmpfs where there is one: the handler's fsyncs cost nothing there (about 8 ms each on this
// machine's disk), and neither a kill nor the other failures here depend on them.
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tfjs-optax-files-'));
let counter = 0;
function freshDir(): string {
  const d = join(root, `d${counter++}`);
  mkdirSync(d);
  return d;
}
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a killed save', () => {
  let script = '';
  let list = '';
  beforeAll(async () => {
    script = join(root, 'save-loop.mjs');
    await build({
      entryPoints: [resolve(__dirname, 'save-loop.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'silent',
    });
    list = join(root, 'artifacts.json');
    const all = [1, 2, 3, 4, 5, 6].map((k) => {
      const a = artifactsAt(k);
      return { ...a, weightData: Buffer.from(a.weightData as ArrayBuffer).toString('base64') };
    });
    writeFileSync(list, JSON.stringify(all));
  });

  /** Starts a child saving to `target`; resolves once its first save is committed. */
  function startSaver(target: string, first: number): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | number | null> }> {
    // A bare environment: with vitest's, node takes several times longer to start.
    const child = spawn(process.execPath, [script, target, list, String(first)], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | number | null>((done) => child.on('exit', (code, signal) => done(signal ?? code)));
    return new Promise((ready, fail) => {
      child.stdout!.on('data', () => ready({ child, exited }));
      void exited.then((how) => fail(new Error(`a saver exited (${how}) before its first save: ${stderr}`)));
    });
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('SIGKILLed at random times, two processes saving to one path: the checkpoint is always whole, and the next save leaves nothing else', async () => {
    // Two lanes (directories) side by side, each round two savers on the lane's one path, both
    // killed at random moments of their save loops: 2 x 10 x 2 = 40 kills.
    const rounds = 10;
    let kills = 0;
    let leftovers = 0;
    const lane = async (dir: string) => {
      const seen = new Set<number>();
      for (let round = 0; round < rounds; round++) {
        const savers = await Promise.all([startSaver(dir, 2 * round), startSaver(dir, 2 * round + 1)]);
        await Promise.all(
          savers.map(async ({ child, exited }) => {
            await sleep(Math.random() * 20);
            child.kill('SIGKILL');
            expect(await exited).toBe('SIGKILL');
            kills++;
          }),
        );
        seen.add(await loadWhole(dir));
        leftovers += readdirSync(dir).length - 2;
      }
      return seen;
    };
    const dirs = [freshDir(), freshDir()];
    const seen = await Promise.all(dirs.map(lane));
    expect(kills).toBe(2 * rounds * 2);
    // The kills landed at different points: more than one checkpoint was left.
    expect(new Set(seen.flatMap((s) => [...s])).size).toBeGreaterThan(1);
    // Some kills interrupted a save and left its files: the next save must delete them.
    expect(leftovers).toBeGreaterThan(0);
    for (const dir of dirs) {
      await fileHandler(dir).save!(artifactsAt(7));
      expect(await loadWhole(dir)).toBe(7);
      expectOnlyCheckpoint(dir);
    }
  }, 60_000);
});

describe('concurrent saves', () => {
  it('to one path from one process, 40 rounds of three: always whole, the last call wins, nothing left behind', async () => {
    const dir = freshDir();
    const artifacts = Array.from({ length: 120 }, (_, i) => artifactsAt(i + 1));
    for (let round = 0; round < 40; round++) {
      const batch = artifacts.slice(3 * round, 3 * round + 3);
      // Separate handlers, and the directory spelled two ways: one path all the same.
      await Promise.all(batch.map((a, i) => fileHandler(i === 1 ? `${dir}/state.json` : dir).save!(a)));
      expect(await loadWhole(dir)).toBe(3 * round + 3);
      expectOnlyCheckpoint(dir);
    }
  });
});

// Node's fs/promises, whose functions the handler looks up at each call: replaced for a test
// with versions that fail on demand (syncBuiltinESMExports carries the change to `import`).
const fsp = createRequire(import.meta.url)('node:fs/promises') as Record<string, (...args: unknown[]) => Promise<unknown>>;
const WRITES = ['mkdir', 'open', 'writeFile', 'appendFile', 'rename', 'unlink', 'copyFile', 'truncate'];
const HANDLE_WRITES = new Set(['write', 'writeFile', 'appendFile', 'sync', 'datasync', 'truncate']);

/**
 * Runs `run` with the `failAt`-th call that writes (to fs/promises, or to a file it opened)
 * failing with ENOSPC, as on a full disk. Returns how `run` ended and how many such calls
 * there were.
 */
async function withFullDisk<T>(failAt: number, run: () => Promise<T>): Promise<{ calls: number; failed: string; result: PromiseSettledResult<T> }> {
  const original = Object.fromEntries(WRITES.map((n) => [n, fsp[n]]));
  let calls = 0;
  let failed = '';
  const gate = (what: string) => {
    if (calls++ !== failAt) return;
    failed = what;
    throw Object.assign(new Error(`ENOSPC: no space left on device, ${what}`), { code: 'ENOSPC', errno: -28, syscall: what });
  };
  const wrapHandle = (handle: object) =>
    new Proxy(handle, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function') return value;
        if (typeof key === 'string' && HANDLE_WRITES.has(key)) {
          return async (...args: unknown[]) => {
            gate(`handle.${key}`);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  for (const name of WRITES) {
    fsp[name] = async (...args: unknown[]) => {
      gate(`${name} ${String(args[0]).split('/').pop()}`);
      const out = await original[name](...args);
      return name === 'open' ? wrapHandle(out as object) : out;
    };
  }
  syncBuiltinESMExports();
  try {
    const [result] = await Promise.allSettled([run()]);
    return { calls, failed, result };
  } finally {
    Object.assign(fsp, original);
    syncBuiltinESMExports();
  }
}

describe('a full disk', () => {
  it('at each write of a save in turn: a failed save throws and the old checkpoint loads whole; the next save leaves nothing behind', async () => {
    const failures: string[] = [];
    for (let failAt = 0; ; failAt++) {
      const dir = freshDir();
      await fileHandler(dir).save!(artifactsAt(1));
      const { calls, failed, result } = await withFullDisk(failAt, () => fileHandler(dir).save!(artifactsAt(2)));
      if (failAt >= calls) break;
      if (result.status === 'rejected') {
        failures.push(failed);
        expect(String(result.reason)).toContain('ENOSPC');
        expect(await loadWhole(dir), `after ENOSPC at ${failed}`).toBe(1);
      } else {
        // Failures after the commit (flushing the directory, deleting the old weights) do not fail the save.
        expect(await loadWhole(dir), `after ENOSPC at ${failed}`).toBe(2);
      }
      await fileHandler(dir).save!(artifactsAt(3));
      expect(await loadWhole(dir)).toBe(3);
      expectOnlyCheckpoint(dir);
    }
    // Every write before the commit failed a save: the weights, the manifest, the rename.
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(failures.some((f) => f.startsWith('rename'))).toBe(true);
  });
});

describe('damaged files', () => {
  it('every flipped bit of a weights file, and a flipped bit in each byte of its JSON, is a StateFormatError', async () => {
    const dir = freshDir();
    await fileHandler(dir).save!(artifactsAt(5));
    const json = readFileSync(join(dir, 'state.json'));
    const weightsName = readdirSync(dir).find((f) => f.endsWith('.weights.bin'))!;
    const weights = readFileSync(join(dir, weightsName));
    const refused = async () => {
      const before = tf.memory().numTensors;
      const error = await loadState(tx, params, fileHandler(dir)).then(
        (s) => (treeDispose(s), undefined),
        (e: unknown) => e,
      );
      expect(tf.memory().numTensors).toBe(before);
      return error;
    };
    for (let bit = 0; bit < 8 * weights.length; bit++) {
      const damaged = Buffer.from(weights);
      damaged[bit >> 3] ^= 1 << (bit & 7);
      writeFileSync(join(dir, weightsName), damaged);
      const error = await refused();
      expect(error).toBeInstanceOf(StateFormatError);
      // A state's weights are checked tensor by tensor (the file holds mu.w, then nu.w).
      const tensor = bit >> 3 < 4 * N ? 'mu' : 'nu';
      expect((error as Error).message).toMatch(new RegExp(`^loadState: the values of state\\[0\\]\\.${tensor}\\.w do not match their checksum`));
    }
    writeFileSync(join(dir, weightsName), weights);
    for (let i = 0; i < json.length; i++) {
      const damaged = Buffer.from(json);
      damaged[i] ^= 1 << (i % 8);
      writeFileSync(join(dir, 'state.json'), damaged);
      const error = await refused();
      expect(error, `byte ${i}`).toBeInstanceOf(StateFormatError);
    }
    writeFileSync(join(dir, 'state.json'), json);
    expect(await loadWhole(dir)).toBe(5);
  });
});

describe('files of the previous layout', () => {
  it('(a fixed <name>.weights.bin, no checksums, format version 2) load, and the next save replaces them and their leftovers', async () => {
    const dir = freshDir();
    const a = artifactsAt(4);
    const { checksum: _, ...manifest } = a.modelTopology as unknown as Record<string, unknown> & { tensors: Array<Record<string, unknown>> };
    const v2 = { ...manifest, formatVersion: 2, tensors: manifest.tensors.map(({ checksum: _c, ...t }) => t) };
    const { weightData, weightSpecs, ...rest } = a;
    writeFileSync(join(dir, 'opt.json'), JSON.stringify({ ...rest, modelTopology: v2, weightsManifest: [{ paths: ['opt.weights.bin'], weights: weightSpecs }] }));
    writeFileSync(join(dir, 'opt.weights.bin'), Buffer.from(weightData as ArrayBuffer));
    // What an interrupted save of that version left behind.
    writeFileSync(join(dir, 'opt.weights.bin.tmp-1733412345678-k3j9x2'), 'x');
    writeFileSync(join(dir, 'opt.json.tmp-1733412345679-a8b7c6'), 'x');
    // Another checkpoint in the same directory is not touched.
    writeFileSync(join(dir, 'other.weights.bin'), 'x');
    expect(await loadWhole(join(dir, 'opt.json'))).toBe(4);
    await fileHandler(join(dir, 'opt.json')).save!(artifactsAt(5));
    expect(await loadWhole(join(dir, 'opt.json'))).toBe(5);
    rmSync(join(dir, 'other.weights.bin'));
    expectOnlyCheckpoint(dir, 'opt.json');
  });
});

describe('a layers model', () => {
  it('saved with its optimizer through fileHandler (twice) loads with tf.loadLayersModel; a flipped bit in its weights is a StateFormatError', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], name: 'file_handler_dense' })] });
    const optimizer = toTfOptimizer(adam(0.01));
    model.compile({ optimizer, loss: 'meanSquaredError' });
    const xs = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const ys = tf.tensor2d([1, 0, 0, 1], [2, 2]);
    // IS_TEST off, as in resume.test.ts: tfjs's per-kernel leak check trips on the wasm backend's
    // own matMul gradient inside fit.
    const isTest = tf.env().get('IS_TEST');
    tf.env().set('IS_TEST', false);
    const dir = freshDir();
    const path = join(dir, 'model.json');
    try {
      for (let i = 0; i < 2; i++) {
        await model.fit(xs, ys, { epochs: 1, batchSize: 2, verbose: 0 });
        await model.save(fileHandler(path), { includeOptimizer: true });
      }
    } finally {
      tf.env().set('IS_TEST', isTest);
    }
    expectOnlyCheckpoint(dir, 'model.json');
    const loaded = await tfl.loadLayersModel(fileHandler(path));
    expect(loaded.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(model.getWeights().map((w) => Array.from(w.dataSync())));
    const weightsName = readdirSync(dir).find((f) => f.endsWith('.weights.bin'))!;
    const damaged = readFileSync(join(dir, weightsName));
    damaged[damaged.length - 1] ^= 0x10;
    writeFileSync(join(dir, weightsName), damaged);
    await expect(tfl.loadLayersModel(fileHandler(path))).rejects.toThrow(StateFormatError);
    loaded.dispose();
    model.dispose();
    optimizer.dispose();
    tf.dispose([xs, ys]);
  });
});
