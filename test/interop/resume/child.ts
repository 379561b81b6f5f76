// A fresh process for resume.test.ts: `first` trains 50 steps of every case and saves each state
// (and the params) to disk; `second` loads them, trains 50 more and prints fingerprints of the
// final params and state. The layers part does the same with model.save / tf.loadLayersModel.
// Usage: tsx test/interop/resume/child.ts first|second <dir>   (TFJS_BACKEND, TFJS_KERNELS as setup.ts)
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileHandler, loadState, resumeTfOptimizer, saveState, setKernelMode, toTfOptimizer } from '../../../src/index.js';
import { CASES, fingerprint, initialParams, train, type TestParams } from './cases.js';
import { layersData, layersModel, layersTx, LAYERS_EPOCHS, LAYERS_FIT } from './layers-case.js';

const [phase, dir] = process.argv.slice(2);
// IS_TEST stays off: tfjs's per-kernel leak check trips on the wasm backend's own matMul
// gradient inside model.fit (see tf-optimizer.test.ts).
await tf.setBackend(process.env.TFJS_BACKEND ?? 'wasm');
if (process.env.TFJS_KERNELS === 'composite') setKernelMode('composite');

const out: Record<string, Array<number | string>> = {};
for (const [name, make] of Object.entries(CASES)) {
  const tx = make();
  const where = join(dir, name);
  if (phase === 'first') {
    const params0 = initialParams();
    const { params, state } = train(tx, params0, tx.init(params0), 0, 50);
    await saveState(state, `file://${join(where, 'state')}`, { params });
    const values = { kernel: Array.from(params.layer.kernel.dataSync()), bias: Array.from(params.layer.bias.dataSync()), scale: Array.from(params.scale.dataSync()) };
    mkdirSync(where, { recursive: true });
    writeFileSync(join(where, 'params.json'), JSON.stringify(values));
  } else {
    const v = JSON.parse(readFileSync(join(where, 'params.json'), 'utf8'));
    const params: TestParams = { layer: { kernel: tf.tensor2d(v.kernel, [3, 4]), bias: tf.tensor1d(v.bias) }, scale: tf.scalar(v.scale[0]) };
    const state = await loadState(tx, params, `file://${join(where, 'state')}`);
    const end = train(tx, params, state, 50, 100);
    out[name] = fingerprint(end);
  }
}

// A layers model trained with model.fit, saved with its optimizer, loaded and resumed.
const { xs, ys } = layersData();
const modelJson = join(dir, 'layers', 'model.json');
if (phase === 'first') {
  const model = layersModel();
  model.compile({ optimizer: toTfOptimizer(layersTx()), loss: 'meanSquaredError' });
  await model.fit(xs, ys, { ...LAYERS_FIT, epochs: LAYERS_EPOCHS });
  await model.save(fileHandler(modelJson), { includeOptimizer: true });
} else {
  const model = await tf.loadLayersModel(fileHandler(modelJson));
  resumeTfOptimizer(model, layersTx());
  await model.fit(xs, ys, { ...LAYERS_FIT, epochs: LAYERS_EPOCHS });
  out.layers = fingerprint(model.getWeights());
  out['layers-iterations'] = [model.optimizer.iterations];
}
if (phase === 'second') process.stdout.write(JSON.stringify(out));
