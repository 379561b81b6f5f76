import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelPath, toTfOptimizer } from '../../src/index.js';
import { CASES, fingerprint, initialParams, train } from './resume/cases.js';
import { layersData, layersModel, layersTx, LAYERS_EPOCHS, LAYERS_FIT } from './resume/layers-case.js';

// Exact resume across processes: 50 steps, save, load in a fresh process, 50 more must equal
// 100 straight, bit for bit (params and state), for every optimizer and for chains with
// schedules, clipping and masks; and a layers model saved with its optimizer and loaded with
// tf.loadLayersModel continues exactly. The child processes run on this run's backend and
// kernel mode (TFJS_BACKEND, TFJS_KERNELS), so scripts/test-paths.mjs covers the fused and
// the composite path.

tf.env().set('IS_TEST', false); // see tf-optimizer.test.ts

const ROOT = resolve(__dirname, '..', '..');
let dir = '';
let resumed: Record<string, Array<number | string>> = {};

function child(phase: 'first' | 'second'): string {
  const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  return execFileSync(process.execPath, [tsx, join('test', 'interop', 'resume', 'child.ts'), phase, dir], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TFJS_BACKEND: tf.getBackend() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-resume-'));
  child('first');
  resumed = JSON.parse(child('second'));
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`exact resume in a fresh process (${process.env.TFJS_BACKEND ?? 'wasm'}, ${process.env.TFJS_KERNELS ?? 'auto'})`, () => {
  it.each(Object.keys(CASES))('%s: 50 + save + load + 50 = 100 straight, bit for bit', (name) => {
    const tx = CASES[name]();
    const params = initialParams();
    const straight = train(tx, params, tx.init(params), 0, 100);
    const expected = fingerprint(straight);
    expect(resumed[name]).toHaveLength(expected.length);
    expect(resumed[name]).toEqual(expected);
    if (name === 'adam') expect(kernelPath(tx)).toBe(process.env.TFJS_KERNELS === 'composite' ? 'composite' : tf.getBackend() === 'cpu' ? 'cpu' : 'wasm-simd');
  });

  it('a layers model: fit, model.save with its optimizer, tf.loadLayersModel + resumeTfOptimizer, fit = fit straight', async () => {
    const { xs, ys } = layersData();
    const model = layersModel();
    const optimizer = toTfOptimizer(layersTx());
    model.compile({ optimizer, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { ...LAYERS_FIT, epochs: 2 * LAYERS_EPOCHS });
    expect(resumed['layers-iterations']).toEqual([optimizer.iterations]);
    expect(resumed.layers).toEqual(fingerprint(model.getWeights()));
    optimizer.dispose();
    model.dispose();
  });
});
