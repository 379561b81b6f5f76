import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { adam, chain, clipByGlobalNorm, trainStep, valueAndGrad, warmupCosineDecaySchedule } from 'tfjs-optax';

await tf.setBackend('wasm');
const x = tf.tensor1d([0, 1, 2, 3]);
const y = tf.tensor1d([-1, 1, 3, 5]); // y = 2x - 1
let params = { w: tf.scalar(0), b: tf.scalar(0) };
const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.1, warmupSteps: 50, decaySteps: 1000 });
const tx = chain(clipByGlobalNorm(1.0), adam(schedule));
let state = tx.init(params);
const lossAndGrads = valueAndGrad((p: typeof params) => tf.losses.meanSquaredError(y, tf.add(tf.mul(p.w, x), p.b)) as tf.Scalar);
for (let step = 0; step < 1000; step++) {
  const { value, grads } = lossAndGrads(params);
  ({ params, state } = trainStep(tx, params, state, grads)); // frees what the step replaced
  value.dispose();
}
console.log(`w = ${params.w.dataSync()[0].toFixed(3)}, b = ${params.b.dataSync()[0].toFixed(3)}`); // w = 2.000, b = -1.000
