// Weight averaging: SGD at a fixed, fairly high learning rate on a noisy linear regression never
// settles; its weights keep jumping around the best fit. The average of the weights along the run
// (SWA) or their moving average (EMA) sits much closer to it: both evaluate better on held-out data
// than the last weights. The program checks that, and that the model gets its own weights back.
//
//   npm run example:weight-averaging
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { averageParams, sgd, toTfOptimizer, withAveragedWeights, type AverageParamsOptions } from 'tfjs-optax';

await tf.setBackend('wasm');

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

// y = x . w + 0.5 + noise (standard deviation 1): the best any model can do is a held-out MSE of 1.
const FEATURES = 8;
const w = tf.linspace(-1, 1, FEATURES).reshape([FEATURES, 1]);
const data = (rows: number, seed: number) =>
  tf.tidy(() => {
    const x = tf.randomNormal([rows, FEATURES], 0, 1, 'float32', seed);
    const y = tf.add(tf.add(tf.matMul(x, w), 0.5), tf.randomNormal([rows, 1], 0, 1, 'float32', seed + 1));
    return [x, y];
  });
const [xTrain, yTrain] = data(512, 1);
const [xTest, yTest] = data(4096, 3);

const EPOCHS = 20;
const BATCH = 8;
const STEPS_PER_EPOCH = 512 / BATCH;

/** A linear model trained by SGD (learning rate 0.1, batches of 8) with the average `options` kept beside it. */
async function train(options: AverageParamsOptions): Promise<tf.Sequential> {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [FEATURES], kernelInitializer: 'zeros' })] });
  const optimizer = toTfOptimizer(averageParams(sgd(0.1), options));
  model.compile({ optimizer, loss: 'meanSquaredError' });
  await model.fit(xTrain, yTrain, { epochs: EPOCHS, batchSize: BATCH, shuffle: false, verbose: 0 });
  return model;
}

const heldOutLoss = (model: tf.LayersModel) => tf.tidy(() => (model.evaluate(xTest, yTest) as tf.Scalar).dataSync()[0]);

// SWA: the mean of the weights after every step of the last 15 epochs. EMA: a moving average.
const swaModel = await train({ kind: 'swa', start: 5 * STEPS_PER_EPOCH });
const emaModel = await train({ kind: 'ema', decay: 0.99 });

const lastWeights = swaModel.getWeights().map((t) => Array.from(t.dataSync()));
const last = heldOutLoss(swaModel);
const swa = withAveragedWeights(swaModel, swaModel.optimizer, () => heldOutLoss(swaModel));
const ema = withAveragedWeights(emaModel, emaModel.optimizer, () => heldOutLoss(emaModel));

console.log(`held-out MSE after ${EPOCHS} epochs of SGD at a fixed learning rate (the noise alone gives 1):`);
console.log(`  last weights              ${last.toFixed(4)}`);
console.log(`  SWA, the last 15 epochs   ${swa.toFixed(4)}`);
console.log(`  EMA, decay 0.99           ${ema.toFixed(4)}`);

check(swa < last && ema < last, 'the SWA and EMA weights evaluate better than the last weights');
check(heldOutLoss(emaModel) === last, 'averaging leaves the training alone: both models end with the same last weights');
check(
  swaModel.getWeights().every((t, i) => t.dataSync().every((v, j) => Object.is(v, lastWeights[i][j]))),
  'withAveragedWeights gives the model its own weights back, bit for bit',
);
