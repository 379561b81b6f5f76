// The MLP of examples/mlp.ts, for the browser: the same seeded data (800 points, 20 features,
// 3 classes, each class a mixture of two Gaussian blobs, split 80/20), the same 20-32-3 network
// and initialisation, the same batches. examples/mlp.ts stays a self-contained script; this
// module holds its data and model so the MLP page can train them with any racer.
import * as tf from '@tensorflow/tfjs-core';

export const FEATURES = 20;
export const CLASSES = 3;
export const POINTS = 800;
export const HIDDEN = 32;
export const BATCH = 64;
/** 10 batches of 64: the 640 training points once per epoch. */
export const STEPS_PER_EPOCH = 10;

/** A small seeded PRNG (mulberry32), so every run sees the same data and initial weights. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export interface Split {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

export interface Dataset {
  train: Split;
  test: Split;
  trainSize: number;
}

/** The synthetic 3-class problem of examples/mlp.ts, as four tensors the caller owns. */
export function makeDataset(): Dataset {
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
  const order = xs.map((_, i) => i).sort(() => rand() - 0.5);
  const split = Math.floor(POINTS * 0.8);
  const pick = (idx: number[]): Split =>
    tf.tidy(() => ({
      x: tf.tensor2d(idx.map((i) => xs[i])),
      y: tf.cast(tf.oneHot(tf.tensor1d(idx.map((i) => ys[i]), 'int32'), CLASSES), 'float32') as tf.Tensor2D,
    }));
  return { train: pick(order.slice(0, split)), test: pick(order.slice(split)), trainSize: split };
}

export type Mlp = { dense1: { kernel: tf.Tensor; bias: tf.Tensor }; dense2: { kernel: tf.Tensor; bias: tf.Tensor } };

/** The number of parameters of initMlp's network: 20 x 32 + 32 + 32 x 3 + 3 = 771. */
export function parameterCount(): number {
  return FEATURES * HIDDEN + HIDDEN + HIDDEN * CLASSES + CLASSES;
}

/** Glorot-normal kernels and zero biases from a seed. */
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

export function logits(p: Mlp, x: tf.Tensor): tf.Tensor {
  const h = tf.relu(tf.add(tf.matMul(x, p.dense1.kernel), p.dense1.bias));
  return tf.add(tf.matMul(h, p.dense2.kernel), p.dense2.bias);
}

export function crossEntropy(p: Mlp, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, logits(p, x)) as tf.Scalar;
}

/** The fraction of points whose largest logit is their class, as a scalar tensor. */
export function accuracy(p: Mlp, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits(p, x), 1), tf.argMax(y, 1)), 'float32')) as tf.Scalar);
}

/** Batch `b` of the training split (batches in order, as examples/mlp.ts takes them). */
export function batch(data: Dataset, b: number): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => [
    tf.slice(data.train.x, [b * BATCH, 0], [BATCH, FEATURES]),
    tf.slice(data.train.y, [b * BATCH, 0], [BATCH, CLASSES]),
  ]);
}
