import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { adamw, chain, clipByGlobalNorm, fileHandler, resumeTfOptimizer, toTfOptimizer } from 'tfjs-optax';

await tf.setBackend('wasm');
const xs = tf.randomNormal([256, 8], 0, 1, 'float32', 1);
const ys = tf.sum(tf.mul(xs, tf.linspace(-1, 1, 8)), 1, true); // a linear target
const model = tf.sequential({ layers: [tf.layers.dense({ units: 16, inputShape: [8], activation: 'relu' }), tf.layers.dense({ units: 1 })] });
const tx = chain(clipByGlobalNorm(1), adamw(1e-2, { weightDecay: 1e-4 }));
model.compile({ optimizer: toTfOptimizer(tx), loss: 'meanSquaredError' });
await model.fit(xs, ys, { epochs: 20, batchSize: 32, verbose: 0 });

// Save with the optimizer state; later (in another process), load and resume exactly.
await model.save(fileHandler('./checkpoint/model.json'), { includeOptimizer: true });
const loaded = await tf.loadLayersModel(fileHandler('./checkpoint/model.json'));
resumeTfOptimizer(loaded, tx); // the same transformation: transformations are code, not data
const history = await loaded.fit(xs, ys, { epochs: 20, batchSize: 32, verbose: 0 });
console.log(`step ${loaded.optimizer.iterations}, loss ${(history.history.loss.at(-1) as number).toFixed(4)}`);
