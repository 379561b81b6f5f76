// Gradient descent on a quartic with two minima: plain descent stays in the basin it starts
// in, momentum carries the iterate over the hump into the global minimum.
// Run: npm run example:local-minimum
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { sgd, trainStep, valueAndGrad, type GradientTransformation } from 'tfjs-optax';

// f(x) = 319/8400 x^4 + 43/4200 x^3 - 6799/8400 x^2 - 299/840 x + 6
// global minimum near x = 3.27, local minimum near x = -3.25.
const f = (x: tf.Tensor) =>
  tf.addN([
    tf.mul(319 / 8400, tf.pow(x, 4)),
    tf.mul(43 / 4200, tf.pow(x, 3)),
    tf.mul(-6799 / 8400, tf.square(x)),
    tf.mul(-299 / 840, x),
    tf.scalar(6),
  ]) as tf.Scalar;

function descend(label: string, tx: GradientTransformation<any>, x0: number, steps = 100): number {
  let params = { x: tf.scalar(x0) };
  let state = tx.init(params);
  const lossAndGrad = valueAndGrad((p: { x: tf.Tensor }) => f(p.x));
  const trail: string[] = [];
  for (let k = 1; k <= steps; k++) {
    const { value, grads } = lossAndGrad(params);
    value.dispose();
    ({ params, state } = trainStep(tx, params, state, grads));
    if (k % 20 === 0) trail.push(params.x.dataSync()[0].toFixed(3));
  }
  const x = params.x.dataSync()[0];
  const fx = tf.tidy(() => f(params.x).dataSync()[0]);
  console.log(`${label.padEnd(24)} x0 = ${String(x0).padStart(2)}  x(20,40,..,100) = ${trail.join(' ')}  f(x) = ${fx.toFixed(4)}`);
  params.x.dispose();
  return x;
}

await tf.setBackend('wasm');
console.log('f(x) = 319/8400 x^4 + 43/4200 x^3 - 6799/8400 x^2 - 299/840 x + 6, lr 0.1, 100 steps\n');
const a = descend('gradient descent', sgd(0.1), 5);
const b = descend('gradient descent', sgd(0.1), -5);
const c = descend('momentum 0.9', sgd(0.1, { momentum: 0.9 }), -5);
console.log(`\nfrom  5: ${a.toFixed(3)} (global minimum)`);
console.log(`from -5: ${b.toFixed(3)} (stuck in the local minimum)`);
console.log(`from -5 with momentum: ${c.toFixed(3)} (escaped to the global minimum)`);
