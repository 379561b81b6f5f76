// Benchmarks one optimizer step against tf.train in the same process: ms per step (median of
// repeated runs after warm-up) for tf.train, our composite tf-op path, our fused kernels through
// the plain optax-style path (tx.update + applyUpdates) and the fused step (trainStep), with the
// ratios and the achieved memory bandwidth next to a copy bandwidth measured in the same run.
//
//   npm run bench                      all backends, optimizers and trees
//   npm run bench -- --quick           fewer repetitions
//   npm run bench -- --backend wasm --opt adam --tree a
//
// Writes bench/results/latest.json and latest.md (partial.* for a filtered run).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adam,
  adamw,
  applyUpdates,
  disposeReplaced,
  rmsprop,
  setKernelMode,
  sgd,
  trainStep,
  treeDispose,
  type GradientTransformation,
  type Params,
} from '../src/index.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const QUICK = args.includes('--quick');
const REPS = QUICK ? 5 : 9;

// ---------------------------------------------------------------------------------------------
// Trees

type Shapes = number[][];

function transformerShapes(): Shapes {
  const d = 256;
  const vocab = 4000;
  const layers = 6;
  const shapes: Shapes = [[vocab, d], [128, d]];
  for (let l = 0; l < layers; l++) {
    for (let k = 0; k < 4; k++) shapes.push([d, d], [d]); // query, key, value, output
    shapes.push([d, 4 * d], [4 * d], [4 * d, d], [d]); // MLP
    shapes.push([d], [d], [d], [d]); // two layer norms
  }
  shapes.push([d], [d]); // final layer norm
  return shapes;
}

const TREES: Record<string, { label: string; shapes: Shapes }> = {
  a: { label: '(a) 1 leaf of 1M', shapes: [[1000, 1000]] },
  b: { label: '(b) 100 leaves of 10k', shapes: Array.from({ length: 100 }, () => [100, 100]) },
  c: { label: '(c) 200 leaves of 64', shapes: Array.from({ length: 200 }, () => [64]) },
  d: { label: '(d) small transformer', shapes: transformerShapes() },
};

function paramCount(shapes: Shapes): number {
  return shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
}

function randomTree(shapes: Shapes, seed: number): tf.Tensor[] {
  return shapes.map((s, i) => tf.randomNormal(s, 0, 0.1, 'float32', seed * 1000 + i));
}

// ---------------------------------------------------------------------------------------------
// Optimizers: ours, tf.train's equivalent, and the bytes one fused step must move per parameter

interface Opt {
  make: () => GradientTransformation<any>;
  tfTrain?: () => tf.Optimizer;
  /** Bytes per parameter of one pass: read p, g and the state, write p and the state. */
  bytesPerParam: number;
}

const OPTS: Record<string, Opt> = {
  adam: { make: () => adam(1e-3, { eps: 1e-7 }), tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), bytesPerParam: 28 },
  adamw: { make: () => adamw(1e-3, { weightDecay: 1e-2 }), bytesPerParam: 28 },
  'sgd+momentum': { make: () => sgd(1e-2, { momentum: 0.9 }), tfTrain: () => tf.train.momentum(1e-2, 0.9), bytesPerParam: 20 },
  rmsprop: { make: () => rmsprop(1e-3, { eps: 1e-7 }), tfTrain: () => tf.train.rmsprop(1e-3, 0.9, 0, 1e-7), bytesPerParam: 20 },
};

// ---------------------------------------------------------------------------------------------
// Timing

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Median ms per call of `step`, after warm-up. Each repetition runs enough calls to last about
 * 20 ms, so short steps are not dominated by timer resolution.
 */
function timeSteps(step: () => void): number {
  for (let i = 0; i < 3; i++) step();
  const t0 = performance.now();
  step();
  const once = Math.max(performance.now() - t0, 0.01);
  const calls = Math.max(1, Math.min(200, Math.round(20 / once)));
  const samples: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) step();
    samples.push((performance.now() - start) / calls);
  }
  return median(samples);
}

/**
 * Copy bandwidth (read + write) of a 16 MiB Float32Array, GB/s, median of repeated runs: a
 * 32 MiB working set, like one Adam step on tree (a) (28 MB).
 */
function copyBandwidth(): number {
  const n = 4 * 1024 * 1024;
  const src = new Float32Array(n).fill(1);
  const dst = new Float32Array(n);
  const ms = timeSteps(() => dst.set(src));
  return (2 * 4 * n) / (ms * 1e6);
}

// ---------------------------------------------------------------------------------------------
// One measurement

interface Row {
  backend: string;
  optimizer: string;
  tree: string;
  params: number;
  leaves: number;
  tfTrainMs: number | null;
  compositeMs: number;
  fusedUpdateMs: number;
  fusedStepMs: number;
  fusedGBs: number;
}

function measure(backend: string, name: string, opt: Opt, treeKey: string): Row {
  const { label, shapes } = TREES[treeKey];
  const n = paramCount(shapes);
  const grads = randomTree(shapes, 2);

  // tf.train on variables.
  let tfTrainMs: number | null = null;
  if (opt.tfTrain) {
    const optimizer = opt.tfTrain();
    const vars = randomTree(shapes, 1).map((t, i) => {
      const v = tf.variable(t, true, `bench_${backend}_${name}_${treeKey}_${i}`);
      t.dispose();
      return v;
    });
    const named = Object.fromEntries(vars.map((v, i) => [v.name, grads[i]]));
    tfTrainMs = timeSteps(() => optimizer.applyGradients(named));
    optimizer.dispose();
    vars.forEach((v) => v.dispose());
  }

  // Ours: the plain optax-style step, composite then fused, and the fused trainStep.
  const plain = (): (() => void) => {
    const tx = opt.make();
    let params: Params = randomTree(shapes, 1);
    let state = tx.init(params);
    return () => {
      const [updates, next] = tx.update(grads, state, params);
      const nextParams = applyUpdates(params, updates);
      disposeReplaced([params, state, updates], [nextParams, next, grads]);
      params = nextParams;
      state = next;
    };
  };
  setKernelMode('composite');
  const compositeMs = timeSteps(plain());
  setKernelMode('auto');
  const fusedUpdateMs = timeSteps(plain());
  const tx = opt.make();
  let params: Params = randomTree(shapes, 1);
  let state = tx.init(params);
  const fusedStepMs = timeSteps(() => {
    ({ params, state } = trainStep(tx, params, state, grads, { keepGrads: true }));
  });
  treeDispose([params, state, grads]);
  tf.disposeVariables();

  return {
    backend,
    optimizer: name,
    tree: label,
    params: n,
    leaves: shapes.length,
    tfTrainMs,
    compositeMs,
    fusedUpdateMs,
    fusedStepMs,
    fusedGBs: (opt.bytesPerParam * n) / (fusedStepMs * 1e6),
  };
}

// ---------------------------------------------------------------------------------------------

const fmt = (x: number | null, digits = 2) => (x === null ? '—' : x.toFixed(digits));
const ratio = (a: number | null, b: number) => (a === null ? '—' : `${(a / b).toFixed(1)}x`);

async function main(): Promise<void> {
  const backends = option('backend') ? [option('backend')!] : ['wasm', 'cpu'];
  const opts = option('opt') ? [option('opt')!] : Object.keys(OPTS);
  const trees = option('tree') ? [option('tree')!] : Object.keys(TREES);
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner
  const rows: Row[] = [];
  const bandwidth = copyBandwidth();
  console.log(`copy bandwidth ${bandwidth.toFixed(1)} GB/s; ${cpus().length} cores, ${cpus()[0]?.model ?? ''}; tfjs ${tf.version_core}`);
  for (const backend of backends) {
    await tf.setBackend(backend);
    await tf.ready();
    for (const name of opts) {
      for (const tree of trees) {
        const row = measure(backend, name, OPTS[name], tree);
        rows.push(row);
        console.log(
          `${backend.padEnd(5)} ${name.padEnd(13)} ${row.tree.padEnd(24)} tf.train ${fmt(row.tfTrainMs).padStart(8)} ms` +
            `  composite ${fmt(row.compositeMs).padStart(8)}  fused update ${fmt(row.fusedUpdateMs).padStart(7)}` +
            `  fused step ${fmt(row.fusedStepMs).padStart(7)} ms  ${ratio(row.tfTrainMs, row.fusedStepMs).padStart(7)}` +
            `  ${row.fusedGBs.toFixed(1)} GB/s`,
        );
      }
    }
  }

  const header =
    '| backend | optimizer | tree | params | tf.train ms | composite ms | fused update ms | fused step ms | tf.train / fused step | tf.train / composite | fused update / step | fused GB/s |\n' +
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n';
  const body = rows
    .map(
      (r) =>
        `| ${r.backend} | ${r.optimizer} | ${r.tree} | ${(r.params / 1e6).toFixed(2)}M | ${fmt(r.tfTrainMs)} | ${fmt(r.compositeMs)} | ` +
        `${fmt(r.fusedUpdateMs)} | ${fmt(r.fusedStepMs)} | ${ratio(r.tfTrainMs, r.fusedStepMs)} | ${ratio(r.tfTrainMs, r.compositeMs)} | ` +
        `${(r.fusedUpdateMs / r.fusedStepMs).toFixed(2)}x | ${r.fusedGBs.toFixed(1)} |`,
    )
    .join('\n');
  const note = `\nCopy bandwidth measured in the same run: ${bandwidth.toFixed(1)} GB/s. Medians of ${REPS} repetitions after warm-up.\n`;
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  // A filtered run (--backend, --opt, --tree) does not replace the full results.
  const file = option('backend') || option('opt') || option('tree') ? 'partial' : 'latest';
  writeFileSync(join(dir, `${file}.md`), header + body + '\n' + note);
  writeFileSync(
    join(dir, `${file}.json`),
    JSON.stringify({ date: new Date().toISOString(), tfjs: tf.version_core, copyBandwidthGBs: bandwidth, reps: REPS, rows }, null, 2),
  );
  console.log(`\n${header}${body}\n${note}\nwrote bench/results/${file}.md and ${file}.json`);
}

await main();
