// The problem of examples/mlp.ts, which the benchmarks train too (bench/preconditioned.ts,
// bench/low-memory-mlp-bias.ts): a seeded synthetic 3-class dataset in 20 dimensions and a
// 20-32-3 MLP as a plain tree of tensors.
import * as tf from '@tensorflow/tfjs';

export const FEATURES = 20;
export const CLASSES = 3;
export const POINTS = 800;
export const HIDDEN = 32;
export const BATCH = 64;
export const EPOCHS = 30;

/** A small seeded PRNG (mulberry32), so every run sees the same data and initial weights. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller) from `rand`. */
export function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * 800 points in 20 dimensions. Each class is a mixture of two Gaussian blobs placed at random,
 * so the classes are not linearly separable and a hidden layer helps.
 */
export function makeDataset() {
  const rand = rng(42);
  const blobs = Array.from({ length: CLASSES * 2 }, () => Array.from({ length: FEATURES }, () => 0.6 * gaussian(rand)));
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < POINTS; i++) {
    const label = i % CLASSES;
    const blob = blobs[label * 2 + (rand() < 0.5 ? 0 : 1)];
    xs.push(blob.map((m) => m + gaussian(rand)));
    ys.push(label);
  }
  // Shuffle, then split 80/20.
  const order = xs.map((_, i) => i).sort(() => rand() - 0.5);
  const split = Math.floor(POINTS * 0.8);
  const pick = (idx: number[]) =>
    tf.tidy(() => ({
      x: tf.tensor2d(idx.map((i) => xs[i])),
      y: tf.cast(tf.oneHot(tf.tensor1d(idx.map((i) => ys[i]), 'int32'), CLASSES), 'float32'),
    }));
  return { train: pick(order.slice(0, split)), test: pick(order.slice(split)), trainSize: split };
}

/** The MLP's parameters: two dense layers. */
export type Mlp = { dense1: { kernel: tf.Tensor; bias: tf.Tensor }; dense2: { kernel: tf.Tensor; bias: tf.Tensor } };

/** Glorot-normal kernels and zero biases, from `seed`. */
export function initMlp(seed: number): Mlp {
  const rand = rng(seed);
  const glorot = (fanIn: number, fanOut: number) =>
    tf.tensor2d(
      Array.from({ length: fanIn }, () => Array.from({ length: fanOut }, () => gaussian(rand) * Math.sqrt(2 / (fanIn + fanOut)))),
    );
  return {
    dense1: { kernel: glorot(FEATURES, HIDDEN), bias: tf.zeros([HIDDEN]) },
    dense2: { kernel: glorot(HIDDEN, CLASSES), bias: tf.zeros([CLASSES]) },
  };
}

/** The MLP's class scores for the rows of `x`. */
export function logits(p: Mlp, x: tf.Tensor): tf.Tensor {
  const h = tf.relu(tf.add(tf.matMul(x, p.dense1.kernel), p.dense1.bias));
  return tf.add(tf.matMul(h, p.dense2.kernel), p.dense2.bias);
}

/** The mean softmax cross-entropy of the MLP on `(x, y)`, `y` one-hot. */
export function crossEntropy(p: Mlp, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, logits(p, x)) as tf.Scalar;
}

/** The fraction of rows of `x` whose largest score is the class of `y`. */
export function accuracy(p: Mlp, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits(p, x), 1), tf.argMax(y, 1)), 'float32')).dataSync()[0]);
}
