// The fused kernels of the whole optimizer zoo against their own composite path: for every
// exported optimizer that runs a fused kernel on the backend (made with a learning rate of 1e-3
// and its defaults), ms per step of the composite tf-op path, of the fused kernel through the
// plain optax-style path (tx.update + applyUpdates) and of the fused step (trainStep), timed
// interleaved in the same process, with the ratios composite / fused.
//
//   npm run bench:zoo                          wasm, tree (b)
//   npm run bench:zoo -- --backend cpu --tree b,c --opt lion,adan
//   npm run bench:zoo -- --save                writes bench/results/zoo.md (full runs only)
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lib from '../src/index.js';
import { isOptimizer } from '../src/internal/aliases.js';
import { REPS, TREES, median, medianRatio, randomTree, timeInterleaved } from './common.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

/** The composite / fused ratio every fused optimizer should reach on tree (b) (issue 11). */
const TARGET = 5;

type Make = (lr: number) => lib.GradientTransformation<any>;

/** Every exported optimizer, by name. */
function optimizers(): Array<[string, Make]> {
  return Object.entries(lib)
    .filter(([, value]) => isOptimizer(value))
    .map(([name, make]) => [name, make as Make] as [string, Make])
    .sort(([a], [b]) => a.localeCompare(b));
}

interface Row {
  optimizer: string;
  tree: string;
  path: lib.KernelPath;
  compositeMs: number;
  fusedUpdateMs: number;
  fusedStepMs: number;
  compositeOverUpdate: number;
  compositeOverStep: number;
}

function measure(name: string, make: Make, treeKey: string): Row {
  const { label, shapes } = TREES[treeKey];
  const grads = randomTree(shapes, 2);
  const live: unknown[] = [];
  const plain = (kernels: lib.KernelMode): (() => void) => {
    const tx = make(1e-3);
    const slot = live.push(null) - 1;
    let params: lib.Params = randomTree(shapes, 1);
    let state = tx.init(params);
    live[slot] = [params, state];
    return () => {
      lib.setKernelMode(kernels);
      const [updates, next] = tx.update(grads, state, params);
      const nextParams = lib.applyUpdates(params, updates);
      lib.disposeReplaced([params, state, updates], [nextParams, next, grads]);
      params = nextParams;
      state = next;
      live[slot] = [params, state];
    };
  };
  const tx = make(1e-3);
  let params: lib.Params = randomTree(shapes, 1);
  let state = tx.init(params);
  const t = timeInterleaved({
    composite: plain('composite'),
    fusedUpdate: plain('auto'),
    fusedStep: () => {
      lib.setKernelMode('auto');
      ({ params, state } = lib.trainStep(tx, params, state, grads, { keepGrads: true }));
    },
  });
  const path = lib.kernelPath(tx);
  lib.treeDispose([live, params, state, grads]);
  return {
    optimizer: name,
    tree: label,
    path,
    compositeMs: median(t.composite),
    fusedUpdateMs: median(t.fusedUpdate),
    fusedStepMs: median(t.fusedStep),
    compositeOverUpdate: medianRatio(t.composite, t.fusedUpdate),
    compositeOverStep: medianRatio(t.composite, t.fusedStep),
  };
}

async function main(): Promise<void> {
  const backend = option('backend') ?? 'wasm';
  const trees = (option('tree') ?? 'b').split(',');
  for (const tree of trees) if (!(tree in TREES)) throw new Error(`--tree: unknown tree '${tree}' (known: ${Object.keys(TREES).join(', ')})`);
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner
  await tf.setBackend(backend);
  await tf.ready();
  const all = optimizers();
  const wanted = option('opt')?.split(',');
  for (const name of wanted ?? []) if (!all.some(([n]) => n === name)) throw new Error(`--opt: no exported optimizer '${name}'`);
  const fused = all.filter(([name, make]) => (wanted === undefined || wanted.includes(name)) && lib.kernelPath(make(1e-3)) !== 'composite');
  console.log(`${backend}: ${fused.length} optimizers with a fused kernel; ${cpus().length} cores, ${cpus()[0]?.model ?? ''}; tfjs ${tf.version_core}`);
  const rows: Row[] = [];
  for (const [name, make] of fused) {
    for (const tree of trees) {
      const row = measure(name, make, tree);
      rows.push(row);
      console.log(
        `${name.padEnd(26)} ${row.tree.padEnd(22)} composite ${row.compositeMs.toFixed(2).padStart(7)} ms  fused update ${row.fusedUpdateMs.toFixed(2).padStart(6)}` +
          `  fused step ${row.fusedStepMs.toFixed(2).padStart(6)}  ${row.compositeOverUpdate.toFixed(1).padStart(5)}x ${row.compositeOverStep.toFixed(1).padStart(6)}x`,
      );
    }
  }
  const header =
    `| optimizer | tree | kernel | composite ms | fused update ms | fused step ms | composite / fused update | composite / fused step | ≥ ${TARGET}x |\n` +
    '|---|---|---|---:|---:|---:|---:|---:|---|\n';
  const body = rows
    .map(
      (r) =>
        `| \`${r.optimizer}\` | ${r.tree} | ${r.path} | ${r.compositeMs.toFixed(2)} | ${r.fusedUpdateMs.toFixed(2)} | ${r.fusedStepMs.toFixed(2)} | ` +
        `${r.compositeOverUpdate.toFixed(1)}x | ${r.compositeOverStep.toFixed(1)}x | ${r.compositeOverUpdate >= TARGET ? '✓' : '✗'} |`,
    )
    .join('\n');
  const note =
    `\nBackend ${backend}, learning rate 1e-3 and each optimizer's defaults. Times are medians of ${REPS} repetitions after warm-up, ` +
    'the three ways of stepping interleaved in each repetition; ratios are medians of the per-repetition ratios. ' +
    `The last column: whether the plain path with the kernel is at least ${TARGET}x faster than the composite path.\n`;
  const filtered = Boolean(option('backend') || option('opt') || option('tree'));
  if (args.includes('--save') && filtered) throw new Error('--save keeps full runs only: drop --backend, --opt and --tree');
  const results = join(dirname(fileURLToPath(import.meta.url)), 'results');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const [dir, file] = args.includes('--save') ? [results, 'zoo'] : [join(results, 'runs'), `zoo-${stamp}${filtered ? '-partial' : ''}`];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${file}.md`), header + body + '\n' + note);
  console.log(`\n${header}${body}\n${note}\nwrote ${join('bench', 'results', dir === results ? '' : 'runs', file)}.md`);
}

await main();
