import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  adam,
  adamw,
  amsgrad,
  chain,
  clipByGlobalNorm,
  fileHandler,
  injectHyperparams,
  getHyperparam,
  getKernelMode,
  loadState,
  setKernelMode,
  treeDispose,
  treeMap,
  warmupCosineDecaySchedule,
  saveState,
  sgd,
  stateFromArtifacts,
  stateToArtifacts,
  StateFormatError,
  TreeStructureError,
  STATE_FORMAT_VERSION,
  VERSION,
  type GradientTransformation,
  type StateManifest,
} from '../../src/index.js';
import { fingerprint, train } from './resume/cases.js';
import { fixtureParams, fixtureTx } from '../fixtures/checkpoint-v1.js';
import { PACKED_STEPS, packedFixtureParams, packedFixtureTx } from '../fixtures/checkpoint-v4-packed.js';

// Checkpoints: the manifest's contents, round trips through memory, files and tfjs IOHandlers,
// exotic JS numbers, every way a checkpoint can be wrong (a clear error, nothing leaked,
// nothing changed), the checksums (every flipped bit of the weights or of the tensor table is
// caught), the values a state cannot hold, and the checked-in fixtures (format versions 1 and 3,
// and version 4 with packed bfloat16 / int8 moments).
// Saving to files (atomicity, concurrency, a full disk, kills) is test/interop/file-handler.test.ts.

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tfjs-optax-ckpt-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function makeParams() {
  return { dense: { kernel: tf.tensor2d([1, -2, 3, 0.5, 0.25, -1], [2, 3]), bias: tf.tensor1d([0.1, 0.2, 0.3]) } };
}

/** Adam after 3 steps on makeParams(). */
function trained() {
  const tx = adam(0.1);
  const params0 = makeParams();
  const { params, state } = train(tx, params0, tx.init(params0), 0, 3);
  return { tx, params, state };
}

/** A transformation whose state holds every kind of value a state may hold. */
function exotic(): GradientTransformation<Record<string, unknown>> {
  return {
    init: (params) => ({
      best: Infinity,
      worst: -Infinity,
      missing: NaN,
      negZero: -0,
      tiny: 5e-324,
      third: 1 / 3,
      flag: true,
      label: 'warmup',
      nothing: null,
      absent: undefined,
      counts: tf.tensor1d([1, 2], 'int32'),
      seen: tf.tensor1d([1, 0, 1], 'bool'),
      slot: tf.zerosLike((params as { w: tf.Tensor }).w),
    }),
    update: (u, s) => [u, s],
  };
}

describe('stateToArtifacts', () => {
  it('writes a JSON manifest (format, version, structure, numbers, paths, dtypes, shapes, params) and one buffer', () => {
    const { state, params } = trained();
    const artifacts = stateToArtifacts(state, { params });
    expect(artifacts.format).toBe('tfjs-optax-state');
    const manifest = artifacts.modelTopology as unknown as Record<string, unknown>;
    expect(manifest.format).toBe('tfjs-optax-state');
    expect(manifest.formatVersion).toBe(STATE_FORMAT_VERSION);
    expect(manifest.generatedBy).toBe(`tfjs-optax ${VERSION}`);
    expect(manifest.state).toEqual([
      { count: 3, mu: { dense: { bias: { $tensor: 0 }, kernel: { $tensor: 1 } } }, nu: { dense: { bias: { $tensor: 2 }, kernel: { $tensor: 3 } } } },
      { count: 3, learningRate: 0.1 },
    ]);
    // Each tensor's CRC-32 is zlib's over its bytes in the buffer.
    const data = artifacts.weightData as ArrayBuffer;
    const sum = (offset: number, n: number) => crc32(new Uint8Array(data, offset, 4 * n)).toString(16).padStart(8, '0');
    expect(manifest.tensors).toEqual([
      { name: '[0].mu.dense.bias', path: [0, 'mu', 'dense', 'bias'], dtype: 'float32', shape: [3], checksum: sum(0, 3) },
      { name: '[0].mu.dense.kernel', path: [0, 'mu', 'dense', 'kernel'], dtype: 'float32', shape: [2, 3], checksum: sum(12, 6) },
      { name: '[0].nu.dense.bias', path: [0, 'nu', 'dense', 'bias'], dtype: 'float32', shape: [3], checksum: sum(36, 3) },
      { name: '[0].nu.dense.kernel', path: [0, 'nu', 'dense', 'kernel'], dtype: 'float32', shape: [2, 3], checksum: sum(48, 6) },
    ]);
    // The manifest's own: zlib's CRC-32 of its JSON with the keys sorted, without the checksum.
    const { checksum, ...body } = manifest;
    const sorted = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
    expect(checksum).toEqual({ algorithm: 'crc32', manifest: crc32(JSON.stringify(sorted(body))).toString(16).padStart(8, '0') });
    expect(manifest.params).toEqual([
      { name: 'dense.bias', path: ['dense', 'bias'], dtype: 'float32', shape: [3] },
      { name: 'dense.kernel', path: ['dense', 'kernel'], dtype: 'float32', shape: [2, 3] },
    ]);
    expect(JSON.parse(JSON.stringify(manifest))).toEqual(manifest);
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(4 * (3 + 6 + 3 + 6));
    const s = state as unknown as [{ mu: { dense: { bias: tf.Tensor } } }];
    expect(Array.from(new Float32Array(artifacts.weightData as ArrayBuffer, 0, 3))).toEqual(Array.from(s[0].mu.dense.bias.dataSync()));
  });

  it('round-trips every kind of value exactly: NaN, ±Infinity, -0, denormals, booleans, strings, null, undefined, int32 and bool tensors', () => {
    const tx = exotic();
    const params = { w: tf.tensor1d([1, 2]) };
    const state = tx.init(params);
    (state.slot as tf.Tensor).dispose();
    state.slot = tf.tensor1d([Math.fround(1 / 3), -0]);
    const back = stateFromArtifacts(tx, params, stateToArtifacts(state));
    for (const key of ['best', 'worst', 'missing', 'negZero', 'tiny', 'third', 'flag', 'label', 'nothing']) expect(back[key], key).toEqual(state[key]);
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect('absent' in back && back.absent === undefined).toBe(true);
    expect((back.counts as tf.Tensor).dtype).toBe('int32');
    expect(Array.from((back.counts as tf.Tensor).dataSync())).toEqual([1, 2]);
    expect((back.seen as tf.Tensor).dtype).toBe('bool');
    expect(Array.from((back.seen as tf.Tensor).dataSync())).toEqual([1, 0, 1]);
    expect(fingerprint(back.slot)).toEqual(fingerprint(state.slot));
    expect(back.slot).not.toBe(state.slot);
  });

  it('names the path of what a state must not hold', () => {
    const t = tf.tensor1d([1]);
    t.dispose();
    expect(() => stateToArtifacts({ inner: [{ fn: () => 1 }] })).toThrow(
      'stateToArtifacts: state.inner[0].fn is a function; a state holds only tensors, numbers, booleans, strings, null, arrays and plain objects',
    );
    expect(() => stateToArtifacts({ mu: { w: t } })).toThrow('stateToArtifacts: state.mu.w is a disposed tensor');
    expect(() => stateToArtifacts({ when: new Date(0) })).toThrow('stateToArtifacts: state.when is an instance of Date');
    expect(() => stateToArtifacts({ x: 1 }, { param: {} } as never)).toThrow("stateToArtifacts: unknown option 'param' (known options: params)");
  });
});

describe('saveState / loadState', () => {
  it('round-trip through a directory, a file:// URL, a .json path and an in-memory IOHandler, bit for bit', async () => {
    const { tx, state, params } = trained();
    const dir = tempDir();
    const targets: Array<[string | tf.io.IOHandler, string | tf.io.IOHandler]> = [
      [fileHandler(join(dir, 'a')), fileHandler(join(dir, 'a'))],
      [`file://${join(dir, 'b')}`, `file://${join(dir, 'b')}`],
      [fileHandler(join(dir, 'c', 'opt.json')), `file://${join(dir, 'c', 'opt.json')}`],
    ];
    let memory: tf.io.ModelArtifacts | undefined;
    const sink = tf.io.withSaveHandler(async (a) => {
      memory = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    });
    for (const [save, load] of targets) {
      await saveState(state, save, { params });
      const back = await loadState(tx, params, load);
      expect(fingerprint(back)).toEqual(fingerprint(state));
    }
    await saveState(state, sink, { params });
    expect(fingerprint(await loadState(tx, params, tf.io.fromMemory(memory!)))).toEqual(fingerprint(state));
    const json = JSON.parse(readFileSync(join(dir, 'c', 'opt.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual([expect.stringMatching(/^opt\.[0-9a-z]+-\d+-[0-9a-z]+\.weights\.bin$/)]);
    const [weights] = readdirSync(join(dir, 'a')).filter((f) => f.endsWith('.weights.bin'));
    expect(readFileSync(join(dir, 'a', weights)).byteLength).toBe(72);
  });

  it('explains a URL no handler knows and a missing file', async () => {
    const { tx, state, params } = trained();
    await expect(saveState(state, 'nowhere://x')).rejects.toThrow("saveState: no tfjs IOHandler for 'nowhere://x' here");
    await expect(loadState(tx, params, `file://${join(tempDir(), 'none')}`)).rejects.toThrow('fileHandler: no checkpoint at');
  });
});

describe('loading a checkpoint that does not fit', () => {
  const { tx, state, params } = trained();
  const good = stateToArtifacts(state, { params });
  // The manifest without its checksum (as format version 2 wrote it), so that a change to it
  // reaches the check it is about; a change with the checksum kept is 'a changed manifest'.
  const manifest = () => {
    const { checksum: _, ...m } = JSON.parse(JSON.stringify(good.modelTopology));
    return m;
  };
  const withManifest = (m: unknown, extra: Partial<tf.io.ModelArtifacts> = {}): tf.io.ModelArtifacts => ({
    ...good,
    modelTopology: m as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: undefined,
    ...extra,
  });
  const buffer = good.weightData as ArrayBuffer;

  const cases: Array<[string, () => unknown, string | RegExp]> = [
    [
      'a truncated buffer',
      () => stateFromArtifacts(tx, params, { ...good, weightData: buffer.slice(0, 60) }),
      "stateFromArtifacts: the weights buffer has 60 bytes, but the manifest's 4 tensors take 72 (a truncated file, or weights from another checkpoint)",
    ],
    ['a buffer with extra bytes', () => stateFromArtifacts(tx, params, { ...good, weightData: new ArrayBuffer(76) }), 'the weights buffer has 76 bytes'],
    ['no buffer', () => stateFromArtifacts(tx, params, { ...good, weightData: undefined }), 'stateFromArtifacts: the checkpoint has no weights buffer'],
    [
      'a wrong dtype',
      () => {
        const m = manifest();
        m.tensors[1].dtype = 'int32';
        return stateFromArtifacts(tx, params, withManifest(m));
      },
      'stateFromArtifacts: the checkpoint does not fit this state at state[0].mu.dense.kernel: expected a float32 tensor of shape [2, 3], the checkpoint has a int32 tensor of shape [2, 3]',
    ],
    [
      'a wrong shape',
      () => {
        const m = manifest();
        m.tensors[1].shape = [3, 2];
        return stateFromArtifacts(tx, params, withManifest(m));
      },
      'at state[0].mu.dense.kernel: expected a float32 tensor of shape [2, 3], the checkpoint has a float32 tensor of shape [3, 2]',
    ],
    [
      "another optimizer's state",
      () => stateFromArtifacts(sgd(0.1, { momentum: 0.9 }), params, good),
      "stateFromArtifacts: the checkpoint does not fit this state at state[0]: expected keys {trace}, the checkpoint has {count, mu, nu}: no 'trace'; unexpected 'count', 'mu', 'nu'",
    ],
    [
      'another params tree (a leaf more)',
      () => stateFromArtifacts(tx, { ...params, extra: tf.tensor1d([1]) }, good),
      'stateFromArtifacts: the checkpoint was saved for other params: params.extra is not among its 2 leaves (dense.bias, dense.kernel)',
    ],
    [
      'another params tree (a shape)',
      () => stateFromArtifacts(tx, { dense: { kernel: tf.zeros([3, 2]), bias: params.dense.bias } }, good),
      'stateFromArtifacts: the checkpoint was saved for other params: params.dense.kernel is float32 [3, 2] now, float32 [2, 3] in the checkpoint',
    ],
    [
      'another params tree, without params recorded',
      () => stateFromArtifacts(tx, { dense: { kernel: params.dense.kernel } }, stateToArtifacts(state)),
      "at state[0].mu.dense: expected keys {kernel}, the checkpoint has {bias, kernel}: unexpected 'bias' (state for other parameters, or of another optimizer)",
    ],
    [
      'a model, not a state',
      () => stateFromArtifacts(tx, params, { ...good, format: 'layers-model' }),
      `stateFromArtifacts: not a tfjs-optax state checkpoint: format is "layers-model", expected 'tfjs-optax-state'`,
    ],
    [
      'a newer format version',
      () => stateFromArtifacts(tx, params, withManifest({ ...manifest(), formatVersion: STATE_FORMAT_VERSION + 1 })),
      `stateFromArtifacts: the checkpoint has formatVersion ${STATE_FORMAT_VERSION + 1}, newer than the ${STATE_FORMAT_VERSION} this version of tfjs-optax reads; upgrade tfjs-optax`,
    ],
    [
      'weight specs that disagree with the manifest',
      () => stateFromArtifacts(tx, params, { ...good, weightSpecs: [...good.weightSpecs!].reverse() }),
      "stateFromArtifacts: weight spec 0 ('[0].nu.dense.kernel', float32 [2, 3]) does not match the manifest's '[0].mu.dense.bias' (float32 [3])",
    ],
    ['a manifest that is not an object', () => stateFromArtifacts(tx, params, withManifest('x')), 'stateFromArtifacts: the checkpoint manifest is a string ("x"), not an object'],
    [
      'a changed manifest (its checksum kept)',
      () => {
        const m = JSON.parse(JSON.stringify(good.modelTopology));
        m.state[0].count = 4;
        return stateFromArtifacts(tx, params, withManifest(m));
      },
      /^stateFromArtifacts: the checkpoint manifest does not match its checksum \(CRC-32 [0-9a-f]{8} saved, [0-9a-f]{8} now\): it was changed or damaged after it was saved$/,
    ],
    [
      'an unknown key in a manifest of version 3 (a damaged key must not hide the checksum)',
      () => {
        const m = JSON.parse(JSON.stringify(good.modelTopology));
        m.checksun = m.checksum;
        delete m.checksum;
        return stateFromArtifacts(tx, params, withManifest(m));
      },
      "stateFromArtifacts: the checkpoint manifest has unknown 'checksun'",
    ],
    [
      'a number where a tensor belongs',
      () => {
        const m = manifest();
        m.state[0].mu.dense.bias = 3;
        return stateFromArtifacts(tx, params, withManifest(m));
      },
      'at state[0].mu.dense.bias: expected a float32 tensor of shape [3], the checkpoint has the number 3',
    ],
  ];

  it.each(cases)('%s: a StateFormatError that says what, nothing leaked or changed', (_name, load, message) => {
    const before = tf.memory().numTensors;
    const snapshot = fingerprint(state);
    let error: unknown;
    try {
      load();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateFormatError);
    if (typeof message === 'string') expect((error as Error).message).toContain(message);
    else expect((error as Error).message).toMatch(message);
    // Tensors a case made for its own params are its own; the loader made none.
    const made = _name.startsWith('another params tree (') ? 1 : 0;
    expect(tf.memory().numTensors - before).toBe(made);
    expect(fingerprint(state)).toEqual(snapshot);
  });
});

/** `load()` throws a StateFormatError (returned), having made no tensor. */
function refusal(load: () => unknown): StateFormatError {
  const before = tf.memory().numTensors;
  let error: unknown;
  try {
    treeDispose(load() as never);
  } catch (e) {
    error = e;
  }
  expect(tf.memory().numTensors).toBe(before);
  expect(error).toBeInstanceOf(StateFormatError);
  return error as StateFormatError;
}

describe('checksums', () => {
  const { tx, state, params } = trained();
  const good = stateToArtifacts(state, { params });
  const bytes = new Uint8Array(good.weightData as ArrayBuffer);
  const names = (good.modelTopology as unknown as StateManifest).tensors.map((t) => `state${t.name}`);

  it('format version 3 carries them; a manifest of version 2 (none) loads as before', () => {
    expect(STATE_FORMAT_VERSION).toBe(5);
    const { checksum: _, ...m } = JSON.parse(JSON.stringify(good.modelTopology));
    m.formatVersion = 2;
    m.tensors = m.tensors.map(({ checksum: _c, ...t }: Record<string, unknown>) => t);
    const back = stateFromArtifacts(tx, params, { ...good, modelTopology: m });
    expect(fingerprint(back)).toEqual(fingerprint(state));
    treeDispose(back);
  });

  it('every flipped bit of the weights is a StateFormatError naming the tensor whose bytes changed', () => {
    for (let bit = 0; bit < 8 * bytes.length; bit++) {
      const damaged = bytes.slice();
      damaged[bit >> 3] ^= 1 << (bit & 7);
      const error = refusal(() => stateFromArtifacts(tx, params, { ...good, weightData: damaged.buffer }));
      // 3, 6, 3, 6 float32 values: the tensor that holds byte bit >> 3.
      const tensor = [12, 36, 48, 72].findIndex((end) => bit >> 3 < end);
      expect(error.message).toMatch(
        new RegExp(`^stateFromArtifacts: the values of ${names[tensor].replace(/[.[\]]/g, '\\$&')} do not match their checksum \\(CRC-32 [0-9a-f]{8} saved, [0-9a-f]{8} now\\)`),
      );
    }
  });

  it("every flipped bit of the manifest's tensor table is a StateFormatError (or changes nothing)", () => {
    const text = JSON.stringify(good.modelTopology);
    const start = text.indexOf('"tensors":');
    const end = text.indexOf('"params":');
    expect(start).toBeGreaterThan(0);
    let refused = 0;
    for (let i = start; i < end; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ (1 << bit)) + text.slice(i + 1);
        let manifest: unknown;
        try {
          manifest = JSON.parse(flipped);
        } catch {
          continue; // not JSON any more: the handler's parse refuses it (see file-handler.test.ts)
        }
        if (JSON.stringify(manifest) === text) continue;
        refusal(() => stateFromArtifacts(tx, params, { ...good, modelTopology: manifest as never, weightSpecs: undefined }));
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('values a state cannot hold', () => {
  const { tx, state, params } = trained();
  type AdamChain = [{ count: number; mu: { dense: Record<string, tf.Tensor> }; nu: { dense: Record<string, tf.Tensor> } }, { count: number; learningRate: number }];
  const s = state as unknown as AdamChain;
  const kernelWith = (index: number, value: number) => {
    const v = Float32Array.from(s[0].nu.dense.kernel.dataSync());
    v[index] = value;
    return tf.tensor2d(v, [2, 3]);
  };
  /** The trained state with one change, saved with its checksums. */
  const saved = (change: (c: AdamChain) => void): tf.io.ModelArtifacts => {
    const copy = [{ ...s[0], nu: { dense: { ...s[0].nu.dense } } }, { ...s[1] }] as AdamChain;
    change(copy);
    const artifacts = stateToArtifacts(copy, { params });
    if (copy[0].nu.dense.kernel !== s[0].nu.dense.kernel) copy[0].nu.dense.kernel.dispose();
    return artifacts;
  };
  const prefix = 'stateFromArtifacts: the checkpoint holds a value this state cannot hold at ';
  const cases: Array<[string, (c: AdamChain) => void, string]> = [
    ['a negative second moment', (c) => (c[0].nu.dense.kernel = kernelWith(5, -1)), 'state[0].nu.dense.kernel: expected every value finite and >= 0 (a second moment), found -1 at index [1, 2] (1 of 6 values are not)'],
    ['a NaN second moment', (c) => (c[0].nu.dense.kernel = kernelWith(1, NaN)), 'state[0].nu.dense.kernel: expected every value finite and >= 0 (a second moment), found NaN at index [0, 1] (1 of 6 values are not)'],
    ['an infinite second moment', (c) => (c[0].nu.dense.kernel = kernelWith(0, Infinity)), 'state[0].nu.dense.kernel: expected every value finite and >= 0 (a second moment), found Infinity at index [0, 0] (1 of 6 values are not)'],
    ['a NaN count', (c) => (c[0].count = NaN), 'state[0].count: expected a whole number >= 0 (a step count), found NaN'],
    ['a negative count', (c) => (c[1].count = -1), 'state[1].count: expected a whole number >= 0 (a step count), found -1'],
    ['a fractional count', (c) => (c[0].count = 2.5), 'state[0].count: expected a whole number >= 0 (a step count), found 2.5'],
    ['an infinite learning rate', (c) => (c[1].learningRate = Infinity), 'state[1].learningRate: expected a finite number >= 0 (a hyperparameter), found Infinity'],
    ['a NaN learning rate', (c) => (c[1].learningRate = NaN), 'state[1].learningRate: expected a finite number >= 0 (a hyperparameter), found NaN'],
    ['a negative learning rate', (c) => (c[1].learningRate = -0.1), 'state[1].learningRate: expected a finite number >= 0 (a hyperparameter), found -0.1'],
  ];

  it.each(cases)('%s: a StateFormatError naming the path, nothing made or changed', (_name, change, message) => {
    const artifacts = saved(change);
    const snapshot = fingerprint(state);
    expect(refusal(() => stateFromArtifacts(tx, params, artifacts)).message).toBe(prefix + message);
    expect(fingerprint(state)).toEqual(snapshot);
  });

  it('is checked in checkpoints without checksums too (format version 2)', () => {
    const artifacts = saved((c) => (c[0].nu.dense.kernel = kernelWith(5, -1)));
    const { checksum: _, ...m } = artifacts.modelTopology as unknown as StateManifest;
    const v2 = { ...m, formatVersion: 2, tensors: m.tensors.map(({ checksum: _c, ...t }) => t) };
    expect(refusal(() => stateFromArtifacts(tx, params, { ...artifacts, modelTopology: v2 as never })).message).toContain(`${prefix}state[0].nu.dense.kernel`);
  });

  it('is found in nested states and other optimizers by their declared layouts', () => {
    const p = { w: tf.tensor1d([1, 2]) };
    const nested = chain(clipByGlobalNorm(1), amsgrad(0.1));
    const s1 = nested.init(p) as unknown as [unknown, [{ nuMax: { w: tf.Tensor } }, unknown]];
    const nuMax = s1[1][0].nuMax.w;
    s1[1][0].nuMax.w = tf.tensor1d([0, -2]);
    expect(refusal(() => stateFromArtifacts(nested, p, stateToArtifacts(s1))).message).toBe(
      `${prefix}state[1][0].nuMax.w: expected every value finite and >= 0 (a second moment), found -2 at index [1] (1 of 2 values are not)`,
    );
    tf.dispose([s1[1][0].nuMax.w, nuMax]);
    treeDispose(s1);
    const injected = injectHyperparams(adamw)({ learningRate: 0.1, weightDecay: 0.01 });
    const s2 = injected.init(p) as { hyperparams: Record<string, number> };
    s2.hyperparams.weightDecay = Infinity;
    expect(refusal(() => stateFromArtifacts(injected, p, stateToArtifacts(s2))).message).toBe(
      `${prefix}state.hyperparams.weightDecay: expected a finite number (a hyperparameter), found Infinity`,
    );
    treeDispose(s2);
    tf.dispose(p.w);
  });

  it('first moments are not checked: a diverged run (NaN in mu) loads as it was saved', () => {
    const mu = s[0].mu.dense.bias;
    const nan = tf.tensor1d([NaN, 1, 2]);
    const artifacts = stateToArtifacts([{ ...s[0], mu: { dense: { ...s[0].mu.dense, bias: nan } } }, s[1]]);
    const back = stateFromArtifacts(tx, params, artifacts) as unknown as AdamChain;
    expect(Array.from(back[0].mu.dense.bias.dataSync())).toEqual([NaN, 1, 2]);
    expect(mu.isDisposed).toBe(false);
    tf.dispose(nan);
    treeDispose(back);
  });
});

describe('the checked-in checkpoint of format version 1', () => {
  const dir = resolve(__dirname, '..', 'fixtures', 'checkpoint-v1');
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { params: number[]; state: Array<number | string> };

  it('still loads, bit for bit, with the hyperparameters of version 2 computed from its counts', async () => {
    const tx = fixtureTx();
    const params = fixtureParams();
    // The params after the 7 saved steps (in expected.json) are where training continues.
    params.w.dispose();
    params.layer.kernel.dispose();
    params.w = tf.tensor1d(expected.params.slice(0, 3));
    params.layer.kernel = tf.tensor2d(expected.params.slice(3), [2, 2]);
    const state = await loadState(tx, params, `file://${dir}`);
    // Version 1 kept `{ count }` in the weight-decay and learning-rate states; version 2 adds the
    // value the next update uses: the constant 0.01, and the warmup-cosine schedule at count 7.
    const lrAt7 = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.01, warmupSteps: 3, decaySteps: 20 })(7);
    const v2 = [...expected.state];
    const [wdCount, lrCount] = v2.flatMap((x, j) => (x === 'k:count' ? [j] : [])).slice(-2);
    v2.splice(lrCount + 2, 0, 'k:learningRate', `n:${lrAt7}`);
    v2.splice(wdCount + 2, 0, 'k:weightDecay', 'n:0.01');
    expect(fingerprint(state)).toEqual(v2);
    expect(getHyperparam(state, 'learningRate')).toBe(lrAt7);
    tf.dispose([params.w, params.layer.kernel]);
    treeDispose(state);
  });

  it('training resumed from it equals training straight through with this version, bit for bit', async () => {
    // The fixture was made on the cpu backend's fused path, so its first 7 steps are compared there.
    const previous = tf.getBackend();
    const mode = getKernelMode();
    await tf.setBackend('cpu');
    setKernelMode('auto');
    onTestFinished(async () => {
      setKernelMode(mode);
      await tf.setBackend(previous);
    });
    const tx = fixtureTx();
    const saved = fixtureParams();
    tf.dispose([saved.w, saved.layer.kernel]);
    saved.w = tf.tensor1d(expected.params.slice(0, 3));
    saved.layer.kernel = tf.tensor2d(expected.params.slice(3), [2, 2]);
    const resumed = train(tx, saved, await loadState(tx, saved, `file://${dir}`), 7, 17);
    const p0 = fixtureParams();
    const straight = train(tx, p0, tx.init(p0), 0, 17);
    expect(fingerprint(resumed)).toEqual(fingerprint(straight));
    treeDispose([resumed, straight]);
  });
});

describe('the checked-in checkpoint of format version 3', () => {
  const dir = resolve(__dirname, '..', 'fixtures', 'checkpoint-v3');
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { params: number[]; state: Array<number | string> };

  it('loads bit for bit, its checksums verified; a copy with a flipped bit does not', async () => {
    const tx = fixtureTx();
    const params = fixtureParams();
    const state = await loadState(tx, params, `file://${dir}`);
    expect(fingerprint(state)).toEqual(expected.state);
    treeDispose(state);
    const copy = tempDir();
    for (const f of readdirSync(dir)) writeFileSync(join(copy, f), readFileSync(join(dir, f)));
    const weights = readdirSync(copy).find((f) => f.endsWith('.weights.bin'))!;
    const bytes = readFileSync(join(copy, weights));
    bytes[20] ^= 4;
    writeFileSync(join(copy, weights), bytes);
    await expect(loadState(tx, params, `file://${copy}`)).rejects.toThrow(/^loadState: the values of state\[1\]\[0\]\.mu\.w do not match their checksum/);
    tf.dispose([params.w, params.layer.kernel]);
  });
});

describe('the checked-in checkpoint of packed states (format version 4, whose value counts become headers)', () => {
  // Adam bfloat16, Adam int8 and Lion int8 moments (checkpoint-v4-packed.ts), made on the cpu backend.
  const dir = `file://${resolve(__dirname, '..', 'fixtures', 'checkpoint-v4-packed')}`;
  /** Every tensor (dtype, shape, raw 32-bit words) and number of a tree, exactly: int32 words above 2^24 included. */
  const exact = (value: unknown): unknown[] =>
    value instanceof tf.Tensor
      ? [value.dtype, value.shape.join('x'), ...new Uint32Array(value.dataSync().slice().buffer as ArrayBuffer)]
      : Array.isArray(value)
        ? value.flatMap(exact)
        : value !== null && typeof value === 'object'
          ? Object.keys(value).sort().flatMap((k) => [k, ...exact((value as Record<string, unknown>)[k])])
          : [Object.is(value, -0) ? '-0' : value];

  it('loads bit for bit as the state its recipe makes now, and one more step from each is the same', async () => {
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    onTestFinished(() => tf.setBackend(previous).then(() => undefined));
    const before = tf.memory().numTensors;
    const tx = packedFixtureTx();
    const p0 = packedFixtureParams();
    const live = train(tx, p0, tx.init(p0), 0, PACKED_STEPS);
    const loaded = await loadState(tx, live.params, dir);
    const words = exact(loaded);
    expect(words).toEqual(exact(live.state));
    // Packed moments: int32 words, with half-filled bfloat16 words and part-filled int8 blocks.
    const inner = (loaded as unknown as { inner: Record<string, Array<{ mu: Record<string, { w: tf.Tensor }> }>> }).inner;
    expect([inner.adamBf16[0].mu.adamBf16.w.shape, inner.adamInt8[0].mu.adamInt8.w.shape, inner.lionInt8[0].mu.lionInt8.w.shape]).toEqual([
      [1 + 130], // header, ceil(259 / 2) words
      [1 + 2 + 65], // header, ceil(257 / 256) scales, ceil(257 / 4) words
      [1 + 2 + 66],
    ]);
    expect(words.some((w) => typeof w === 'number' && w > 2 ** 24 && w !== PACKED_STEPS)).toBe(true);
    // trainStep takes over the params and the state it is given: the loaded state steps from a copy.
    const fromLoaded = train(tx, treeMap((p) => tf.clone(p), live.params), loaded, PACKED_STEPS, PACKED_STEPS + 1);
    const fromLive = train(tx, live.params, live.state, PACKED_STEPS, PACKED_STEPS + 1);
    expect(exact(fromLoaded)).toEqual(exact(fromLive));
    treeDispose([fromLoaded, fromLive]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('saving a state that is no tree', () => {
  it('a cycle or nesting deeper than 1,000 levels is a TreeStructureError naming the path, not a stack overflow', () => {
    const tx = adam(0.1);
    const params = { w: tf.tensor1d([1, 2]) };
    const state = tx.init(params) as unknown as Array<Record<string, unknown>>;
    state[0].loop = state;
    expect(() => stateToArtifacts(state)).toThrow(TreeStructureError);
    expect(() => stateToArtifacts(state)).toThrow('stateToArtifacts: state[0].loop is state again (a cycle: state contains itself)');
    delete state[0].loop;
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = { d: deep };
    state[0].deep = deep;
    expect(() => stateToArtifacts(state)).toThrow(/^stateToArtifacts: state\[0\]\.deep\.d\.d.*deeper than 1,000 levels/);
    delete state[0].deep;
    treeDispose([params, state]);
  });
});
