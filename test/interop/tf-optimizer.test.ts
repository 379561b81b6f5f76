import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  centralize,
  chain,
  clipByGlobalNorm,
  fromage,
  getHyperparam,
  injectHyperparams,
  kernelPath,
  partition,
  scale,
  scaleByAdam,
  modelParams,
  LoadedOptaxOptimizer,
  OptaxOptimizer,
  resumeTfOptimizer,
  rmsprop,
  sgd,
  toTfOptimizer,
  trainStep,
  warmupCosineDecaySchedule,
  type GradientTransformation,
} from '../../src/index.js';
import { expectBitwiseEqual } from '../helpers.js';

// toTfOptimizer against tfjs-layers: compile/fit/trainOnBatch/fitDataset, minimize and
// applyGradients, state keyed by name, save/load with the model, and resuming exactly.

// tfjs's per-kernel leak check (on under IS_TEST) trips on the wasm backend's own fused matMul
// gradient inside model.fit, with tf.train's optimizers as with ours: off for this file. Leaks
// are checked here with tf.memory() instead.
tf.env().set('IS_TEST', false);

function makeModel(seed: number, name?: string): tf.Sequential {
  const model = tf.sequential({ name });
  model.add(tf.layers.dense({ units: 8, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  model.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return model;
}

const xs = tf.randomNormal([32, 4], 0, 1, 'float32', 1);
const ys = tf.randomNormal([32, 3], 0, 1, 'float32', 2);

/** Values of a model's weights, flattened, as float64 numbers. */
function weightsOf(model: tf.LayersModel): number[] {
  return model.getWeights().flatMap((w) => Array.from(w.dataSync()));
}

/** The names of a model's optimizer weights. */
async function weightNames(model: tf.LayersModel): Promise<string[]> {
  return (await model.optimizer.getWeights()).map((w) => w.name);
}

/** A save handler that keeps the artifacts in memory. */
function memorySink(): { handler: tf.io.IOHandler; artifacts: () => tf.io.ModelArtifacts } {
  let saved: tf.io.ModelArtifacts | undefined;
  return {
    handler: tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    artifacts: () => saved!,
  };
}

/** Wraps `tx` so the number of composite `update` calls is counted (the fused path makes none). */
function counting<S>(tx: GradientTransformation<S>): { tx: GradientTransformation<S>; calls: () => number } {
  let calls = 0;
  const update = tx.update;
  tx.update = ((...args: Parameters<typeof update>) => {
    calls++;
    return update(...args);
  }) as typeof update;
  return { tx, calls: () => calls };
}

describe('toTfOptimizer with tfjs-layers', () => {
  it('model.compile accepts it, and fit reproduces tf.train.adam over 20 steps (rtol 1e-4)', async () => {
    const ours = makeModel(3);
    const theirs = makeModel(3);
    theirs.setWeights(ours.getWeights());
    const lr = 0.01;
    const { tx, calls } = counting(adam(lr, { eps: 1e-7 }));
    const optimizer = toTfOptimizer(tx);
    expect(optimizer).toBeInstanceOf(tf.Optimizer);
    ours.compile({ optimizer, loss: 'meanSquaredError' });
    theirs.compile({ optimizer: tf.train.adam(lr, 0.9, 0.999, 1e-7), loss: 'meanSquaredError' });
    const fitArgs = { epochs: 20, batchSize: 32, shuffle: false, verbose: 0 as const };
    const h1 = await ours.fit(xs, ys, fitArgs);
    const h2 = await theirs.fit(xs, ys, fitArgs);
    const a = weightsOf(ours);
    const b = weightsOf(theirs);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-4 * Math.abs(b[i]) + 1e-6);
    const l1 = h1.history.loss as number[];
    const l2 = h2.history.loss as number[];
    for (let e = 0; e < 20; e++) expect(Math.abs(l1[e] - l2[e])).toBeLessThanOrEqual(1e-4 * l2[e]);
    expect(optimizer.iterations).toBe(20);
    // The fused kernel ran every step where there is one (no composite update calls).
    expect(calls()).toBe(kernelPath(tx) === 'composite' ? 20 : 0);
    ours.dispose();
    theirs.dispose();
    optimizer.dispose();
  });

  it('a chain with clipping, a schedule and a masked decay lowers the loss; tensors stay flat across epochs', async () => {
    const model = makeModel(5);
    const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.05, warmupSteps: 5, decaySteps: 60 });
    const tx = chain(clipByGlobalNorm(1), adamw(schedule, { weightDecay: 1e-2, mask: maskByRank }));
    const optimizer = toTfOptimizer(tx, { name: 'clipped-adamw' });
    model.compile({ optimizer, loss: 'meanSquaredError' });
    const counts: number[] = [];
    const history = await model.fit(xs, ys, {
      epochs: 12,
      batchSize: 8,
      verbose: 0,
      callbacks: { onEpochEnd: async () => void counts.push(tf.memory().numTensors) },
    });
    const loss = history.history.loss as number[];
    expect(loss[11]).toBeLessThan(0.8 * loss[0]);
    expect(new Set(counts).size).toBe(1);
    expect(optimizer.iterations).toBe(48);
    const before = tf.memory().numTensors;
    optimizer.dispose();
    // Every state tensor (adamw's mu and nu for the 4 weights) is freed.
    expect(before - tf.memory().numTensors).toBe(8);
    model.dispose();
  });

  it('works with trainOnBatch and fitDataset', async () => {
    const model = makeModel(7);
    const optimizer = toTfOptimizer(sgd(0.1, { momentum: 0.9 }));
    model.compile({ optimizer, loss: 'meanSquaredError' });
    const first = (await model.trainOnBatch(xs, ys)) as number;
    const dataset = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) }).batch(16);
    await model.fitDataset(dataset as unknown as tf.data.Dataset<tf.TensorContainerObject>, { epochs: 3, verbose: 0 });
    const last = (await model.trainOnBatch(xs, ys)) as number;
    expect(optimizer.iterations).toBe(1 + 3 * 2 + 1);
    expect(last).toBeLessThan(first);
    model.dispose();
    optimizer.dispose();
  });
});

/** Decay kernels (rank > 1), not biases: the params are keyed by variable name. */
function maskByRank(p: unknown): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(p as Record<string, tf.Tensor>)) out[k] = v.rank > 1;
  return out;
}

describe('toTfOptimizer as a tf.Optimizer', () => {
  it('minimize equals trainStep on the same tree, and returns the cost when asked', () => {
    const w = tf.variable(tf.tensor1d([1, -2, 3]), true, 'minimize-w');
    const twin = { w: tf.variable(tf.tensor1d([1, -2, 3])) };
    const optimizer = toTfOptimizer(adam(0.1));
    const tx = adam(0.1);
    let state = tx.init(twin);
    const loss = (x: tf.Tensor) => tf.sum(tf.mul(x, x)) as tf.Scalar;
    for (let k = 0; k < 5; k++) {
      const cost = optimizer.minimize(() => loss(w), true);
      expect(cost).not.toBeNull();
      cost!.dispose();
      const grads = tf.tidy(() => ({ w: tf.mul(2, twin.w) }));
      ({ state } = trainStep(tx, twin, state, grads));
    }
    expectBitwiseEqual(w, twin.w);
    expect(optimizer.minimize(() => loss(w))).toBeNull();
    optimizer.dispose();
    w.dispose();
  });

  it('applyGradients: a map and a list in any order give the same bits; null gradients are skipped', () => {
    const run = (order: 'map' | 'list' | 'reversed') => {
      const a = tf.variable(tf.tensor1d([1, 2]), true, `apply-a-${order}`);
      const b = tf.variable(tf.tensor2d([[3, 4]]), true, `apply-b-${order}`);
      const optimizer = toTfOptimizer(rmsprop(0.05, { momentum: 0.5 }));
      for (let k = 0; k < 4; k++) {
        const ga = tf.mul(a, 0.5);
        const gb = tf.add(b, 1);
        if (order === 'map') optimizer.applyGradients({ [a.name]: ga, [b.name]: gb });
        else if (order === 'list') optimizer.applyGradients([{ name: a.name, tensor: ga }, { name: b.name, tensor: gb }]);
        else optimizer.applyGradients([{ name: b.name, tensor: gb }, { name: a.name, tensor: ga }]);
        tf.dispose([ga, gb]);
      }
      const out = [Array.from(a.dataSync()), Array.from(b.dataSync())];
      optimizer.dispose();
      tf.dispose([a, b]);
      return out;
    };
    const map = run('map');
    expect(run('list')).toEqual(map);
    expect(run('reversed')).toEqual(map);
    const v = tf.variable(tf.tensor1d([1]), true, 'apply-null');
    const optimizer = toTfOptimizer(sgd(1));
    optimizer.applyGradients({ [v.name]: null as unknown as tf.Tensor });
    expect(v.dataSync()[0]).toBe(1);
    expect(optimizer.iterations).toBe(1);
    optimizer.dispose();
    v.dispose();
  });

  it('keys state by variable name: a variable left out keeps its state, a new one starts fresh', () => {
    const tx = adam(0.1);
    const a = tf.variable(tf.tensor1d([1, 2]), true, 'keyed-a');
    const b = tf.variable(tf.tensor1d([3]), true, 'keyed-b');
    const optimizer = toTfOptimizer(tx);
    const g = (v: tf.Variable) => tf.mul(v, 2);
    const step = (vars: tf.Variable[]) => {
      const grads = vars.map((v) => ({ name: v.name, tensor: g(v) }));
      optimizer.applyGradients(grads);
      tf.dispose(grads.map((e) => e.tensor));
    };
    step([a]);
    step([a]);
    step([a, b]); // b joins: fresh moments, the optimizer's count
    step([b]); // a is left out: its moments stay as they were
    step([a, b]);
    // The same by hand: per-variable adam states, with the shared count.
    const ref = { a: tf.tensor1d([1, 2]), b: tf.tensor1d([3]) };
    const manual = (x: tf.Tensor, mu: tf.Tensor, nu: tf.Tensor, count: number): [tf.Tensor, tf.Tensor, tf.Tensor] => {
      const grad = tf.mul(x, 2);
      const m = tf.add(tf.mul(0.9, mu), tf.mul(0.1, grad));
      const n = tf.add(tf.mul(0.999, nu), tf.mul(0.001, tf.square(grad)));
      const t = count + 1;
      const u = tf.div(tf.div(m, 1 - 0.9 ** t), tf.add(tf.sqrt(tf.div(n, 1 - 0.999 ** t)), 1e-8));
      return [tf.sub(x, tf.mul(0.1, u)), m, n];
    };
    let [xa, ma, na]: tf.Tensor[] = [ref.a, tf.zerosLike(ref.a), tf.zerosLike(ref.a)];
    let [xb, mb, nb]: tf.Tensor[] = [ref.b, tf.zerosLike(ref.b), tf.zerosLike(ref.b)];
    [xa, ma, na] = manual(xa, ma, na, 0);
    [xa, ma, na] = manual(xa, ma, na, 1);
    [xa, ma, na] = manual(xa, ma, na, 2);
    [xb, mb, nb] = manual(xb, mb, nb, 2);
    [xb, mb, nb] = manual(xb, mb, nb, 3);
    [xa, ma, na] = manual(xa, ma, na, 4);
    [xb, mb, nb] = manual(xb, mb, nb, 4);
    expect(Array.from(a.dataSync())).toEqual(Array.from(xa.dataSync()).map((x) => expect.closeTo(x, 5)));
    expect(Array.from(b.dataSync())).toEqual(Array.from(xb.dataSync()).map((x) => expect.closeTo(x, 5)));
    optimizer.dispose();
    tf.dispose([a, b]);
  });

  it('setWeights with values a state cannot hold (a negative second moment) is refused at the first step, naming the path', async () => {
    const tx = adam(0.05);
    const x = tf.tidy(() => tf.variable(tf.tensor1d([1, -1, 2]), true, 'weights-bad-nu'));
    const one = toTfOptimizer(tx);
    const g = [{ name: x.name, tensor: tf.sin(x) }];
    one.applyGradients(g);
    const weights = await one.getWeights();
    const nu = weights.findIndex((w) => w.name.includes('.nu'));
    const bad = weights.map((w, i) => (i === nu ? { name: w.name, tensor: tf.neg(w.tensor) } : w));
    const two = toTfOptimizer(tx, { name: 'bad-nu' });
    await two.setWeights(bad);
    const before = Array.from(x.dataSync());
    expect(() => two.applyGradients(g)).toThrow(/nu.*weights-bad-nu.*(negative|>= 0)/);
    expect(Array.from(x.dataSync())).toEqual(before);
    tf.dispose([bad[nu].tensor, ...g.map((e) => e.tensor)]);
    one.dispose();
    two.dispose();
    x.dispose();
  });

  it('getWeights/setWeights move the state to another optimizer exactly; dispose frees everything', async () => {
    const start = tf.memory().numTensors;
    const tx = chain(clipByGlobalNorm(1), adamw(0.05, { weightDecay: 0.1 }));
    const x = tf.tidy(() => tf.variable(tf.tensor1d([1, -1, 2]), true, 'weights-x'));
    const grads = () => [{ name: x.name, tensor: tf.sin(x) }];
    const one = toTfOptimizer(tx);
    for (let k = 0; k < 3; k++) {
      const g = grads();
      one.applyGradients(g);
      tf.dispose(g.map((e) => e.tensor));
    }
    const weights = await one.getWeights();
    expect(weights[0].name).toBe('tfjs-optax/tfjs-optax-manifest');
    expect(weights.map((w) => w.name).slice(1)).toEqual(['tfjs-optax/[1][0].mu["weights-x"]', 'tfjs-optax/[1][0].nu["weights-x"]']);
    const two = toTfOptimizer(tx, { name: 'second' });
    await two.setWeights(weights);
    expect(two.iterations).toBe(3);
    // The next step from the same point: by the first optimizer, and by the second from its copy.
    const snapshot = tf.clone(x);
    const g1 = grads();
    one.applyGradients(g1);
    const afterOne = tf.clone(x);
    x.assign(snapshot);
    two.applyGradients(g1);
    expectBitwiseEqual(x, afterOne);
    tf.dispose([snapshot, afterOne, ...g1.map((e) => e.tensor)]);
    one.dispose();
    two.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(start);
    expect(() => one.applyGradients({})).toThrow('tfjs-optax.applyGradients: this optimizer has been disposed');
  });

  it('refuses bad input with clear errors', () => {
    const optimizer = toTfOptimizer(sgd(0.1));
    expect(() => optimizer.applyGradients({ 'no-such-variable': tf.scalar(1) })).toThrow(
      "tfjs-optax.applyGradients: no tf.Variable named 'no-such-variable' exists (disposed, or not a variable's name)",
    );
    expect(() => toTfOptimizer({} as GradientTransformation)).toThrow('toTfOptimizer: expected a gradient transformation ({ init, update }), got an object with keys {}');
    expect(() => toTfOptimizer(sgd(0.1), { nam: 'x' } as never)).toThrow("toTfOptimizer: unknown option 'nam' (known options: name)");
    expect(() => resumeTfOptimizer({ optimizer: tf.train.adam(0.1) }, adam(0.1))).toThrow(
      'resumeTfOptimizer: expected a model compiled or saved with toTfOptimizer(...) (or its optimizer), got a model whose optimizer is Adam',
    );
    optimizer.dispose();
  });
});

describe('saving and loading a layers model with its optimizer', () => {
  it('model.save(includeOptimizer) leaks nothing over repeated saves; loadLayersModel + resumeTfOptimizer resume exactly', async () => {
    const tx = chain(clipByGlobalNorm(1), adamw(warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.02, warmupSteps: 3, decaySteps: 40 })));
    const straight = makeModel(11);
    const first = makeModel(11);
    first.setWeights(straight.getWeights());
    straight.compile({ optimizer: toTfOptimizer(tx), loss: 'meanSquaredError' });
    first.compile({ optimizer: toTfOptimizer(tx), loss: 'meanSquaredError' });
    const fitArgs = { batchSize: 16, shuffle: false, verbose: 0 as const };
    await straight.fit(xs, ys, { ...fitArgs, epochs: 10 });
    await first.fit(xs, ys, { ...fitArgs, epochs: 5 });
    const sink = memorySink();
    await first.save(sink.handler, { includeOptimizer: true });
    const afterOne = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) await first.save(sink.handler, { includeOptimizer: true });
    expect(tf.memory().numTensors).toBe(afterOne);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(sink.artifacts()));
    expect(loaded.optimizer).toBeInstanceOf(LoadedOptaxOptimizer);
    expect(loaded.optimizer).not.toBeInstanceOf(OptaxOptimizer);
    await expect(loaded.fit(xs, ys, { ...fitArgs, epochs: 1 })).rejects.toThrow(
      'tfjs-optax.applyGradients: this optimizer was loaded with a model and has no transformation yet; call resumeTfOptimizer(model, tx)',
    );
    // Saved again before resuming, the placeholder writes back what it loaded.
    const again = memorySink();
    await loaded.save(again.handler, { includeOptimizer: true });
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(again.artifacts()));
    expect(await weightNames(reloaded)).toEqual(await weightNames(loaded));
    expect(again.artifacts().weightSpecs).toEqual(sink.artifacts().weightSpecs);
    expect(new Uint8Array(again.artifacts().weightData as ArrayBuffer)).toEqual(new Uint8Array(sink.artifacts().weightData as ArrayBuffer));
    reloaded.optimizer.dispose();
    reloaded.dispose();
    const resumed = resumeTfOptimizer(loaded, tx);
    expect(loaded.optimizer).toBe(resumed);
    expect(resumed).toBeInstanceOf(OptaxOptimizer);
    expect(loaded.optimizer.iterations).toBe(10);
    await loaded.fit(xs, ys, { ...fitArgs, epochs: 5 });
    expectBitwiseEqual(loaded.getWeights(), straight.getWeights());
    for (const m of [straight, first, loaded]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });

  it('resumeTfOptimizer refuses a state that does not fit, changing nothing', async () => {
    const model = makeModel(13);
    model.compile({ optimizer: toTfOptimizer(adam(0.01)), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 32, verbose: 0 });
    const sink = memorySink();
    await model.save(sink.handler, { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(sink.artifacts()));
    const placeholder = loaded.optimizer;
    expect(() => resumeTfOptimizer(loaded, sgd(0.01, { momentum: 0.9 }))).toThrow(
      "tfjs-optax.resume: the checkpoint does not fit this state at state[0]: expected keys {trace}, the checkpoint has {count, mu, nu}: " +
        "no 'trace'; unexpected 'count', 'mu', 'nu' (state for other parameters, or of another optimizer)",
    );
    // Nothing changed: the model keeps its loaded optimizer, and the right transformation resumes it.
    expect(loaded.optimizer).toBe(placeholder);
    expect(resumeTfOptimizer(loaded, adam(0.01)).iterations).toBe(1);
    await loaded.fit(xs, ys, { epochs: 1, batchSize: 32, verbose: 0 });
    model.optimizer.dispose();
    model.dispose();
    loaded.optimizer.dispose();
    loaded.dispose();
  });
});

describe('custom loops over a layers model', () => {
  it('modelParams gives name-keyed tf.Variables that trainStep updates in place', () => {
    const model = makeModel(17, 'custom');
    const params = modelParams(model);
    expect(Object.keys(params)).toEqual(model.trainableWeights.map((w) => (w.read() as tf.Variable).name));
    expect(Object.keys(params)[0]).toMatch(/^dense_Dense\d+\/kernel$/);
    for (const v of Object.values(params)) expect(v).toBeInstanceOf(tf.Variable);
    const tx = adam(0.02);
    let state = tx.init(params);
    const lossOf = () => tf.losses.meanSquaredError(ys, model.apply(xs) as tf.Tensor) as tf.Scalar;
    const first = tf.tidy(() => lossOf().dataSync()[0]);
    const start = tf.memory().numTensors;
    for (let k = 0; k < 30; k++) {
      const { value, grads } = tf.variableGrads(lossOf, Object.values(params));
      const byKey: Record<string, tf.Tensor> = {};
      for (const [key, v] of Object.entries(params)) byKey[key] = grads[v.name];
      ({ state } = trainStep(tx, params, state, byKey));
      value.dispose();
    }
    expect(tf.memory().numTensors).toBe(start);
    expect(tf.tidy(() => lossOf().dataSync()[0])).toBeLessThan(0.8 * first);
    model.dispose();
  });

  it('a LayerVariable or a model as a leaf gets an error saying what to do', () => {
    const model = makeModel(19);
    expect(() => adam(0.1).init(model.trainableWeights as never)).toThrow(
      /\[0\]: expected a tf.Tensor, .* got an instance of LayerVariable: a tfjs-layers weight \(LayerVariable '.*\/kernel'\) is not a tensor; use its tf.Variable, weight.read\(\), or a params tree of the whole model's weights from modelParams\(model\)/,
    );
    expect(() => adam(0.1).init({ model } as never)).toThrow(/a tfjs-layers model is not a tensor; make a params tree of its weights with modelParams\(model\)/);
    model.dispose();
  });
});

/** The optimizer's state as plain data (each tensor as its id, whether disposed, and values). */
function snapshotOf(optimizer: OptaxOptimizer): string {
  return JSON.stringify(optimizer.currentState ?? null, (_key, v: unknown) =>
    v instanceof tf.Tensor ? { id: v.id, disposed: v.isDisposed, values: v.isDisposed ? [] : Array.from(v.dataSync()) } : v,
  );
}

/** `step` throws `error` and changes nothing: the state (the same object, the same values), the variables, the iterations, the tensor count. */
function expectNoChange(optimizer: OptaxOptimizer, variables: tf.Variable[], step: () => void, error: string | RegExp): void {
  const state = optimizer.currentState;
  const snapshot = snapshotOf(optimizer);
  const values = variables.map((v) => Array.from(v.dataSync()));
  const iterations = optimizer.iterations;
  const tensors = tf.memory().numTensors;
  expect(step).toThrow(error);
  expect(optimizer.currentState).toBe(state);
  expect(snapshotOf(optimizer)).toBe(snapshot);
  expect(variables.map((v) => Array.from(v.dataSync()))).toEqual(values);
  expect(optimizer.iterations).toBe(iterations);
  expect(tf.memory().numTensors).toBe(tensors);
}

/** One applyGradients with `grad(v)` for each variable, the gradients freed after. */
function stepOn(optimizer: tf.Optimizer, variables: tf.Variable[], grad: (v: tf.Variable) => tf.Tensor = (v) => tf.sin(v)): void {
  const grads = variables.map((v) => ({ name: v.name, tensor: grad(v) }));
  optimizer.applyGradients(grads);
  tf.dispose(grads.map((g) => g.tensor));
}

describe('applyGradients changes nothing when it throws', () => {
  it('a gradient of the wrong shape: on the first step, when a variable joins, on a later step; training then goes on as if it had not happened', () => {
    const a = tf.variable(tf.tensor1d([1, -2]), true, 'atomic-a');
    const b = tf.variable(tf.tensor1d([3]), true, 'atomic-b');
    const twinA = tf.variable(tf.tensor1d([1, -2]), true, 'atomic-twin-a');
    const twinB = tf.variable(tf.tensor1d([3]), true, 'atomic-twin-b');
    const optimizer = toTfOptimizer(adam(0.1));
    const twin = toTfOptimizer(adam(0.1));
    const bad = { [a.name]: tf.ones([3]), [b.name]: tf.ones([1]) };
    // The first step: the state stays unmade (before: tx.init's 4 tensors were kept).
    expectNoChange(optimizer, [a, b], () => optimizer.applyGradients(bad), /shape mismatch at \["atomic-a"\]: updates\["atomic-a"\] has shape \[3\]/);
    expect(optimizer.currentState).toBeUndefined();
    stepOn(optimizer, [a]);
    stepOn(twin, [twinA]);
    // b joins with a bad gradient: no entries for b are added to the state.
    const joining = { [a.name]: tf.ones([2]), [b.name]: tf.ones([4]) };
    expectNoChange(optimizer, [a, b], () => optimizer.applyGradients(joining), /shape mismatch at \["atomic-b"\]/);
    stepOn(optimizer, [a, b]);
    stepOn(twin, [twinA, twinB]);
    const later = { [a.name]: tf.ones([5]) };
    expectNoChange(optimizer, [a, b], () => optimizer.applyGradients(later), /shape mismatch at \["atomic-a"\]/);
    stepOn(optimizer, [a, b]);
    stepOn(twin, [twinA, twinB]);
    expectBitwiseEqual([a, b], [twinA, twinB]);
    expect(optimizer.iterations).toBe(3);
    tf.dispose([...Object.values(bad), ...Object.values(joining), ...Object.values(later)]);
    optimizer.dispose();
    twin.dispose();
    tf.dispose([a, b, twinA, twinB]);
  });

  it('a schedule that throws or returns NaN at step k, on the fused and on the composite path', () => {
    const throwsAt3 = (count: number) => {
      if (count === 3) throw new Error('schedule failed at 3');
      return 0.1;
    };
    const nanAt3 = (count: number) => (count === 3 ? NaN : 0.1);
    const cases: Array<[GradientTransformation<any>, string | RegExp]> = [
      [adam(throwsAt3), 'schedule failed at 3'],
      [chain(centralize(), sgd(throwsAt3, { momentum: 0.9 })), 'schedule failed at 3'],
      [adam(nanAt3), "adam: the 'learningRate' schedule returned NaN at count 3"],
      [chain(centralize(), adamw(0.1, { weightDecay: nanAt3 })), "adamw: the 'weightDecay' schedule returned NaN at count 3"],
    ];
    cases.forEach(([tx, error], i) => {
      const w = tf.variable(tf.tensor2d([[1, -2], [0.5, 4]]), true, `atomic-schedule-${i}`);
      const optimizer = toTfOptimizer(tx);
      // The step at count 2 makes the state for count 3, whose value it cannot compute.
      stepOn(optimizer, [w]);
      stepOn(optimizer, [w]);
      const grads = [{ name: w.name, tensor: tf.sin(w) }];
      expectNoChange(optimizer, [w], () => optimizer.applyGradients(grads), error);
      tf.dispose(grads[0].tensor);
      optimizer.dispose();
      w.dispose();
    });
  });

  it('a missing variable or an int32 gradient among good ones', () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true, 'atomic-missing-a');
    const optimizer = toTfOptimizer(sgd(0.1, { momentum: 0.9 }));
    stepOn(optimizer, [a]);
    const missing = { [a.name]: tf.ones([2]), 'atomic-no-such': tf.ones([1]) };
    expectNoChange(optimizer, [a], () => optimizer.applyGradients(missing), "no tf.Variable named 'atomic-no-such' exists");
    const ints = { [a.name]: tf.ones([2], 'int32') };
    expectNoChange(optimizer, [a], () => optimizer.applyGradients(ints), /must be a float32 tensor, got int32/);
    tf.dispose([...Object.values(missing), ...Object.values(ints)]);
    optimizer.dispose();
    a.dispose();
  });

  it('the state of a variable since disposed is kept by a failed step and freed by the next good one', () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true, 'atomic-gone-a');
    const gone = tf.variable(tf.tensor1d([3]), true, 'atomic-gone-b');
    const c = tf.variable(tf.tensor1d([5, 6, 7]), true, 'atomic-gone-c');
    const optimizer = toTfOptimizer(adam(0.1));
    stepOn(optimizer, [a, gone]);
    gone.dispose();
    const bad = { [a.name]: tf.ones([2]), [c.name]: tf.ones([2]) };
    expectNoChange(optimizer, [a, c], () => optimizer.applyGradients(bad), /shape mismatch at \["atomic-gone-c"\]/);
    const before = tf.memory().numTensors;
    stepOn(optimizer, [a, c]);
    // c's moments made, gone's freed: 2 in, 2 out.
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys((optimizer.currentState as any)[0].mu)).toEqual(['atomic-gone-a', 'atomic-gone-c']);
    tf.dispose(Object.values(bad));
    optimizer.dispose();
    tf.dispose([a, c]);
  });

  it('a loaded state and a learning rate set before the first step survive a failed first step', async () => {
    const x = tf.variable(tf.tensor1d([1, -1, 2]), true, 'atomic-loaded-x');
    const tx = sgd(0.1, { momentum: 0.9 });
    const one = toTfOptimizer(tx);
    stepOn(one, [x]);
    stepOn(one, [x]);
    const two = toTfOptimizer(tx, { name: 'two' });
    await two.setWeights(await one.getWeights());
    two.learningRate = 0.05;
    const bad = [{ name: x.name, tensor: tf.ones([2]) }];
    expectNoChange(two, [x], () => two.applyGradients(bad), /shape mismatch/);
    expect(two.currentState).toBeUndefined();
    expect(two.learningRate).toBe(0.05);
    expect(two.iterations).toBe(2);
    // The next good step is one's next step at the rate set.
    const start = tf.clone(x);
    one.learningRate = 0.05;
    stepOn(one, [x]);
    const afterOne = tf.clone(x);
    x.assign(start);
    stepOn(two, [x]);
    expectBitwiseEqual(x, afterOne);
    tf.dispose([start, afterOne, bad[0].tensor, x]);
    one.dispose();
    two.dispose();
  });
});

describe('hyperparameters through the adapter: learningRate, getHyperparam, setHyperparam', () => {
  it('learningRate reads the rate the next step uses: before the first step, and after each', () => {
    const schedule = warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.02, warmupSteps: 3, decaySteps: 40 });
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'lr-read-w');
    const optimizer = toTfOptimizer(chain(clipByGlobalNorm(1), adamw(schedule, { weightDecay: 1e-2 })));
    expect(optimizer.learningRate).toBe(schedule(0));
    for (let k = 0; k < 5; k++) {
      stepOn(optimizer, [w]);
      expect(optimizer.learningRate).toBe(schedule(k + 1));
      expect(optimizer.learningRate).toBe(getHyperparam(optimizer.currentState, 'learningRate'));
    }
    expect(optimizer.getHyperparam('weightDecay')).toBe(1e-2);
    optimizer.dispose();
    w.dispose();
  });

  it('setting learningRate in a model.fit callback changes the next step, as tf.train.sgd.setLearningRate does', async () => {
    const ours = makeModel(23);
    const theirs = makeModel(23);
    theirs.setWeights(ours.getWeights());
    const optimizer = toTfOptimizer(sgd(0.1));
    const reference = tf.train.sgd(0.1);
    ours.compile({ optimizer, loss: 'meanSquaredError' });
    theirs.compile({ optimizer: reference, loss: 'meanSquaredError' });
    const rate = (epoch: number) => 0.1 * 0.5 ** epoch;
    const fitArgs = { epochs: 4, batchSize: 16, shuffle: false, verbose: 0 as const };
    const seen: number[] = [];
    await ours.fit(xs, ys, {
      ...fitArgs,
      callbacks: {
        onEpochBegin: async (epoch) => {
          (ours.optimizer as OptaxOptimizer).learningRate = rate(epoch);
          seen.push((ours.optimizer as OptaxOptimizer).learningRate);
        },
      },
    });
    await theirs.fit(xs, ys, { ...fitArgs, callbacks: { onEpochBegin: async (epoch) => reference.setLearningRate(rate(epoch)) } });
    expect(seen).toEqual([0, 1, 2, 3].map(rate));
    const a = weightsOf(ours);
    const b = weightsOf(theirs);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * Math.abs(b[i]) + 1e-7);
    ours.dispose();
    theirs.dispose();
    optimizer.dispose();
    reference.dispose();
  });

  it('a rate set before the first step is used by it; injectHyperparams gives any transformation a learningRate', () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, 'lr-before-w');
    const optimizer = toTfOptimizer(sgd(0.1));
    optimizer.learningRate = 0.5;
    expect(optimizer.learningRate).toBe(0.5);
    expect(optimizer.currentState).toBeUndefined();
    stepOn(optimizer, [w], () => tf.tensor1d([1, 1]));
    expect(Array.from(w.dataSync())).toEqual([0.5, -2.5]);
    expect(optimizer.learningRate).toBe(0.5);
    optimizer.dispose();
    w.dispose();
    // A transformation of one's own, its rate injected: set, it is the rate the next step uses.
    const make = (h: { learningRate: number }) => chain(scaleByAdam(), scale(-h.learningRate));
    const x = tf.variable(tf.tensor1d([1, 2, 3]), true, 'lr-inject-x');
    const twinX = tf.variable(tf.tensor1d([1, 2, 3]), true, 'lr-inject-twin');
    const injected = toTfOptimizer(injectHyperparams(make)({ learningRate: 0.1 }));
    const twin = toTfOptimizer(injectHyperparams(make)({ learningRate: 0.1 }));
    stepOn(injected, [x]);
    stepOn(twin, [twinX]);
    expect(injected.learningRate).toBe(0.1);
    injected.learningRate = 0.01;
    twin.setHyperparam('learningRate', 0.01);
    stepOn(injected, [x]);
    stepOn(twin, [twinX]);
    expectBitwiseEqual(x, twinX);
    expect(injected.learningRate).toBe(0.01);
    // And the step used it: 0.01 times adam's second direction, not 0.1 times it.
    const ref = tf.variable(tf.tensor1d([1, 2, 3]), true, 'lr-inject-ref');
    const plain = toTfOptimizer(injectHyperparams(make)({ learningRate: 0.1 }));
    stepOn(plain, [ref]);
    stepOn(plain, [ref]);
    expect(Array.from(ref.dataSync())).not.toEqual(Array.from(x.dataSync()));
    injected.dispose();
    twin.dispose();
    plain.dispose();
    tf.dispose([x, twinX, ref]);
  });

  it('a value that is not a finite number within the bound throws, naming it, and changes nothing', () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, 'lr-invalid-w');
    const optimizer = toTfOptimizer(adam(0.1));
    const bad: Array<[unknown, ErrorConstructor, string]> = [
      [-1, RangeError, 'got -1'],
      [NaN, RangeError, 'got NaN'],
      [Infinity, RangeError, 'got Infinity'],
      ['0.01', TypeError, 'got a string ("0.01")'],
      [undefined, TypeError, 'got undefined'],
    ];
    for (const round of ['before the first step', 'after a step']) {
      const state = optimizer.currentState;
      for (const [value, type, got] of bad) {
        const set = () => {
          optimizer.learningRate = value as number;
        };
        expect(set).toThrow(type);
        expect(set).toThrow(
          `tfjs-optax.learningRate: the value for 'learningRate' (state[1].learningRate) must be a finite number >= 0, ${got}; nothing was changed`,
        );
        expect(() => optimizer.setHyperparam('learningRate', value as number)).toThrow(type);
      }
      expect(optimizer.learningRate).toBe(0.1);
      expect(optimizer.currentState).toBe(state);
      if (round === 'before the first step') stepOn(optimizer, [w]);
    }
    optimizer.dispose();
    // Each hyperparameter's own bound, from the transformation: adamw's weight decay >= 0;
    // fromage's (a negative decay it derives from its rate) >= -1.
    const decayed = toTfOptimizer(adamw(0.1, { weightDecay: 0.01 }));
    expect(() => decayed.setHyperparam('weightDecay', -0.1)).toThrow(
      "tfjs-optax.setHyperparam: the value for 'weightDecay' (state[1].weightDecay) must be a finite number >= 0, got -0.1; nothing was changed",
    );
    const shrink = toTfOptimizer(fromage(0.1));
    shrink.setHyperparam('weightDecay', -0.5);
    expect(shrink.getHyperparam('weightDecay')).toBe(-0.5);
    expect(() => shrink.setHyperparam('weightDecay', -2)).toThrow(/must be a finite number >= -1, got -2/);
    decayed.dispose();
    shrink.dispose();
    w.dispose();
  });

  it('without a learning rate in the state, or with several, learningRate says what to do; a path picks one of several', () => {
    const none = toTfOptimizer(chain(scaleByAdam(), scale(-0.1)));
    const hint = /no hyperparameter 'learningRate' here; it holds no hyperparameters; .*wrap it in injectHyperparams\(\.\.\.\)/;
    expect(() => none.learningRate).toThrow(hint);
    expect(() => {
      none.learningRate = 0.1;
    }).toThrow(hint);
    none.dispose();
    const labels = (p: unknown) => {
      const out: Record<string, string> = {};
      for (const k of Object.keys(p as object)) out[k] = k.endsWith('kernel') ? 'kernels' : 'biases';
      return out;
    };
    const kernel = tf.variable(tf.ones([2, 2]), true, 'several-kernel');
    const bias = tf.variable(tf.ones([2]), true, 'several-bias');
    const several = toTfOptimizer(partition({ kernels: adam(0.01), biases: sgd(0.1) }, labels));
    for (const round of [0, 1]) {
      expect(() => several.learningRate).toThrow(
        /'learningRate' is at more than one place: inner\.biases\.1\.learningRate, inner\.kernels\.1\.learningRate; .*optimizer\.setHyperparam\(path, value\)/,
      );
      several.setHyperparam('biases.learningRate', 0.2 + round);
      expect(several.getHyperparam('biases.learningRate')).toBe(0.2 + round);
      expect(several.getHyperparam('kernels.learningRate')).toBe(0.01);
      if (round === 0) {
        stepOn(several, [kernel, bias], (v) => tf.onesLike(v));
        // The first step used the rate set before it.
        expect(Array.from(bias.dataSync())).toEqual([0.8, 0.8].map((v) => Math.fround(v)));
      }
    }
    several.dispose();
    tf.dispose([kernel, bias]);
  });

  it("a loaded model's placeholder asks for resumeTfOptimizer; setWeights or resuming gives the saved rate", async () => {
    const schedule = (count: number) => 0.05 / (1 + count);
    const tx = adam(schedule);
    const model = makeModel(29);
    model.compile({ optimizer: toTfOptimizer(tx), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 3, batchSize: 32, verbose: 0 });
    const sink = memorySink();
    await model.save(sink.handler, { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(sink.artifacts()));
    const placeholder = loaded.optimizer as unknown as { learningRate: number };
    expect(() => placeholder.learningRate).toThrow(
      'tfjs-optax.learningRate: this optimizer was loaded with a model and has no transformation yet; call resumeTfOptimizer(model, tx)',
    );
    expect(() => {
      placeholder.learningRate = 0.1;
    }).toThrow(/call resumeTfOptimizer\(model, tx\) with the transformation it was saved with before setting the learning rate/);
    // setWeights keeps the loaded state until the first step; its rate is read from it.
    const copy = toTfOptimizer(tx);
    await copy.setWeights(await model.optimizer.getWeights());
    expect(copy.currentState).toBeUndefined();
    expect(copy.learningRate).toBe(schedule(3));
    expect(resumeTfOptimizer(loaded, tx).learningRate).toBe(schedule(3));
    copy.dispose();
    for (const m of [model, loaded]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });
});

describe('getConfig and fromConfig', () => {
  it('getConfig is JSON; fromConfig says the transformation is code and points at resumeTfOptimizer; tfjs deserializes the placeholder', () => {
    const optimizer = toTfOptimizer(adam(0.1), { name: 'configured' });
    const config = optimizer.getConfig();
    expect(JSON.parse(JSON.stringify(config))).toEqual({ name: 'configured' });
    const message = /^OptaxOptimizer\.fromConfig: a tfjs-optax optimizer cannot be rebuilt from its config \(got an object with keys \{name\}\): its transformation is code, not data.*toTfOptimizer\(tx\).*resumeTfOptimizer\(model, tx\)/;
    expect(() => OptaxOptimizer.fromConfig(OptaxOptimizer, config)).toThrow(message);
    // tf.Serializable's own fromConfig is `new cls(config)`: the constructor says the same.
    expect(() => new OptaxOptimizer(config as never)).toThrow(message);
    // tfjs's registry (what tf.loadLayersModel uses) gives the placeholder, which asks for the transformation.
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[optimizer.getClassName()];
    const placeholder = fromConfig(cls, config);
    expect(placeholder).toBeInstanceOf(LoadedOptaxOptimizer);
    expect((placeholder as LoadedOptaxOptimizer).name).toBe('configured');
    expect(() => (placeholder as LoadedOptaxOptimizer).applyGradients()).toThrow(/call resumeTfOptimizer\(model, tx\)/);
    (placeholder as LoadedOptaxOptimizer).dispose();
    optimizer.dispose();
  });
});
