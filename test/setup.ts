// Selects the tfjs backend for the whole suite: wasm (the embedded default) unless
// TFJS_BACKEND says otherwise (e.g. TFJS_BACKEND=cpu npm run test:unit), and the kernel mode:
// fused kernels where they exist unless TFJS_KERNELS=composite.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { setKernelMode } from '../src/index.js';

// Silences the cpu backend's "install tfjs-node" banner in test logs.
tf.env().set('IS_TEST', true);

const backend = process.env.TFJS_BACKEND ?? 'wasm';
const ok = await tf.setBackend(backend);
if (!ok || tf.getBackend() !== backend) throw new Error(`could not set tfjs backend ${backend}`);
await tf.ready();

if (process.env.TFJS_KERNELS === 'composite') setKernelMode('composite');
