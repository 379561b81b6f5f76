// model.fit with a tfjs-optax optimizer, next to tf.train.adam, on a synthetic classification
// task: mini-batches, a validation split, early stopping, and saving the model with its
// optimizer state, then loading it and resuming exactly; the learning rate and the gradient
// norm logged next to the loss (fitCallback). Run: npm run example:fit
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adamw,
  chain,
  clipByGlobalNorm,
  fileHandler,
  fitCallback,
  globalNorm,
  monitor,
  resumeTfOptimizer,
  toTfOptimizer,
  warmupCosineDecaySchedule,
  type Params,
} from 'tfjs-optax';

const FEATURES = 16;
const CLASSES = 4;
const POINTS = 6000;
const BATCH = 32;
const MAX_EPOCHS = 40;
const STEPS_PER_EPOCH = Math.ceil((POINTS * 0.8) / BATCH); // 80% train, 20% validation

/** mulberry32: a small seeded PRNG, so every run sees the same data and weights. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each class is a mixture of three Gaussian blobs, so it takes a hidden layer to separate them. */
function makeData(): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const rand = rng(1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: CLASSES * 3 }, () => Array.from({ length: FEATURES }, () => 0.8 * normal()));
  const xs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < POINTS; i++) {
    const label = Math.floor(rand() * CLASSES);
    const centre = centres[label * 3 + Math.floor(rand() * 3)];
    xs.push(centre.map((c) => c + normal()));
    labels.push(label);
  }
  return tf.tidy(() => ({ xs: tf.tensor2d(xs), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES) as tf.Tensor2D }));
}

function makeModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 64, inputShape: [FEATURES], activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 2 }) }));
  model.add(tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 3 }) }));
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  return model;
}

/** Decay the kernels only: params are keyed by variable name, and biases are 1-D. */
const kernelsOnly = (params: Params) => Object.fromEntries(Object.entries(params as Record<string, tf.Tensor>).map(([k, v]) => [k, v.rank > 1]));

/**
 * The optimizer the lecture recommends: clipping, AdamW with warmup + cosine decay, no decay on
 * biases; and a monitor of the gradients' norm before the clip, for the logs.
 */
function ourOptimizer() {
  const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 3e-3, warmupSteps: 2 * STEPS_PER_EPOCH, decaySteps: MAX_EPOCHS * STEPS_PER_EPOCH });
  return chain(monitor({ gradNorm: globalNorm }), clipByGlobalNorm(1), adamw(schedule, { weightDecay: 1e-2, mask: kernelsOnly }));
}

type Row = { loss: number; valLoss: number; valAcc: number };

async function train(
  name: string,
  model: tf.LayersModel,
  xs: tf.Tensor,
  ys: tf.Tensor,
  logging: tf.CustomCallback[] = [],
): Promise<{ rows: Row[]; seconds: number; history: tf.History }> {
  const rows: Row[] = [];
  const t0 = performance.now();
  const history = await model.fit(xs, ys, {
    epochs: MAX_EPOCHS,
    batchSize: BATCH,
    validationSplit: 0.2,
    verbose: 0,
    callbacks: [
      // Callbacks that write into the logs come first, before those that read them.
      ...logging,
      tf.callbacks.earlyStopping({ monitor: 'val_loss', patience: 5 }),
      new tf.CustomCallback({
        onEpochEnd: async (epoch, logs) => {
          rows.push({ loss: logs!.loss, valLoss: logs!.val_loss, valAcc: logs!.val_acc });
          if (epoch % 5 === 4) process.stdout.write(`  ${name}: epoch ${epoch + 1}, val_loss ${logs!.val_loss.toFixed(4)}\n`);
        },
      }),
    ],
  });
  return { rows, seconds: (performance.now() - t0) / 1000, history };
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const { xs, ys } = makeData();
  console.log(`backend ${tf.getBackend()}: ${POINTS} points (${FEATURES} features, ${CLASSES} classes), 20% held out for validation; ` +
    `MLP ${FEATURES}-64-64-${CLASSES}, batch ${BATCH}, up to ${MAX_EPOCHS} epochs, early stopping on val_loss (patience 5)\n`);

  const baseline = makeModel();
  baseline.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const ours = makeModel();
  const tx = ourOptimizer();
  const optimizer = toTfOptimizer(tx);
  ours.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const a = await train('tf.train.adam(1e-3)        ', baseline, xs, ys);
  // The rate the next step uses and the gradients' norm, into each epoch's logs (and history).
  const logging = new tf.CustomCallback(fitCallback(optimizer, { measurements: ['gradNorm'], every: 'epoch' }));
  const b = await train('clip + adamw + warmup-cosine', ours, xs, ys, [logging]);
  const rates = b.history.history.learningRate as number[];
  const norms = b.history.history.gradNorm as number[];
  const peak = rates.indexOf(Math.max(...rates));
  console.log(`
clip+adamw+cosine, from history.history: learningRate ${rates[0].toExponential(2)} after epoch 1, ` +
    `${rates[peak].toExponential(2)} at its peak (epoch ${peak + 1}), ${rates.at(-1)!.toExponential(2)} at the end; ` +
    `gradNorm (before the clip) ${norms[0].toFixed(3)} after epoch 1, ${norms.at(-1)!.toFixed(3)} at the end`);
  if (rates.length !== b.rows.length || norms.length !== b.rows.length || !norms.every((n) => n > 0)) {
    throw new Error('fitCallback: expected one learning rate and one positive gradient norm per epoch');
  }

  console.log('\n| epoch | tf.train.adam loss | val loss | val acc | clip+adamw+cosine loss | val loss | val acc |');
  console.log('|------:|-------------------:|---------:|--------:|-----------------------:|---------:|--------:|');
  const show = (r: Row | undefined, w: number) => (r ? `${r.loss.toFixed(4).padStart(w)} | ${r.valLoss.toFixed(4).padStart(8)} | ${(100 * r.valAcc).toFixed(1).padStart(6)}%` : `${'(stopped)'.padStart(w)} | ${''.padStart(8)} | ${''.padStart(7)}`);
  for (let e = 0; e < Math.max(a.rows.length, b.rows.length); e++) {
    console.log(`| ${String(e + 1).padStart(5)} | ${show(a.rows[e], 18)} | ${show(b.rows[e], 22)} |`);
  }
  const best = (rows: Row[]) => rows.reduce((m, r) => (r.valLoss < m.valLoss ? r : m));
  console.log(`\ntf.train.adam: ${a.rows.length} epochs in ${a.seconds.toFixed(1)} s, best val_loss ${best(a.rows).valLoss.toFixed(4)} (val acc ${(100 * best(a.rows).valAcc).toFixed(1)}%)`);
  console.log(`clip+adamw+cosine: ${b.rows.length} epochs in ${b.seconds.toFixed(1)} s, best val_loss ${best(b.rows).valLoss.toFixed(4)} (val acc ${(100 * best(b.rows).valAcc).toFixed(1)}%)`);

  // Save the model with its optimizer state, load it as another process would, give the
  // optimizer back its transformation, and check that training continues exactly.
  const dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-fit-'));
  try {
    const savedAt = ours.optimizer.iterations;
    await ours.save(fileHandler(join(dir, 'model.json')), { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(fileHandler(join(dir, 'model.json')));
    resumeTfOptimizer(loaded, tx);
    const more = { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0 as const };
    await ours.fit(xs, ys, more);
    await loaded.fit(xs, ys, more);
    const same = ours.getWeights().every((w, i) => {
      const x = w.dataSync();
      const y = loaded.getWeights()[i].dataSync();
      return x.every((v, k) => Object.is(v, y[k]));
    });
    console.log(`\nsaved to ${join(dir, 'model.json')} with its optimizer (step ${savedAt}), ` +
      `loaded, resumed and trained 2 more epochs: ${same ? 'identical to the original, bit for bit' : 'DIFFERENT from the original'}`);
    loaded.optimizer.dispose();
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  baseline.optimizer.dispose();
  baseline.dispose();
  ours.optimizer.dispose();
  ours.dispose();
  tf.dispose([xs, ys]);
  console.log(`${tf.memory().numTensors} tensors alive after disposing everything`);
}

await main();
