// SOAP and PSGD Kron against AdamW, each at its best learning rate from a small sweep, on two
// small problems: the MLP of examples/mlp.ts (a custom loop with trainStep) and a tfjs-layers
// model trained with model.fit through toTfOptimizer (the model of examples/fit.ts). Same data,
// same initial weights, same number of steps for every optimizer; the loss reported is the mean
// over the seeds of the final full-training-set loss. Then the cost of the float64 factorisations
// against the size of the factor, and of a factor-sized product in JS against tf.matMul.
//
//   npm run bench:preconditioned              prints the tables
//   npm run bench:preconditioned -- --save    and writes bench/results/preconditioned.md
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adamw, psgdKron, soap, toTfOptimizer, trainStep, treeDispose, valueAndGrad, type GradientTransformation, type Params } from '../src/index.js';
import { householderQ, matMul64, symmetricEigen } from '../src/internal/linalg.js';

type Make = (lr: number) => GradientTransformation<any>;

/**
 * The optimizers and their learning-rate sweeps per problem, each wide enough that the best rate
 * is inside it (weight decay 0.01 for all three; psgdKron decays the kernels only, as its reference).
 */
const CONTENDERS: Array<[string, Make, { mlp: number[]; layers: number[] }]> = [
  ['adamw', (lr) => adamw(lr, { weightDecay: 0.01 }), { mlp: [3e-3, 1e-2, 3e-2, 1e-1], layers: [1e-3, 3e-3, 1e-2, 3e-2] }],
  ['soap', (lr) => soap(lr, { weightDecay: 0.01 }), { mlp: [3e-3, 1e-2, 3e-2, 1e-1], layers: [1e-3, 3e-3, 1e-2, 3e-2] }],
  ['psgdKron', (lr) => psgdKron(lr, { weightDecay: 0.01 }), { mlp: [1e-3, 3e-3, 1e-2, 3e-2], layers: [3e-4, 1e-3, 3e-3, 1e-2] }],
];

/** mulberry32. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gaussian = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

// ---------------------------------------------------------------------------------------------
// 1. The MLP of examples/mlp.ts: 800 points (640 for training) in 20 dimensions, 3 classes, each
// a mixture of two blobs; 20-32-3 with ReLU; batches of 64; 30 epochs of 10 steps.

const MLP = { features: 20, classes: 3, points: 800, hidden: 32, batch: 64, steps: 300, seeds: [7, 8, 9] };
type Mlp = { dense1: { kernel: tf.Tensor; bias: tf.Tensor }; dense2: { kernel: tf.Tensor; bias: tf.Tensor } };

function mlpData(): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rand = rng(42);
  const { features, classes, points } = MLP;
  const blobs = Array.from({ length: classes * 2 }, () => Array.from({ length: features }, () => 0.6 * gaussian(rand)));
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < points; i++) {
    const label = i % classes;
    const blob = blobs[label * 2 + (rand() < 0.5 ? 0 : 1)];
    xs.push(blob.map((m) => m + gaussian(rand)));
    ys.push(label);
  }
  const order = xs.map((_, i) => i).sort(() => rand() - 0.5).slice(0, Math.floor(points * 0.8));
  return tf.tidy(() => ({
    x: tf.tensor2d(order.map((i) => xs[i])),
    y: tf.cast(tf.oneHot(tf.tensor1d(order.map((i) => ys[i]), 'int32'), classes), 'float32') as tf.Tensor2D,
  }));
}

function mlpInit(seed: number): Mlp {
  const rand = rng(seed);
  const glorot = (fanIn: number, fanOut: number) =>
    tf.tensor2d(Array.from({ length: fanIn }, () => Array.from({ length: fanOut }, () => gaussian(rand) * Math.sqrt(2 / (fanIn + fanOut)))));
  return { dense1: { kernel: glorot(MLP.features, MLP.hidden), bias: tf.zeros([MLP.hidden]) }, dense2: { kernel: glorot(MLP.hidden, MLP.classes), bias: tf.zeros([MLP.classes]) } };
}

const mlpLoss = (p: Mlp, x: tf.Tensor, y: tf.Tensor) =>
  tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, p.dense1.kernel), p.dense1.bias)), p.dense2.kernel), p.dense2.bias)) as tf.Scalar;

/** Final full-training-set loss and ms per step of `tx` from the seed's weights. */
function trainMlp(tx: GradientTransformation<any>, data: { x: tf.Tensor2D; y: tf.Tensor2D }, seed: number): { loss: number; ms: number } {
  let params = mlpInit(seed);
  let state = tx.init(params as unknown as Params);
  const batches = Math.floor(data.x.shape[0] / MLP.batch);
  const t0 = performance.now();
  for (let k = 0; k < MLP.steps; k++) {
    const b = k % batches;
    const [x, y] = tf.tidy(() => [tf.slice(data.x, [b * MLP.batch, 0], [MLP.batch, -1]), tf.slice(data.y, [b * MLP.batch, 0], [MLP.batch, -1])]);
    const { value, grads } = valueAndGrad((p: Mlp) => mlpLoss(p, x, y))(params);
    ({ params, state } = trainStep(tx, params, state, grads));
    tf.dispose([x, y, value]);
  }
  const ms = (performance.now() - t0) / MLP.steps;
  const loss = tf.tidy(() => mlpLoss(params, data.x, data.y).dataSync()[0]);
  treeDispose([params as unknown as Params, state]);
  return { loss, ms };
}

// ---------------------------------------------------------------------------------------------
// 2. The layers model of examples/fit.ts: 6000 points in 16 dimensions, 4 classes of three blobs
// each; 16-64-64-4 with ReLU and softmax; model.fit, batches of 32, 4 epochs (600 steps), no
// validation split; the seeds set the kernel initialisers.

const LAYERS = { features: 16, classes: 4, points: 6000, batch: 32, epochs: 4, seeds: [2, 12] };

function layersData(): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const rand = rng(1);
  const normal = () => gaussian(rand);
  const { features, classes, points } = LAYERS;
  const centres = Array.from({ length: classes * 3 }, () => Array.from({ length: features }, () => 0.8 * normal()));
  const xs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < points; i++) {
    const label = Math.floor(rand() * classes);
    const centre = centres[label * 3 + Math.floor(rand() * 3)];
    xs.push(centre.map((c) => c + normal()));
    labels.push(label);
  }
  return tf.tidy(() => ({ xs: tf.tensor2d(xs), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), classes) as tf.Tensor2D }));
}

function layersModel(seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 64, inputShape: [LAYERS.features], activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }));
  model.add(tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: seed + 1 }) }));
  model.add(tf.layers.dense({ units: LAYERS.classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  return model;
}

async function trainLayers(tx: GradientTransformation<any>, data: { xs: tf.Tensor2D; ys: tf.Tensor2D }, seed: number): Promise<{ loss: number; ms: number }> {
  const model = layersModel(seed);
  const optimizer = toTfOptimizer(tx);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const t0 = performance.now();
  // No shuffling: tfjs shuffles with Math.random, which would make runs differ.
  await model.fit(data.xs, data.ys, { epochs: LAYERS.epochs, batchSize: LAYERS.batch, shuffle: false, verbose: 0 });
  const steps = LAYERS.epochs * Math.ceil(LAYERS.points / LAYERS.batch);
  const ms = (performance.now() - t0) / steps;
  const result = model.evaluate(data.xs, data.ys, { batchSize: 1000 }) as tf.Scalar;
  const loss = result.dataSync()[0];
  result.dispose();
  optimizer.dispose();
  model.dispose();
  return { loss, ms };
}

// ---------------------------------------------------------------------------------------------

interface SweepRow {
  name: string;
  lr: number;
  loss: number;
  perSeed: number[];
  ms: number;
}

async function sweep(label: 'mlp' | 'layers', run: (tx: GradientTransformation<any>, seed: number) => Promise<{ loss: number; ms: number }> | { loss: number; ms: number }, seeds: number[]): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const [name, make, sweeps] of CONTENDERS) {
    for (const lr of sweeps[label]) {
      const perSeed: number[] = [];
      let ms = 0;
      for (const seed of seeds) {
        const r = await run(make(lr), seed);
        perSeed.push(r.loss);
        ms += r.ms / seeds.length;
      }
      const loss = perSeed.reduce((a, b) => a + b, 0) / perSeed.length;
      rows.push({ name, lr, loss, perSeed, ms });
      process.stderr.write(`  ${label}: ${name} lr ${lr}: loss ${loss.toPrecision(4)} (${ms.toFixed(2)} ms/step)\n`);
    }
  }
  return rows;
}

function sweepTable(rows: SweepRow[]): string {
  const best = new Map<string, SweepRow>();
  for (const r of rows) if (!best.has(r.name) || r.loss < best.get(r.name)!.loss || Number.isNaN(best.get(r.name)!.loss)) best.set(r.name, r);
  const lines = ['| optimizer | learning rate | final train loss (mean) | per seed | ms / step |', '|---|---:|---:|---|---:|'];
  for (const r of rows) {
    const mark = best.get(r.name) === r ? ' **best**' : '';
    lines.push(`| ${r.name} | ${r.lr} | ${r.loss.toPrecision(4)}${mark} | ${r.perSeed.map((x) => x.toPrecision(3)).join(', ')} | ${r.ms.toFixed(2)} |`);
  }
  const adamBest = best.get('adamw')!;
  lines.push('', '| optimizer | tuned rate | final train loss | vs adamw at its tuned rate |', '|---|---:|---:|---|');
  for (const r of best.values()) {
    const verdict = r.name === 'adamw' ? '—' : r.loss < adamBest.loss ? `lower (${((1 - r.loss / adamBest.loss) * 100).toFixed(1)}% less)` : `higher (${((r.loss / adamBest.loss - 1) * 100).toFixed(1)}% more)`;
    lines.push(`| ${r.name} | ${r.lr} | ${r.loss.toPrecision(4)} | ${verdict} |`);
  }
  return lines.join('\n');
}

/** Median ms of `fn` over `reps` runs. */
function time(fn: () => void, reps: number): number {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(reps / 2)];
}

function linalgTable(): string {
  const lines = [
    '| n | Jacobi eigh (JS f64) | Householder QR (JS f64) | n x n product, JS f64 | n x n product, tf.matMul (wasm, f32, with upload and read) |',
    '|---:|---:|---:|---:|---:|',
  ];
  for (const n of [16, 32, 64, 128, 256]) {
    const rand = rng(n);
    const b = Float64Array.from({ length: n * n }, () => rand() - 0.5);
    const s = Float64Array.from(b, (x, k) => (x + b[(k % n) * n + Math.floor(k / n)]) / 2);
    const reps = n >= 256 ? 3 : 7;
    const eigh = time(() => symmetricEigen(s, n), n >= 256 ? 1 : reps);
    const qr = time(() => householderQ(b, n), reps);
    const js = time(() => matMul64(b, s, n, n, n), reps);
    const tfm = time(() => {
      const r = tf.tidy(() => tf.matMul(tf.tensor2d(Float32Array.from(b), [n, n]), tf.tensor2d(Float32Array.from(s), [n, n])));
      r.dataSync();
      r.dispose();
    }, reps);
    lines.push(`| ${n} | ${eigh.toFixed(2)} ms | ${qr.toFixed(2)} ms | ${js.toFixed(2)} ms | ${tfm.toFixed(2)} ms |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const started = performance.now();
  const mlp = mlpData();
  const mlpRows = await sweep('mlp', (tx, seed) => trainMlp(tx, mlp, seed), MLP.seeds);
  tf.dispose([mlp.x, mlp.y]);
  const layers = layersData();
  const layersRows = await sweep('layers', (tx, seed) => trainLayers(tx, layers, seed), LAYERS.seeds);
  tf.dispose([layers.xs, layers.ys]);
  const linalg = linalgTable();
  const report = [
    '# SOAP and PSGD Kron against AdamW',
    '',
    `Produced by \`npm run bench:preconditioned -- --save\` on the wasm backend (Node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores shared with other jobs), ${((performance.now() - started) / 1000).toFixed(0)} s in all.`,
    'Weight decay 0.01 for all three (psgdKron decays the kernels only, as its reference); every other option at its default. ms / step is wall time on a shared machine: a rough guide only.',
    '',
    `## The MLP of examples/mlp.ts (custom loop, trainStep): ${MLP.steps} steps, batch ${MLP.batch}, seeds ${MLP.seeds.join(', ')}`,
    '',
    sweepTable(mlpRows),
    '',
    `## The layers model of examples/fit.ts (model.fit through toTfOptimizer): ${LAYERS.epochs} epochs of ${Math.ceil(LAYERS.points / LAYERS.batch)} steps, batch ${LAYERS.batch}, seeds ${LAYERS.seeds.join(', ')}`,
    '',
    'The loss is model.evaluate on the whole training set after the last epoch.',
    '',
    sweepTable(layersRows),
    '',
    '## The factorisations, by factor size (median ms)',
    '',
    'SOAP runs the eigendecomposition once per factor (at the first step) and the QR with two n x n products every `precondFrequency` steps; PSGD Kron inverts each triangular factor (n^3 / 3, cheaper than a product) at every preconditioner update.',
    '',
    linalg,
  ].join('\n');
  console.log(`\n${report}`);
  if (process.argv.includes('--save')) {
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'preconditioned.md');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${report}\n`);
    console.log(`\nwrote ${out}`);
  }
}

await main();
