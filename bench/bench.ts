// Benchmarks one optimizer step against tf.train in the same process: ms per step (median of
// repeated runs after warm-up) for tf.train, our composite tf-op path, our fused kernels through
// the plain optax-style path (tx.update + applyUpdates) and the fused step (trainStep), with the
// ratios and the achieved memory bandwidth next to a copy bandwidth measured in the same run.
//
//   npm run bench                      all backends, optimizers and trees
//   npm run bench -- --quick           fewer repetitions
//   npm run bench -- --backend wasm --opt adam,adamw --tree a,b   (comma-separated lists)
//   npm run bench -- --save            a full run, saved as the committed results
//
// Writes each run to bench/results/runs/ (not tracked by git); `--save` (full runs only) writes
// bench/results/latest.json and latest.md instead, the committed figures the README and the performance guide quote.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adabelief,
  adam,
  adan,
  addDecayedWeights,
  adamw,
  applyIfFinite,
  averageParams,
  globalNorm,
  monitor,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeReplaced,
  flatten,
  injectHyperparams,
  lion,
  multiSteps,
  namedChain,
  rmsprop,
  rprop,
  setKernelMode,
  sgd,
  trainStep,
  treeDispose,
  type GradientTransformation,
  type Params,
} from '../src/index.js';
import { REPS, TREES, median, medianRatio, paramCount, randomTree, timeInterleaved, timeSteps } from './common.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

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
  // The wrapped forms people run, each against tf.train.adam (tf.train has no AdamW, clipping,
  // accumulation or injection); compare their fused step with adamw's for the cost of wrapping.
  'inject(adamw)': {
    make: () => injectHyperparams(adamw)({ learningRate: 1e-3, weightDecay: 1e-2 }),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    bytesPerParam: 28,
  },
  'ifFinite(clip+adamw)': {
    make: () => applyIfFinite(chain(clipByGlobalNorm(1), adamw(1e-3, { weightDecay: 1e-2 })), { maxConsecutiveErrors: 5 }),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    // The gradients are read once more, for the norm.
    bytesPerParam: 32,
  },
  'multiSteps(adamw|4)': {
    make: () => multiSteps(adamw(1e-3, { weightDecay: 1e-2 }), { everyK: 4 }),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    // Per micro-step: read g and the accumulator, write the accumulator; a quarter of a step.
    bytesPerParam: 12 + 28 / 4,
  },
  // Telemetry: a monitor of the gradients' norm at the head of the chain (the clip's sum of
  // squares gives it); compare with the same chain without it (clip+adamw).
  'clip+adamw': {
    make: () => chain(clipByGlobalNorm(1), adamw(1e-3, { weightDecay: 1e-2 })),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    bytesPerParam: 32,
  },
  'monitor+clip+adamw': {
    make: () => chain(monitor({ gradNorm: globalNorm }), clipByGlobalNorm(1), adamw(1e-3, { weightDecay: 1e-2 })),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    bytesPerParam: 32,
  },
  // Weight averaging: one more pass over the parameters and the average after the step.
  'ema(adamw)': {
    make: () => averageParams(adamw(1e-3, { weightDecay: 1e-2 }), { kind: 'ema', decay: 0.999 }),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    bytesPerParam: 28 + 12,
  },
  'named(clip+adamw)': {
    make: () => namedChain(['clip', clipByGlobalNorm(1)], ['opt', adamw(1e-3, { weightDecay: 1e-2 })]),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    bytesPerParam: 32,
  },
  // Users' chains of element steps, against tf.train.adam: an L2-regularised Adam, and Lion (no
  // tf.train equivalent).
  'chain(l2+adam)': {
    make: () => chain(addDecayedWeights(1e-4), adam(1e-3, { eps: 1e-7 })),
    tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7),
    bytesPerParam: 28,
  },
  lion: { make: () => lion(1e-4, { weightDecay: 1e-2 }), tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), bytesPerParam: 20 },
  // More generated kernels, against tf.train.adam: AdaBelief (Adam's traffic), Adan (four state
  // slots: 44 bytes) and Rprop (comparisons and selections rather than square roots).
  adabelief: { make: () => adabelief(1e-3), tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), bytesPerParam: 28 },
  adan: { make: () => adan(1e-3, { weightDecay: 1e-2 }), tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), bytesPerParam: 44 },
  rprop: { make: () => rprop(1e-3), tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), bytesPerParam: 28 },
  'flatten(adam)': { make: () => flatten(adam(1e-3, { eps: 1e-7 })), tfTrain: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), bytesPerParam: 28 },
};

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
  /** Medians over repetitions of the per-repetition ratios. */
  tfTrainOverStep: number | null;
  tfTrainOverComposite: number | null;
  updateOverStep: number;
  fusedGBs: number;
}

function measure(backend: string, name: string, opt: Opt, treeKey: string): Row {
  const { label, shapes } = TREES[treeKey];
  const n = paramCount(shapes);
  const grads = randomTree(shapes, 2);

  // The four ways of stepping, each on its own parameters and state, timed interleaved.
  const steps: Record<string, () => void> = {};
  let optimizer: tf.Optimizer | undefined;
  if (opt.tfTrain) {
    optimizer = opt.tfTrain();
    const vars = randomTree(shapes, 1).map((t, i) => {
      const v = tf.variable(t, true, `bench_${backend}_${name}_${treeKey}_${i}`);
      t.dispose();
      return v;
    });
    const named = Object.fromEntries(vars.map((v, i) => [v.name, grads[i]]));
    const train = optimizer;
    steps.tfTrain = () => train.applyGradients(named);
  }
  // Ours: the plain optax-style step on the composite path and with the kernels, and trainStep.
  const live: unknown[] = [];
  const plain = (kernels: 'composite' | 'auto'): (() => void) => {
    const tx = opt.make();
    const slot = live.push(null) - 1;
    let params: Params = randomTree(shapes, 1);
    let state = tx.init(params);
    live[slot] = [params, state];
    return () => {
      setKernelMode(kernels);
      const [updates, next] = tx.update(grads, state, params);
      const nextParams = applyUpdates(params, updates);
      disposeReplaced([params, state, updates], [nextParams, next, grads]);
      params = nextParams;
      state = next;
      live[slot] = [params, state];
    };
  };
  steps.composite = plain('composite');
  steps.fusedUpdate = plain('auto');
  const tx = opt.make();
  let params: Params = randomTree(shapes, 1);
  let state = tx.init(params);
  steps.fusedStep = () => {
    setKernelMode('auto');
    ({ params, state } = trainStep(tx, params, state, grads, { keepGrads: true }));
  };
  const t = timeInterleaved(steps);
  setKernelMode('auto');
  optimizer?.dispose();
  treeDispose([live, params, state, grads]);
  tf.disposeVariables();

  const fusedStepMs = median(t.fusedStep);
  return {
    backend,
    optimizer: name,
    tree: label,
    params: n,
    leaves: shapes.length,
    tfTrainMs: t.tfTrain ? median(t.tfTrain) : null,
    compositeMs: median(t.composite),
    fusedUpdateMs: median(t.fusedUpdate),
    fusedStepMs,
    tfTrainOverStep: t.tfTrain ? medianRatio(t.tfTrain, t.fusedStep) : null,
    tfTrainOverComposite: t.tfTrain ? medianRatio(t.tfTrain, t.composite) : null,
    updateOverStep: medianRatio(t.fusedUpdate, t.fusedStep),
    fusedGBs: (opt.bytesPerParam * n) / (fusedStepMs * 1e6),
  };
}

// ---------------------------------------------------------------------------------------------

const fmt = (x: number | null, digits = 2) => (x === null ? '—' : x.toFixed(digits));
const ratio = (x: number | null, digits = 1) => (x === null ? '—' : `${x.toFixed(digits)}x`);

async function main(): Promise<void> {
  const backends = option('backend') ? option('backend')!.split(',') : ['wasm', 'cpu'];
  const opts = option('opt') ? option('opt')!.split(',') : Object.keys(OPTS);
  const trees = option('tree') ? option('tree')!.split(',') : Object.keys(TREES);
  for (const name of opts) if (!(name in OPTS)) throw new Error(`--opt: unknown optimizer '${name}' (known: ${Object.keys(OPTS).join(', ')})`);
  for (const tree of trees) if (!(tree in TREES)) throw new Error(`--tree: unknown tree '${tree}' (known: ${Object.keys(TREES).join(', ')})`);
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
          `${backend.padEnd(5)} ${name.padEnd(20)} ${row.tree.padEnd(24)} tf.train ${fmt(row.tfTrainMs).padStart(8)} ms` +
            `  composite ${fmt(row.compositeMs).padStart(8)}  fused update ${fmt(row.fusedUpdateMs).padStart(7)}` +
            `  fused step ${fmt(row.fusedStepMs).padStart(7)} ms  ${ratio(row.tfTrainOverStep).padStart(7)}  composite ${ratio(row.tfTrainOverComposite, 2)}` +
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
        `${fmt(r.fusedUpdateMs)} | ${fmt(r.fusedStepMs)} | ${ratio(r.tfTrainOverStep)} | ${ratio(r.tfTrainOverComposite, 2)} | ` +
        `${ratio(r.updateOverStep, 2)} | ${r.fusedGBs.toFixed(1)} |`,
    )
    .join('\n');
  const note =
    `\nCopy bandwidth measured in the same run: ${bandwidth.toFixed(1)} GB/s. Times are medians of ${REPS} repetitions after warm-up, ` +
    `the four ways of stepping interleaved in each repetition; ratios are medians of the per-repetition ratios.\n`;
  // Every run goes to bench/results/runs/ (git-ignored). The committed bench/results/latest.*,
  // which the README and the performance guide quote, change only when a full run is deliberately saved with --save.
  const filtered = Boolean(option('backend') || option('opt') || option('tree'));
  if (args.includes('--save') && filtered) throw new Error('--save keeps full runs only: drop --backend, --opt and --tree');
  const results = join(dirname(fileURLToPath(import.meta.url)), 'results');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const [dir, file] = args.includes('--save') ? [results, 'latest'] : [join(results, 'runs'), `${stamp}${filtered ? '-partial' : ''}`];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${file}.md`), header + body + '\n' + note);
  writeFileSync(
    join(dir, `${file}.json`),
    JSON.stringify({ date: new Date().toISOString(), tfjs: tf.version_core, copyBandwidthGBs: bandwidth, reps: REPS, rows }, null, 2),
  );
  const where = join('bench', 'results', dir === results ? '' : 'runs', file);
  console.log(`\n${header}${body}\n${note}\nwrote ${where}.md and ${where}.json`);
}

await main();
