// Gate of issue 18: generated programs against the hand-written kernels, same process, interleaved.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { adagrad, adam, adamw, applyUpdates, disposeReplaced, nadam, rmsprop, sgd, trainStep, treeDispose, type GradientTransformation, type Params } from '../src/index.js';
import { setPreferGenerated } from '../src/kernels/fused.js';
import { TREES, medianRatio, randomTree, timeInterleaved } from './common.js';

const OPTS: Record<string, () => GradientTransformation<any>> = {
  adam: () => adam(1e-3),
  adamw: () => adamw(1e-3, { weightDecay: 1e-2 }),
  nadam: () => nadam(1e-3),
  'sgd+mom': () => sgd(1e-2, { momentum: 0.9 }),
  'sgd+nesterov': () => sgd(1e-2, { momentum: 0.9, nesterov: true }),
  'rms centered': () => rmsprop(1e-3, { centered: true }),
  'rms momentum': () => rmsprop(1e-3, { momentum: 0.9 }),
  adagrad: () => adagrad(1e-2),
};
const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(`--${n}`); return i >= 0 ? args[i + 1].split(',') : undefined; };
tf.env().set('IS_TEST', true);
const lines: string[] = ['| backend | optimizer | tree | update gen/hand | trainStep gen/hand |', '|---|---|---|---:|---:|'];
for (const backend of opt('backend') ?? ['wasm', 'cpu']) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const name of opt('opt') ?? Object.keys(OPTS)) {
    for (const tree of opt('tree') ?? Object.keys(TREES)) {
      const shapes = TREES[tree].shapes;
      const grads = randomTree(shapes, 2);
      const live: unknown[] = [];
      const plain = (gen: boolean) => {
        const tx = OPTS[name]();
        let params: Params = randomTree(shapes, 1);
        let state = tx.init(params);
        const slot = live.push([params, state]) - 1;
        return () => {
          setPreferGenerated(gen);
          const [u, s] = tx.update(grads, state, params);
          const p = applyUpdates(params, u);
          disposeReplaced([params, state, u], [p, s, grads]);
          params = p; state = s; live[slot] = [params, state];
        };
      };
      const step = (gen: boolean) => {
        const tx = OPTS[name]();
        let params: Params = randomTree(shapes, 1);
        let state = tx.init(params);
        const slot = live.push([params, state]) - 1;
        return () => {
          setPreferGenerated(gen);
          ({ params, state } = trainStep(tx, params, state, grads, { keepGrads: true }));
          live[slot] = [params, state];
        };
      };
      const t = timeInterleaved({ uh: plain(false), ug: plain(true), sh: step(false), sg: step(true) });
      setPreferGenerated(false);
      treeDispose([live, grads]);
      const line = `| ${backend} | ${name} | ${tree} | ${medianRatio(t.ug, t.uh).toFixed(2)} | ${medianRatio(t.sg, t.sh).toFixed(2)} |`;
      console.log(line);
      lines.push(line);
    }
  }
}
console.log(lines.join('\n'));
