// What a wrapper or a monitor costs on top of the step it wraps: trainStep of each pair, timed
// interleaved in the same process, as the median of the per-repetition ratios.
//
//   npm run bench:overhead                      every pair, trees (a)-(d), wasm and cpu
//   npm run bench:overhead -- --tree b --backend wasm
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { adamw, averageParams, chain, clipByGlobalNorm, globalNorm, monitor, trainStep, treeDispose, type GradientTransformation, type Params } from '../src/index.js';
import { TREES, median, medianRatio, randomTree, timeInterleaved } from './common.js';

const adamwOf = () => adamw(1e-3, { weightDecay: 1e-2 });
/** [name, the step with it, the step without it]. */
const PAIRS: Array<[string, () => GradientTransformation<any>, () => GradientTransformation<any>]> = [
  ['monitor({ gradNorm: globalNorm }) before clip+adamw', () => chain(monitor({ gradNorm: globalNorm }), clipByGlobalNorm(1), adamwOf()), () => chain(clipByGlobalNorm(1), adamwOf())],
  ["averageParams(adamw, { kind: 'ema' })", () => averageParams(adamwOf(), { kind: 'ema', decay: 0.999 }), adamwOf],
];

const args = process.argv.slice(2);
const list = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1].split(',') : undefined;
};
tf.env().set('IS_TEST', true);
const rows = ['| backend | tree | with | ms with | ms without | with / without |', '|---|---|---|---:|---:|---:|'];
for (const backend of list('backend') ?? ['wasm', 'cpu']) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const tree of list('tree') ?? Object.keys(TREES)) {
    for (const [name, withIt, without] of PAIRS) {
      const grads = randomTree(TREES[tree].shapes, 2);
      const live: unknown[] = [];
      const stepOf = (make: () => GradientTransformation<any>) => {
        const tx = make();
        let params: Params = randomTree(TREES[tree].shapes, 1);
        let state = tx.init(params);
        const slot = live.push([params, state]) - 1;
        return () => {
          ({ params, state } = trainStep(tx, params, state, grads, { keepGrads: true }));
          live[slot] = [params, state];
        };
      };
      const t = timeInterleaved({ with: stepOf(withIt), without: stepOf(without) });
      treeDispose([live, grads]);
      const row = `| ${backend} | ${TREES[tree].label} | ${name} | ${median(t.with).toFixed(2)} | ${median(t.without).toFixed(2)} | ${medianRatio(t.with, t.without).toFixed(2)} |`;
      console.log(row);
      rows.push(row);
    }
  }
}
console.log(`\n${rows.join('\n')}`);
