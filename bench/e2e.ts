// End-to-end benchmark: milliseconds per training step of tfjs-layers' trainOnBatch (forward,
// backward and the optimizer, one step of model.fit without its callbacks and batching) with
// tf.train.adam and with toTfOptimizer(adam), and the optimizer's share of that step, on the
// wasm and cpu backends, for a 784-512-512-10 MLP and a small MNIST-shaped conv net at batch 64.
// The two models start from the same weights and train on the same synthetic batch; each
// repetition times a block of steps of each in turn (alternating which goes first), so a slow
// spell of this shared machine hits both alike. Figures are medians over repetitions, speed-ups
// medians of the per-repetition ratios.
//
// The optimizer's share is the time of `optimizer.applyGradients(grads)` alone (the model's own
// variables and optimizer state, precomputed gradients of the real shapes) over the time of a
// whole step: it bounds what a faster optimizer can gain end to end (Amdahl).
//
//   npm run bench:e2e                  both backends and models (about 3 minutes on 2 cores)
//   npm run bench:e2e -- --quick       fewer repetitions (about 2 minutes)
//   npm run bench:e2e -- --backend wasm --model mlp
//
// Step counts: the cpu backend runs matMuls and convolutions in plain JS, so an MLP step takes
// about 0.5 s there and a conv step about 10 s (the backward convolutions and max-pool gradient
// dominate); cpu takes 3 MLP steps and 1 conv step per repetition, and 5 conv repetitions, which
// keeps the full run near 3 minutes. tfjs-backend-wasm 4.x cannot train conv nets at all (it
// has no Conv2DBackpropFilter kernel), so that pair is reported as not measured.
// Prints progress and a markdown table; writes nothing.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { cpus } from 'node:os';
import { adam, kernelPath, toTfOptimizer } from '../src/index.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const QUICK = args.includes('--quick');
const REPS = QUICK ? 3 : 7;
const BATCH = 64;
const LR = 1e-3;

tf.env().set('IS_TEST', false); // tfjs's per-kernel leak check trips on wasm's own matMul gradient

// ---------------------------------------------------------------------------------------------
// Models, and how many steps each backend can afford

type ModelName = 'mlp' | 'conv';
type BackendName = 'wasm' | 'cpu';

const MODELS: Record<ModelName, { label: string; input: number[]; build: () => tf.LayersModel }> = {
  mlp: {
    label: 'MLP 784-512-512-10',
    input: [784],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ units: 512, inputShape: [784], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.dense({ units: 512, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        ],
      }),
  },
  conv: {
    label: 'conv 28x28x1: 3x3x16, pool, 3x3x32, pool, dense 10',
    input: [28, 28, 1],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 4 }) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 5 }) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
        ],
      }),
  },
};

interface Plan {
  /** Training steps per repetition and per optimizer. */
  steps: number;
  reps: number;
}

/** What each pair can afford; null: cannot train there. */
const PLANS: Record<BackendName, Record<ModelName, Plan | null>> = {
  wasm: { mlp: { steps: 10, reps: REPS }, conv: null },
  cpu: { mlp: { steps: 3, reps: REPS }, conv: { steps: 1, reps: Math.min(REPS, 5) } },
};

const NOT_TRAINABLE = 'tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so no optimizer can train a conv net there';

// ---------------------------------------------------------------------------------------------
// Timing

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds per call of `fn`, over `n` calls. */
async function timeBlock(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - start) / n;
}

/** How many calls of a (warmed-up) synchronous `fn` last about 20 ms, so timer resolution is no issue. */
function callsFor(fn: () => void): number {
  const start = performance.now();
  fn();
  const once = Math.max(performance.now() - start, 0.01);
  return Math.max(1, Math.min(200, Math.round(20 / once)));
}

// ---------------------------------------------------------------------------------------------
// One measurement

interface Row {
  backend: string;
  model: string;
  params: number;
  kernel: string;
  reps: number;
  stepTrain: number;
  stepOurs: number;
  /** Medians over repetitions of the per-repetition ratios tf.train / ours. */
  stepSpeedup: number;
  optTrain: number;
  optOurs: number;
  optSpeedup: number;
}

/** The gradients of the loss on one batch, keyed by the model's variable names. */
function gradientsOf(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.NamedTensorMap {
  return tf.tidy(() => {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x) as tf.Tensor)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, vars);
    value.dispose();
    return grads;
  });
}

async function measure(backend: BackendName, name: ModelName, plan: Plan): Promise<Row> {
  await tf.setBackend(backend);
  const spec = MODELS[name];
  const theirs = spec.build();
  const ours = spec.build();
  ours.setWeights(theirs.getWeights());
  const trainOpt = tf.train.adam(LR, 0.9, 0.999, 1e-7);
  const tx = adam(LR, { eps: 1e-7 });
  const ourOpt = toTfOptimizer(tx);
  theirs.compile({ optimizer: trainOpt, loss: 'categoricalCrossentropy' });
  ours.compile({ optimizer: ourOpt, loss: 'categoricalCrossentropy' });
  const x = tf.randomNormal([BATCH, ...spec.input], 0, 1, 'float32', 7);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 8), 10));

  // One set of gradients (both models hold the same weights), under each model's variable names.
  const variableNames = (model: tf.LayersModel) => model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  const byName = gradientsOf(theirs, x, y);
  const grads = variableNames(theirs).map((n) => byName[n]);
  const named = (model: tf.LayersModel): { name: string; tensor: tf.Tensor }[] =>
    variableNames(model).map((name, i) => ({ name, tensor: grads[i] }));
  const gTheirs = named(theirs);
  const gOurs = named(ours);

  // Warm-up: kernels compiled, optimizer state made; then the optimizer calls per block.
  process.stdout.write(`${backend} ${name}: warming up\n`);
  for (let i = 0; i < 2; i++) {
    await theirs.trainOnBatch(x, y);
    await ours.trainOnBatch(x, y);
  }
  const applyTrain = () => trainOpt.applyGradients(gTheirs);
  const applyOurs = () => ourOpt.applyGradients(gOurs);
  applyTrain();
  applyOurs();
  const optCalls = { train: callsFor(applyTrain), ours: callsFor(applyOurs) };

  const steps = { train: [] as number[], ours: [] as number[] };
  const opt = { train: [] as number[], ours: [] as number[] };
  for (let r = 0; r < plan.reps; r++) {
    const stepTrain = () => timeBlock(plan.steps, () => theirs.trainOnBatch(x, y));
    const stepOurs = () => timeBlock(plan.steps, () => ours.trainOnBatch(x, y));
    if (r % 2 === 0) {
      steps.train.push(await stepTrain());
      steps.ours.push(await stepOurs());
    } else {
      steps.ours.push(await stepOurs());
      steps.train.push(await stepTrain());
    }
    opt.train.push(await timeBlock(optCalls.train, applyTrain));
    opt.ours.push(await timeBlock(optCalls.ours, applyOurs));
    process.stdout.write(
      `${backend} ${name} rep ${r + 1}/${plan.reps}: step ${steps.train[r].toFixed(1)} / ${steps.ours[r].toFixed(1)} ms, ` +
        `optimizer ${opt.train[r].toFixed(2)} / ${opt.ours[r].toFixed(2)} ms (tf.train / ours)\n`,
    );
  }
  const row: Row = {
    backend,
    model: spec.label,
    params: theirs.countParams(),
    kernel: kernelPath(tx),
    reps: plan.reps,
    stepTrain: median(steps.train),
    stepOurs: median(steps.ours),
    stepSpeedup: median(steps.train.map((a, r) => a / steps.ours[r])),
    optTrain: median(opt.train),
    optOurs: median(opt.ours),
    optSpeedup: median(opt.train.map((a, r) => a / opt.ours[r])),
  };
  tf.dispose([x, y, ...grads]);
  trainOpt.dispose();
  ourOpt.dispose();
  theirs.dispose();
  ours.dispose();
  return row;
}

// ---------------------------------------------------------------------------------------------

function choices<T extends string>(name: string, all: readonly T[]): T[] {
  const value = option(name);
  if (value === undefined) return [...all];
  if (!(all as readonly string[]).includes(value)) throw new Error(`--${name} must be one of ${all.join(', ')}; got ${value}`);
  return [value as T];
}

const f = (x: number, digits = 1) => x.toFixed(digits);
const count = (n: number) => (n >= 1e5 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`);

async function main(): Promise<void> {
  const backends = choices<BackendName>('backend', ['wasm', 'cpu']);
  const models = choices<ModelName>('model', ['mlp', 'conv']);
  console.log(`tfjs ${tf.version.tfjs}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), batch ${BATCH}, up to ${REPS} repetitions`);
  const start = performance.now();
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const backend of backends) {
    for (const model of models) {
      const plan = PLANS[backend][model];
      if (plan === null) skipped.push(`${backend} ${model}: ${NOT_TRAINABLE}`);
      else rows.push(await measure(backend, model, plan));
    }
  }
  const seconds = (performance.now() - start) / 1000;

  console.log(
    '\n| backend | model | params | kernel | reps | tf.train.adam ms/step | toTfOptimizer(adam) ms/step | end-to-end speed-up | ' +
      'optimizer ms, tf.train | optimizer ms, ours | optimizer speed-up | optimizer share, tf.train | optimizer share, ours |',
  );
  console.log('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.backend} | ${r.model} | ${count(r.params)} | ${r.kernel} | ${r.reps} | ${f(r.stepTrain)} | ${f(r.stepOurs)} | ${f(r.stepSpeedup, 2)}x | ` +
        `${f(r.optTrain, 2)} | ${f(r.optOurs, 2)} | ${f(r.optSpeedup)}x | ${f((100 * r.optTrain) / r.stepTrain)}% | ${f((100 * r.optOurs) / r.stepOurs)}% |`,
    );
  }
  console.log(
    `\nms are medians over the repetitions; speed-ups are medians of the per-repetition ratios tf.train / ours. ` +
      `The optimizer share is the median optimizer time alone over the median step time. Took ${f(seconds, 0)} s.`,
  );
  for (const line of skipped) console.log(`Not measured: ${line}.`);
}

await main();
