// Selects the tfjs backend for the whole suite: wasm (the embedded default) unless
// TFJS_BACKEND says otherwise (e.g. TFJS_BACKEND=cpu npm run test:unit).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

const backend = process.env.TFJS_BACKEND ?? 'wasm';
const ok = await tf.setBackend(backend);
if (!ok || tf.getBackend() !== backend) throw new Error(`could not set tfjs backend ${backend}`);
await tf.ready();
