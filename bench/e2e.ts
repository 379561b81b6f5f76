// End-to-end benchmark: milliseconds per training step of tfjs-layers' trainOnBatch (forward,
// backward and the optimizer, as model.fit runs them) with tf.train.adam and with
// toTfOptimizer(adam), and the optimizer's share of that step, on the wasm and cpu backends,
// for a 784-512-512-10 MLP and a small conv net at batch 64. The two models have the same
// weights and data, and are stepped interleaved within each repetition, so a slow spell of this
// shared machine hits both alike; figures are medians over repetitions, ratios medians of the
// per-repetition ratios.
//
// The optimizer's share is the time of `optimizer.applyGradients(grads)` alone, for the model's
// real gradient shapes, over the time of a whole step: it bounds what a faster optimizer can
// gain end to end (Amdahl).
//
//   npm run bench:e2e                  both backends and models (about 2 minutes)
//   npm run bench:e2e -- --quick       fewer repetitions
//   npm run bench:e2e -- --backend wasm --model mlp
//
// The cpu backend runs the matMuls and convolutions in plain JS (a conv step at 16x16 takes
// about a second there), so it takes fewer steps per repetition. tfjs-backend-wasm cannot train
// conv nets at all (no Conv2DBackpropFilter kernel), so that pair is reported as not measured.
// Prints a markdown table; writes nothing.
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

type ModelName = 'mlp' | 'conv';

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
    label: 'conv 16x16: 3x3x8, pool, 3x3x16, pool, dense 10',
    input: [16, 16, 1],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 4 }) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 5 }) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
        ],
      }),
  },
};

/** Training steps per repetition and per way of stepping. */
const STEPS: Record<string, Record<ModelName, number>> = { wasm: { mlp: 10, conv: 10 }, cpu: { mlp: 3, conv: 1 } };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds per call of `fn`, over `n` calls. */
async function timeIt(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - t0) / n;
}

interface Row {
  backend: string;
  model: string;
  params: number;
  path: string;
  stepTrain: number;
  stepOurs: number;
  speedup: number;
  optTrain: number;
  optOurs: number;
  optSpeedup: number;
}

async function measure(backend: string, name: ModelName): Promise<Row> {
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

  // The gradients of one batch, keyed by each model's variable names, for the optimizer alone.
  const gradsFor = (model: tf.LayersModel) =>
    tf.tidy(() => {
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, vars);
      value.dispose();
      return grads;
    });
  const gTheirs = gradsFor(theirs);
  const gOurs = gradsFor(ours);

  const n = STEPS[backend][name];
  const steps = { train: [] as number[], ours: [] as number[] };
  const opt = { train: [] as number[], ours: [] as number[] };
  const ratios = { step: [] as number[], opt: [] as number[] };
  // Warm-up: kernels compiled, optimizer state made.
  await theirs.trainOnBatch(x, y);
  await ours.trainOnBatch(x, y);
  for (let r = 0; r < REPS; r++) {
    const a = await timeIt(n, () => theirs.trainOnBatch(x, y));
    const b = await timeIt(n, () => ours.trainOnBatch(x, y));
    const c = await timeIt(n, () => trainOpt.applyGradients(gTheirs as tf.NamedTensorMap as Parameters<typeof trainOpt.applyGradients>[0]));
    const d = await timeIt(n, () => ourOpt.applyGradients(gOurs));
    steps.train.push(a);
    steps.ours.push(b);
    opt.train.push(c);
    opt.ours.push(d);
    ratios.step.push(a / b);
    ratios.opt.push(c / d);
    process.stdout.write(`  ${backend} ${name} rep ${r + 1}/${REPS}: step ${a.toFixed(1)} / ${b.toFixed(1)} ms, optimizer ${c.toFixed(2)} / ${d.toFixed(2)} ms\n`);
  }
  const params = theirs.countParams();
  const path = kernelPath(tx);
  tf.dispose([x, y, ...Object.values(gTheirs), ...Object.values(gOurs)]);
  trainOpt.dispose();
  ourOpt.dispose();
  theirs.dispose();
  ours.dispose();
  return {
    backend,
    model: spec.label,
    params,
    path,
    stepTrain: median(steps.train),
    stepOurs: median(steps.ours),
    speedup: median(ratios.step),
    optTrain: median(opt.train),
    optOurs: median(opt.ours),
    optSpeedup: median(ratios.opt),
  };
}

async function main(): Promise<void> {
  const backends = option('backend') ? [option('backend')!] : ['wasm', 'cpu'];
  const models = (option('model') ? [option('model')] : ['mlp', 'conv']) as ModelName[];
  console.log(`tfjs ${tf.version.tfjs}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), batch ${BATCH}, ${REPS} repetitions`);
  const t0 = performance.now();
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const backend of backends) {
    for (const model of models) {
      // tfjs-backend-wasm 4.x has no Conv2DBackpropFilter kernel: conv nets do not train there.
      if (backend === 'wasm' && model === 'conv') {
        skipped.push('wasm conv: tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so no optimizer can train a conv net there');
        continue;
      }
      rows.push(await measure(backend, model));
    }
  }
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log('\n| backend | model | params | kernel | tf.train.adam ms/step | toTfOptimizer(adam) ms/step | end-to-end speed-up | optimizer ms, tf.train | optimizer ms, ours | optimizer speed-up | optimizer share, tf.train | optimizer share, ours |');
  console.log('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.backend} | ${r.model} | ${r.params >= 1e5 ? `${(r.params / 1e6).toFixed(2)}M` : `${(r.params / 1e3).toFixed(1)}k`} | ${r.path} | ${f(r.stepTrain)} | ${f(r.stepOurs)} | ${f(r.speedup, 2)}x | ` +
        `${f(r.optTrain, 2)} | ${f(r.optOurs, 2)} | ${f(r.optSpeedup, 1)}x | ${f((100 * r.optTrain) / r.stepTrain, 0)}% | ${f((100 * r.optOurs) / r.stepOurs, 0)}% |`,
    );
  }
  console.log(
    `\nms are medians over ${REPS} repetitions; speed-ups are medians of per-repetition ratios (tf.train / ours). ` +
      `The optimizer share is the optimizer's time alone over a whole step. Took ${f((performance.now() - t0) / 1000, 0)} s.`,
  );
  for (const line of skipped) console.log(`Not measured: ${line}.`);
}

await main();
