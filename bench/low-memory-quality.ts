// Quality of the low-memory optimizer state (issue 20, item 4) on a small character-level
// language model: a one-hot LSTM in tfjs-layers, trained with model.trainOnBatch through
// toTfOptimizer on a fixed text that ships in the repo (bench/data/lighthouse.txt, prose written
// for this bench), with the same initial weights and the same batches for every run. Each
// optimizer runs with its moments in float32, bfloat16 and int8 (the stateDtype option); the
// final loss is the mean training loss of the last steps, compared with float32's.
//
// Backend: wasm, one-hot inputs. tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, the kernel
// behind an Embedding layer's gradient, so the characters go in as one-hot vectors (the LSTM's
// input kernel plays the embedding's part).
//
//   npm run bench:low-memory              prints the tables
//   npm run bench:low-memory -- --save    and writes bench/results/low-memory.md
//   LM_STEPS=100 npm run bench:low-memory  a shorter run (default 300 steps)
//
// Six runs of 300 steps take about 2 minutes of CPU on one core.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adam,
  adamw,
  chain,
  clipByGlobalNorm,
  stateBytes,
  toTfOptimizer,
  warmupCosineDecaySchedule,
  type GradientTransformation,
  type StateDtype,
} from '../src/index.js';
import { packValues, unpackValues } from '../src/internal/packed-codec.js';
import type { PackedFormat } from '../src/internal/state-dtype.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const STEPS = Number(process.env.LM_STEPS ?? 300);
const BATCH = 32;
const SEQ = 16;
const UNITS = 64;
const EVERY = 25; // a row of the curve every EVERY steps (mean loss of those steps)
const LAST = 20; // the final loss is the mean of the last LAST steps
const DTYPES: StateDtype[] = ['float32', 'bfloat16', 'int8'];
const LR = 1e-2;

const CONTENDERS: Array<[string, (dtype: StateDtype) => GradientTransformation<any>]> = [
  ['adam 1e-2', (stateDtype) => adam(LR, { stateDtype })],
  [
    'clip(1) + adamw 1e-2 (wd 1e-2), warmup-cosine',
    (stateDtype) =>
      chain(
        clipByGlobalNorm(1),
        adamw(warmupCosineDecaySchedule({ initValue: 0, peakValue: LR, warmupSteps: Math.round(STEPS / 10), decaySteps: STEPS, endValue: LR / 10 }), {
          weightDecay: 1e-2,
          stateDtype,
        }),
      ),
  ],
];

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The text, lower-cased with its whitespace runs folded to one space; its alphabet; the codes. */
function loadText(): { codes: Int32Array; vocab: string[] } {
  const text = readFileSync(join(HERE, 'data', 'lighthouse.txt'), 'utf8').toLowerCase().replace(/\s+/g, ' ').trim();
  const vocab = [...new Set(text)].sort();
  const index = new Map(vocab.map((c, i) => [c, i]));
  return { codes: Int32Array.from(text, (c) => index.get(c)!), vocab };
}

/** The windows of every batch: the first 90% of the text trains, the rest is held out. */
function batchStarts(trainLength: number): number[][] {
  const rand = rng(7);
  return Array.from({ length: STEPS }, () => Array.from({ length: BATCH }, () => Math.floor(rand() * (trainLength - SEQ - 1))));
}

/** One-hot inputs (characters t..t+SEQ-1) and targets (t+1..t+SEQ) for the windows at `starts`. */
function windows(codes: Int32Array, starts: number[], vocab: number): { xs: tf.Tensor3D; ys: tf.Tensor3D } {
  const x = new Int32Array(starts.length * SEQ);
  const y = new Int32Array(starts.length * SEQ);
  starts.forEach((s, b) => {
    x.set(codes.subarray(s, s + SEQ), b * SEQ);
    y.set(codes.subarray(s + 1, s + SEQ + 1), b * SEQ);
  });
  return tf.tidy(() => ({
    xs: tf.oneHot(tf.tensor2d(x, [starts.length, SEQ], 'int32'), vocab).toFloat() as tf.Tensor3D,
    ys: tf.oneHot(tf.tensor2d(y, [starts.length, SEQ], 'int32'), vocab).toFloat() as tf.Tensor3D,
  }));
}

/** The model; `seeded` draws the initial weights (from fixed seeds), else zeros, to be set. */
function makeModel(vocab: number, seeded: boolean): tf.LayersModel {
  const init = (make: () => ReturnType<typeof tf.initializers.zeros>) => (seeded ? make() : tf.initializers.zeros());
  const model = tf.sequential();
  model.add(tf.layers.lstm({
    units: UNITS,
    returnSequences: true,
    inputShape: [SEQ, vocab],
    kernelInitializer: init(() => tf.initializers.glorotUniform({ seed: 1 })),
    recurrentInitializer: init(() => tf.initializers.orthogonal({ seed: 2, gain: 1 })),
  }));
  model.add(tf.layers.dense({ units: vocab, activation: 'softmax', kernelInitializer: init(() => tf.initializers.glorotUniform({ seed: 3 })) }));
  return model;
}

/** Every leaf named `key` in a state tree, by path. */
function leavesUnder(state: unknown, key: string, path = ''): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  const visit = (node: unknown, p: string, inside: boolean): void => {
    if (node instanceof tf.Tensor) {
      if (inside) out.set(p, node);
    } else if (Array.isArray(node)) node.forEach((v, i) => visit(v, `${p}[${i}]`, inside));
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) visit(v, `${p}.${k}`, inside || k === key);
    }
  };
  visit(state, path, false);
  return out;
}

/** Every number `count` in a state tree (the Adam step count). */
function stepCount(state: unknown): number {
  if (state !== null && typeof state === 'object') {
    if (typeof (state as { count?: unknown }).count === 'number') return (state as { count: number }).count;
    for (const v of Object.values(state)) {
      const c = stepCount(v);
      if (c >= 0) return c;
    }
  }
  return -1;
}

/** A moment leaf's values as float32, decoding a packed leaf. */
function decode(t: tf.Tensor, dtype: StateDtype, signed: boolean): Float32Array {
  if (dtype === 'float32') return t.dataSync() as Float32Array;
  const format: PackedFormat = dtype === 'bfloat16' ? 'bfloat16' : signed ? 'int8-signed' : 'int8-unsigned';
  return unpackValues(format, t.dataSync() as Int32Array);
}

interface Moments {
  mu: Float32Array;
  nu: Float32Array;
  count: number;
  /** [offset, length] of each parameter leaf in mu and nu. */
  spans: Array<[number, number]>;
}

/** Adam's moments of every parameter, concatenated in one order, decoded to float32. */
function moments(state: unknown, dtype: StateDtype): Moments {
  const mus = leavesUnder(state, 'mu');
  const nus = leavesUnder(state, 'nu');
  const parts = (m: Map<string, tf.Tensor>, signed: boolean) =>
    [...m.keys()].sort().map((k) => decode(m.get(k)!, dtype, signed));
  const cat = (xs: Float32Array[]) => {
    const out = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
    let o = 0;
    for (const x of xs) { out.set(x, o); o += x.length; }
    return out;
  };
  const mu = parts(mus, true);
  let o = 0;
  const spans = mu.map((x): [number, number] => { o += x.length; return [o - x.length, x.length]; });
  return { mu: cat(mu), nu: cat(parts(nus, false)), count: stepCount(state), spans };
}

/** Adam's direction mu_hat / (sqrt(nu_hat) + eps) (before the learning rate). */
function direction({ mu, nu, count }: Moments, eps = 1e-8): Float64Array {
  const c1 = 1 - 0.9 ** count;
  const c2 = 1 - 0.999 ** count;
  return Float64Array.from(mu, (m, i) => m / c1 / (Math.sqrt(nu[i] / c2) + eps));
}

const norm = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
};

interface Run {
  losses: number[];
  heldOut: number;
  bytesPerParam: number;
  seconds: number;
  moments: Moments;
}

async function run(
  make: () => GradientTransformation<any>,
  dtype: StateDtype,
  init: tf.Tensor[],
  codes: Int32Array,
  vocab: number,
  starts: number[][],
  held: { xs: tf.Tensor3D; ys: tf.Tensor3D },
): Promise<Run> {
  const model = makeModel(vocab, false);
  model.setWeights(init);
  const optimizer = toTfOptimizer(make());
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const params = model.countParams();
  const losses: number[] = [];
  const t0 = performance.now();
  for (const s of starts) {
    const { xs, ys } = windows(codes, s, vocab);
    losses.push((await model.trainOnBatch(xs, ys)) as number);
    tf.dispose([xs, ys]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const heldOut = tf.tidy(() => (model.evaluate(held.xs, held.ys, { batchSize: 64 }) as tf.Scalar).dataSync()[0]);
  const state = optimizer.currentState;
  const result = { losses, heldOut, bytesPerParam: stateBytes(state) / params, seconds, moments: moments(state, dtype) };
  optimizer.dispose();
  model.dispose();
  return result;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const pct = (x: number, ref: number) => `${x >= ref ? '+' : ''}${((100 * (x - ref)) / ref).toFixed(2)}%`;

/**
 * What one int8 round trip does to float32 Adam's own final moments: how many non-zero second
 * moments decode to 0 (their coordinates then divide by eps alone), and how far the direction
 * moves; the same for bfloat16.
 */
function roundTrip(m: Moments, dtype: 'bfloat16' | 'int8'): { zeroed: number; nonzero: number; dirError: number; dirRatio: number } {
  const fmt = (signed: boolean): PackedFormat => (dtype === 'bfloat16' ? 'bfloat16' : signed ? 'int8-signed' : 'int8-unsigned');
  // The leaves are quantised one by one in blocks of 256 from their start; a round trip of the
  // concatenation would put blocks across leaf boundaries, so it goes by leaf sizes.
  const q = { mu: new Float32Array(m.mu.length), nu: new Float32Array(m.nu.length), count: m.count, spans: m.spans };
  for (const [o, n] of m.spans) {
    q.mu.set(unpackValues(fmt(true), packValues(fmt(true), m.mu.subarray(o, o + n))), o);
    q.nu.set(unpackValues(fmt(false), packValues(fmt(false), m.nu.subarray(o, o + n))), o);
  }
  let zeroed = 0;
  let nonzero = 0;
  m.nu.forEach((v, i) => {
    if (v > 0) {
      nonzero++;
      if (q.nu[i] === 0) zeroed++;
    }
  });
  const d = direction(m);
  const dq = direction(q);
  const diff = d.map((v, i) => dq[i] - v);
  return { zeroed, nonzero, dirError: norm(diff) / norm(d), dirRatio: norm(dq) / norm(d) };
}

async function main(): Promise<void> {
  const save = process.argv.includes('--save');
  await tf.setBackend('wasm');
  const lines: string[] = [];
  const log = (s = '') => {
    console.log(s);
    lines.push(s);
  };
  const { codes, vocab } = loadText();
  const V = vocab.length;
  const trainLength = Math.floor(codes.length * 0.9);
  const starts = batchStarts(trainLength);
  const heldStarts: number[] = [];
  for (let s = trainLength; s + SEQ + 1 <= codes.length; s += SEQ) heldStarts.push(s);
  const held = windows(codes, heldStarts, V);

  const template = makeModel(V, true);
  const init = template.getWeights().map((w) => w.clone());
  const params = template.countParams();
  const leafSizes = template.getWeights().map((w) => w.size);
  template.dispose();

  log(`backend ${tf.getBackend()} (${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()[0].toFixed(1)} at the start: the seconds are wall time on a shared machine), ${new Date().toISOString().slice(0, 10)}`);
  log(`text: bench/data/lighthouse.txt, ${codes.length} characters (lower-cased, whitespace folded), ${V} symbols; ` +
    `first 90% for training, last 10% held out (${heldStarts.length} windows)`);
  log(`model: one-hot(${V}) -> LSTM(${UNITS}, returnSequences) -> dense(${V}, softmax); ${params} parameters ` +
    `(leaves ${leafSizes.join(', ')}); batch ${BATCH} windows of ${SEQ} characters, ${STEPS} steps, ` +
    `same initial weights and batches for every run; model.trainOnBatch with toTfOptimizer`);
  log(`final = mean training loss of the last ${LAST} steps; held-out = loss on the held-out windows after the last step`);

  for (const [name, make] of CONTENDERS) {
    const runs = new Map<StateDtype, Run>();
    for (const dtype of DTYPES) {
      const r = await run(() => make(dtype), dtype, init, codes, V, starts, held);
      runs.set(dtype, r);
      process.stderr.write(`  ${name} ${dtype}: ${r.seconds.toFixed(1)} s\n`);
    }
    const f32 = runs.get('float32')!;
    log(`\n### ${name}\n`);
    log(`Training loss, mean over each block of ${EVERY} steps:\n`);
    log(`| steps | ${DTYPES.join(' | ')} | bf16 vs f32 | int8 vs f32 |`);
    log(`|---|${DTYPES.map(() => '---:').join('|')}|---:|---:|`);
    for (let s = 0; s < STEPS; s += EVERY) {
      const m = DTYPES.map((d) => mean(runs.get(d)!.losses.slice(s, s + EVERY)));
      log(`| ${s + 1}-${Math.min(s + EVERY, STEPS)} | ${m.map((x) => x.toFixed(4)).join(' | ')} | ${pct(m[1], m[0])} | ${pct(m[2], m[0])} |`);
    }
    log('');
    log(`| state | final loss | vs float32 | held-out loss | vs float32 | state bytes / param | seconds |`);
    log(`|---|---:|---:|---:|---:|---:|---:|`);
    const final = (r: Run) => mean(r.losses.slice(-LAST));
    for (const d of DTYPES) {
      const r = runs.get(d)!;
      log(`| ${d} | ${final(r).toFixed(4)} | ${d === 'float32' ? '' : pct(final(r), final(f32))} | ${r.heldOut.toFixed(4)} | ` +
        `${d === 'float32' ? '' : pct(r.heldOut, f32.heldOut)} | ${r.bytesPerParam.toFixed(3)} | ${r.seconds.toFixed(1)} |`);
    }
    // Where int8 differs: its own final moments, and one round trip of float32's.
    log('');
    const i8 = runs.get('int8')!.moments;
    let zeroNu = 0;
    let zeroNuMoving = 0;
    i8.nu.forEach((v, i) => {
      if (v === 0) {
        zeroNu++;
        if (i8.mu[i] !== 0) zeroNuMoving++;
      }
    });
    let f32Zero = 0;
    f32.moments.nu.forEach((v) => { if (v === 0) f32Zero++; });
    const dF = direction(f32.moments);
    const dI = direction(i8);
    log(`Second moments at the end: float32 run ${f32Zero} of ${dF.length} exactly 0; int8 run ${zeroNu} decode to 0, ` +
      `${zeroNuMoving} of them with a non-zero first moment. Norm of Adam's direction mu_hat/(sqrt(nu_hat)+eps): ` +
      `float32 run ${norm(dF).toExponential(3)}, int8 run ${norm(dI).toExponential(3)}; ` +
      `largest |component| ${Math.max(...dF.map(Math.abs)).toExponential(2)} vs ${Math.max(...dI.map(Math.abs)).toExponential(2)}.`);
    // The int8 run's second moments against float32's, coordinate by coordinate (the two runs
    // follow nearby trajectories from the same start on the same batches).
    const ratios: number[] = [];
    f32.moments.nu.forEach((v, i) => {
      if (v > 0 && i8.nu[i] > 0) ratios.push(Math.log(i8.nu[i] / v));
    });
    ratios.sort((a, b) => a - b);
    const q = (p: number) => Math.exp(ratios[Math.floor(p * (ratios.length - 1))]).toFixed(3);
    log(`int8 run's nu / float32 run's nu, per coordinate: geometric mean ${Math.exp(mean(ratios)).toFixed(3)}, ` +
      `quantiles 5% ${q(0.05)}, 25% ${q(0.25)}, 50% ${q(0.5)}, 75% ${q(0.75)}, 95% ${q(0.95)}.`);
    for (const d of ['bfloat16', 'int8'] as const) {
      const q = roundTrip(f32.moments, d);
      log(`One ${d} round trip of the float32 run's final moments: ${q.zeroed} of ${q.nonzero} non-zero second moments ` +
        `decode to 0; the direction moves by ${(100 * q.dirError).toFixed(2)}% of its norm (norm ratio ${q.dirRatio.toFixed(4)}).`);
    }
  }
  tf.dispose([held.xs, held.ys, ...init]);

  if (save) {
    const out = join(HERE, 'results', 'low-memory.md');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `# Low-memory optimizer state: quality on a char-level LSTM\n\n` +
      `Reproduce: \`npm run bench:low-memory -- --save\` (bench/low-memory-quality.ts)\n\n${lines.join('\n')}\n`);
    console.log(`\nwrote ${out}`);
  }
}

await main();
