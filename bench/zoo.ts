// The fused kernels of the whole optimizer zoo against their own composite path and against
// adam's: for every exported optimizer that runs a fused kernel on the backend (made with a
// learning rate of 1e-3 and its defaults), ms per step of the composite tf-op path, of the fused
// kernel through the plain optax-style path (tx.update + applyUpdates), of the fused step
// (trainStep) and of adam's fused step, timed interleaved in the same process, with the ratios
// composite / fused and fused step / adam's fused step. One column group per backend.
//
//   npm run bench:zoo                          wasm and cpu, tree (b)
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
/** The most a fused step may cost against adam's on the cpu backend, tree (b) (issue 18). */
const CPU_TARGET = 1.5;

type Make = (lr: number) => lib.GradientTransformation<any>;

/** Every exported optimizer, by name. */
function optimizers(): Array<[string, Make]> {
  return Object.entries(lib)
    .filter(([, value]) => isOptimizer(value))
    .map(([name, make]) => [name, make as Make] as [string, Make])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** One optimizer on one tree and backend. */
interface Cell {
  compositeMs: number;
  fusedUpdateMs: number;
  compositeOverUpdate: number;
  compositeOverStep: number;
  /** The fused step and adam's, timed interleaved in a pair of their own. */
  fusedStepMs: number;
  adamStepMs: number;
  stepOverAdam: number;
}

function measure(make: Make, treeKey: string): Cell {
  const { shapes } = TREES[treeKey];
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
  const fusedStep = (tx: lib.GradientTransformation<any>): (() => void) => {
    const slot = live.push(null) - 1;
    let params: lib.Params = randomTree(shapes, 1);
    let state = tx.init(params);
    live[slot] = [params, state];
    return () => {
      lib.setKernelMode('auto');
      ({ params, state } = lib.trainStep(tx, params, state, grads, { keepGrads: true }));
      live[slot] = [params, state];
    };
  };
  const tx = make(1e-3);
  const step = fusedStep(tx);
  const t = timeInterleaved({ composite: plain('composite'), fusedUpdate: plain('auto'), fusedStep: step });
  // Against adam in a pair of their own: after the plain paths' blocks (new tensors, garbage,
  // cold caches) a step measures slower than after another step.
  const pair = timeInterleaved({ fusedStep: step, adamStep: fusedStep(lib.adam(1e-3)) });
  lib.treeDispose([live, grads]);
  return {
    compositeMs: median(t.composite),
    fusedUpdateMs: median(t.fusedUpdate),
    compositeOverUpdate: medianRatio(t.composite, t.fusedUpdate),
    compositeOverStep: medianRatio(t.composite, t.fusedStep),
    fusedStepMs: median(pair.fusedStep),
    adamStepMs: median(pair.adamStep),
    stepOverAdam: medianRatio(pair.fusedStep, pair.adamStep),
  };
}

async function main(): Promise<void> {
  const backends = (option('backend') ?? 'wasm,cpu').split(',');
  const trees = (option('tree') ?? 'b').split(',');
  for (const tree of trees) if (!(tree in TREES)) throw new Error(`--tree: unknown tree '${tree}' (known: ${Object.keys(TREES).join(', ')})`);
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner
  const all = optimizers();
  const wanted = option('opt')?.split(',');
  for (const name of wanted ?? []) if (!all.some(([n]) => n === name)) throw new Error(`--opt: no exported optimizer '${name}'`);
  // cells[backend][optimizer][tree]
  const cells = new Map<string, Map<string, Map<string, Cell>>>();
  const names = new Set<string>();
  console.log(`${cpus().length} cores, ${cpus()[0]?.model ?? ''}; tfjs ${tf.version_core}`);
  for (const backend of backends) {
    await tf.setBackend(backend);
    await tf.ready();
    const fused = all.filter(([name, make]) => (wanted === undefined || wanted.includes(name)) && lib.kernelPath(make(1e-3)) !== 'composite');
    console.log(`${backend}: ${fused.length} optimizers with a fused kernel`);
    const byName = new Map<string, Map<string, Cell>>();
    cells.set(backend, byName);
    for (const [name, make] of fused) {
      names.add(name);
      byName.set(name, new Map());
      for (const tree of trees) {
        const c = measure(make, tree);
        byName.get(name)!.set(tree, c);
        console.log(
          `${backend.padEnd(5)} ${name.padEnd(26)} ${TREES[tree].label.padEnd(22)} composite ${c.compositeMs.toFixed(2).padStart(7)} ms  fused update ${c.fusedUpdateMs.toFixed(2).padStart(6)}` +
            `  fused step ${c.fusedStepMs.toFixed(2).padStart(6)}  adam's ${c.adamStepMs.toFixed(2).padStart(6)}` +
            `  ${c.compositeOverUpdate.toFixed(1).padStart(5)}x ${c.compositeOverStep.toFixed(1).padStart(6)}x  step / adam's ${c.stepOverAdam.toFixed(2)}x`,
        );
      }
    }
  }
  const group = (b: string) => [`${b} fused update ms`, `${b} fused step ms`, `${b} composite / fused update`, `${b} composite / fused step`, `${b} step / adam's step`];
  const header =
    `| optimizer | tree | ${backends.flatMap(group).join(' | ')} |\n` + `|---|---|${backends.flatMap(group).map(() => '---:').join('|')}|\n`;
  const mark = (ok: boolean) => (ok ? ' ✓' : ' ✗');
  const columns = (backend: string, name: string, tree: string): string[] => {
    const c = cells.get(backend)?.get(name)?.get(tree);
    if (c === undefined) return ['—', '—', '—', '—', '—'];
    return [
      c.fusedUpdateMs.toFixed(2),
      c.fusedStepMs.toFixed(2),
      `${c.compositeOverUpdate.toFixed(1)}x${backend === 'wasm' ? mark(c.compositeOverUpdate >= TARGET) : ''}`,
      `${c.compositeOverStep.toFixed(1)}x`,
      `${c.stepOverAdam.toFixed(2)}x${backend === 'cpu' ? mark(c.stepOverAdam <= CPU_TARGET) : ''}`,
    ];
  };
  const body = [...names]
    .sort((a, b) => a.localeCompare(b))
    .flatMap((name) => trees.map((tree) => `| \`${name}\` | ${TREES[tree].label} | ${backends.flatMap((b) => columns(b, name, tree)).join(' | ')} |`))
    .join('\n');
  const note =
    `\nBackends ${backends.join(' and ')}, learning rate 1e-3 and each optimizer's defaults. Times are medians of ${REPS} repetitions after warm-up, ` +
    "the three ways of stepping interleaved in each repetition (the composite / fused ratios), and then the fused step and adam's " +
    "in a pair of their own (the fused step's ms and step / adam's step); ratios are medians of the per-repetition ratios. " +
    `Marks: on wasm, whether the plain path with the kernel is at least ${TARGET}x faster than the composite path; ` +
    `on cpu, whether the fused step costs at most ${CPU_TARGET}x adam's. — where the optimizer has no fused kernel on that backend.\n`;
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
