import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adadelta,
  adamax,
  amsgrad,
  lion,
  radam,
  adagrad,
  adam,
  adamw,
  addDecayedWeights,
  applyUpdates,
  chain,
  clip,
  clipByGlobalNorm,
  cosineDecaySchedule,
  exponentialDecay,
  joinSchedules,
  kernelPath,
  linearSchedule,
  piecewiseConstantSchedule,
  polynomialSchedule,
  rmsprop,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
  trace,
  trainStep,
  treeDispose,
  treeLeaves,
  TreeStructureError,
  warmupCosineDecaySchedule,
  type GradientTransformation,
} from '../src/index.js';
import { collectTensors } from '../src/tree/memory.js';
import { failsCleanly, inMode, makeGrads, makeParams } from './helpers.js';
import { type Entry, exampleOf, examplesOf, factoryOf, OPTIMIZERS, TRANSFORMS } from './properties/registry.js';

describe('hyperparameters are checked at construction (RangeError naming owner, option, value)', () => {
  it.each<[string, () => unknown, RegExp]>([
    ['b1 >= 1', () => adam(1e-3, { b1: 1.5 }), /adam: option 'b1' must be a finite number in \[0, 1\), got 1\.5/],
    ['b2 = 1', () => adamw(1e-3, { b2: 1 }), /adamw: option 'b2' .*\[0, 1\), got 1/],
    ['negative eps', () => adam(1e-3, { eps: -1e-8 }), /adam: option 'eps' must be a finite number >= 0, got -1e-8/],
    ['NaN learning rate', () => adam(NaN), /adam: option 'learningRate' .*got NaN/],
    ['infinite learning rate', () => sgd(Infinity), /sgd: option 'learningRate' .*got Infinity/],
    ['negative learning rate', () => adagrad(-0.1), /adagrad: option 'learningRate' .*>= 0, got -0\.1/],
    ['momentum > 1', () => sgd(0.1, { momentum: 1.5 }), /sgd: option 'momentum' .*\[0, 1\], got 1\.5/],
    ['rmsprop decay', () => rmsprop(0.1, { decay: 2 }), /rmsprop: option 'decay'.*got 2/],
    ['negative weight decay', () => adamw(0.1, { weightDecay: -1 }), /adamw: option 'weightDecay'.*got -1/],
    ['maxNorm = 0', () => clipByGlobalNorm(0), /clipByGlobalNorm: option 'maxNorm' must be a finite number > 0, got 0/],
    ['maxNorm < 0', () => clipByGlobalNorm(-1), /clipByGlobalNorm: option 'maxNorm'.*got -1/],
    ['maxDelta = 0', () => clip(0), /clip: option 'maxDelta'.*got 0/],
    ['transitionSteps = 0', () => linearSchedule({ initValue: 1, endValue: 0, transitionSteps: 0 }), /linearSchedule: option 'transitionSteps' .*> 0, got 0/],
    ['polynomial transitionSteps < 0', () => polynomialSchedule({ initValue: 1, endValue: 0, power: 1, transitionSteps: -3 }), /polynomialSchedule: option 'transitionSteps'/],
    ['exponential decayRate 0', () => exponentialDecay({ initValue: 1, transitionSteps: 1, decayRate: 0 }), /exponentialDecay: option 'decayRate'/],
    ['cosine decaySteps 0', () => cosineDecaySchedule({ initValue: 1, decaySteps: 0 }), /cosineDecaySchedule: option 'decaySteps'/],
    ['warmup >= decaySteps', () => warmupCosineDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 10 }), /warmupCosineDecaySchedule: option 'decaySteps' must be a finite number > 10, got 10/],
    ['negative piecewise scale', () => piecewiseConstantSchedule({ initValue: 1, boundariesAndScales: { 10: -0.5 } }), /piecewiseConstantSchedule: option 'boundariesAndScales\[10\]'.*got -0\.5/],
    ['join lengths', () => joinSchedules({ schedules: [() => 1], boundaries: [5] }), /joinSchedules: needs one more schedule than boundaries/],
    ['join order', () => joinSchedules({ schedules: [() => 1, () => 2, () => 3], boundaries: [5, 2] }), /joinSchedules: option 'boundaries\[1\]' .*>= 5, got 2/],
    ['radam threshold below 4 (the rectification would be NaN)', () => radam(1e-3, { threshold: 3 }), /radam: option 'threshold' must be a finite number >= 4, got 3/],
    ['adamax b2 = 1', () => adamax(1e-3, { b2: 1 }), /adamax: option 'b2' .*\[0, 1\), got 1/],
    ['amsgrad negative epsRoot', () => amsgrad(1e-3, { epsRoot: -1 }), /amsgrad: option 'epsRoot' .*>= 0, got -1/],
    ['adadelta rho = 1', () => adadelta(1, { rho: 1 }), /adadelta: option 'rho' .*\[0, 1\), got 1/],
    ['lion negative weight decay', () => lion(1e-4, { weightDecay: -0.1 }), /lion: option 'weightDecay'.*got -0\.1/],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(RangeError);
    expect(make).toThrow(message);
  });

  it.each<[string, () => unknown, RegExp]>([
    ['a misspelt option', () => adam(1e-3, { beta1: 0.9 } as never), /adam: unknown option 'beta1' \(known options: b1, b2, eps, epsRoot, nesterov\)/],
    ['a misspelt lion option', () => lion(1e-4, { beta1: 0.9 } as never), /lion: unknown option 'beta1' \(known options: b1, b2, mode, smoothBeta, weightDecay, mask\)/],
    ['a misspelt amsgrad option', () => amsgrad(1e-3, { biasCorrection: false } as never), /amsgrad: unknown option 'biasCorrection'/],
    ['a boolean option given a number', () => amsgrad(1e-3, { biasCorrectionNu: 0 } as never), /amsgrad: option 'biasCorrectionNu' must be true or false, got 0/],
    ['a string where a number goes', () => adam(1e-3, { eps: '1e-8' } as never), /adam: option 'eps' must be a number, got "1e-8"/],
    ['nesterov without momentum', () => sgd(0.1, { nesterov: true }), /sgd: option 'nesterov' needs 'momentum'/],
    ['a string momentum', () => sgd(0.1, { momentum: '0.9' } as never), /^sgd: option 'momentum' must be a number, got "0\.9"$/],
    ['a string rmsprop momentum', () => rmsprop(0.1, { momentum: '0.9' } as never), /^rmsprop: option 'momentum' must be a number, got "0\.9"$/],
    ['trace without decay', () => trace({} as never), /trace: option 'decay' is required/],
    ['a missing schedule option', () => cosineDecaySchedule({ initValue: 1 } as never), /cosineDecaySchedule: option 'decaySteps' is required/],
    ['a bad mask leaf', () => addDecayedWeights(0.1, { mask: { a: 1 } as never }), /addDecayedWeights: mask\.a must be true, false or a subtree of them, got a number \(1\)/],
    ['a non-transformation in chain', () => chain(adam(0.1), {} as never), /chain: argument 1 is not a gradient transformation/],
  ])('%s is a TypeError', (_name, make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });
});

/** The numeric options of an entry: those where a number outside the domain is a RangeError. */
const numericOptions = (entry: Entry): string[] =>
  Object.entries(entry.options ?? {}).filter(([, dom]) => dom.errorOf(0.5) === RangeError).map(([name]) => name);

/**
 * Every optimizer (the registry's), with each option set it lists (the defaults, and the variants
 * that build a different chain: rmsprop centered and with momentum, sgd with momentum), called as
 * a user would: `name(stepSize, options)`. The numeric options are the step size (the positional
 * argument: learningRate, or maxLearningRate for polyakSgd) and those the registry's domains call
 * numeric.
 */
const ALIAS_OPTIONS: Array<[label: string, entry: Entry, base: Record<string, unknown>]> = OPTIMIZERS.flatMap((entry) =>
  examplesOf(entry).map(([label, base]): [string, Entry, Record<string, unknown>] => [label, entry, base]),
);

describe('aliases name the option the user wrote', () => {
  const cases = ALIAS_OPTIONS.flatMap(([label, entry, base]) =>
    [entry.args[0][0], ...numericOptions(entry)].map((option) => [`${label} ${option}`, entry, base, option] as const),
  );

  it.each(cases)('%s: NaN is a RangeError naming the alias and the option', (_label, entry, base, option) => {
    const make = factoryOf(entry);
    const call = () => (option === entry.args[0][0] ? make(NaN, base) : make(0.1, { ...base, [option]: NaN }));
    expect(call).toThrow(RangeError);
    expect(call).toThrow(new RegExp(`^${entry.name}: option '${option}' must be a finite number.*, got NaN$`));
  });

  it.each(OPTIMIZERS.map((entry) => [entry.name, entry] as const))(
    '%s: every option its factory knows is one the registry calls numeric (checked above) or not',
    (_name, entry) => {
      let message = '';
      try {
        factoryOf(entry)(0.1, { notAnOption: 1 });
      } catch (e) {
        message = (e as Error).message;
      }
      const listed = /known options: ([^)]*)\)/.exec(message)![1];
      const known = listed === '' ? [] : listed.split(', ');
      const numeric = numericOptions(entry);
      const other = [...Object.keys(entry.options ?? {}).filter((o) => !numeric.includes(o)), ...Object.keys(entry.omitted ?? {})];
      expect(known.filter((k) => !numeric.includes(k) && !other.includes(k))).toEqual([]);
      expect(numeric.filter((k) => !known.includes(k))).toEqual([]);
    },
  );
});

/**
 * The registry's transformations whose state holds tensors for the params, each by a fixed example
 * (not those built masked to the matrices: their errors about the tree are masked's).
 */
const TRANSFORMS_WITH_STATE: Array<[string, () => GradientTransformation<any>]> = TRANSFORMS.filter((entry) => !entry.matricesOnly).map((entry): [string, () => GradientTransformation<any>] => {
  const recipe = exampleOf(entry);
  return [entry.name, () => recipe.make({ leafCount: 3 })];
}).filter(([, make]) => {
  const params = makeParams();
  const state = make().init(params);
  const holds = collectTensors(state).size > 0;
  treeDispose([params, state]);
  return holds;
});

/**
 * Transformations and chains whose init builds per-leaf state, with the owner their errors about
 * the params name, and the owner of the state (the chain, for a chain the user wrote).
 */
const STATEFUL: Array<[owner: string, make: () => GradientTransformation<any>, stateOwner?: string]> = [
  ...ALIAS_OPTIONS.map(([, entry, base]): [string, () => GradientTransformation<any>] => [entry.name, () => factoryOf(entry)(0.1, base)]),
  ...TRANSFORMS_WITH_STATE,
  ['adamw', () => chain(clipByGlobalNorm(1), adamw(0.1)), 'chain'],
  ['sgd', () => chain(clip(1), sgd(0.1, { momentum: 0.9 })), 'chain'],
];


describe('init rejects parameters it cannot build float32 state for, naming the path', () => {
  const int32LeafAtInit = (owner: string, make: () => GradientTransformation<any>) => {
    const tx = make();
    const params = { layer: { kernel: tf.zeros([2, 3], 'int32'), bias: tf.zeros([3]) } };
    const e = failsCleanly(() => tx.init(params));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(`${owner}: params.layer.kernel must be a float32 tensor, got int32 of shape [2, 3]`);
  };
  it.each(STATEFUL)('%s: an int32 leaf is a TypeError at init', int32LeafAtInit);

  const notATreeAtInit = (owner: string, make: () => GradientTransformation<any>) => {
    const tx = make();
    const e = failsCleanly(() => tx.init({ layers: [null, [], { kernel: 3 }] } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(
      `${owner}: params.layers[2].kernel: expected a tf.Tensor, an array, a plain object, null or undefined in a tree, got a number (3)`,
    );
  };
  it.each(STATEFUL)('%s: a value that is not a tree is a TypeError at init', notATreeAtInit);

  it('a chain whose second transformation rejects the params leaks nothing from the first', () => {
    const unchecked: GradientTransformation<{ t: tf.Tensor }> = { init: () => ({ t: tf.zeros([1]) }), update: (u, s) => [u, s] };
    const tx = chain(unchecked, adam(0.1));
    const params = { w: tf.zeros([2], 'int32') };
    const e = failsCleanly(() => tx.init(params));
    expect(e.message).toBe('adam: params.w must be a float32 tensor, got int32 of shape [2]');
  });
});

describe('bad inputs to update throw before anything is created or changed', () => {
  it('a gradient tree missing a leaf: TreeStructureError naming the path', () => {
    const tx = adam(0.1);
    const params = makeParams();
    const state = tx.init(params);
    const grads = { layer: { kernel: tf.zeros([2, 3]) }, scale: tf.scalar(1) };
    const e = failsCleanly(() => tx.update(grads as never, state, params));
    expect(e).toBeInstanceOf(TreeStructureError);
    expect(e.message).toBe(
      'adam: tree structures differ at layer.bias: state.mu has this key, updates does not; ' +
        'at layer, updates has keys [kernel] and state.mu has [bias, kernel]',
    );
    expect((e as TreeStructureError).path).toBe('layer.bias');
  });

  it('a gradient tree with a renamed key: the error lists the keys each side has there, on every path', () => {
    // A layers model rebuilt in the same session names its weights kernel_1; the gradients say kernel.
    const params = { 'dense_Dense1/kernel_1': tf.zeros([2, 2]), 'dense_Dense1/bias': tf.zeros([2]) };
    const grads = { 'dense_Dense1/kernel': tf.zeros([2, 2]), 'dense_Dense1/bias': tf.zeros([2]) };
    for (const mode of ['auto', 'composite'] as const) {
      inMode(mode, () => {
        const tx = adam(0.1);
        const state = tx.init(params);
        const e = failsCleanly(() => trainStep(tx, params, state, grads as never));
        expect(e).toBeInstanceOf(TreeStructureError);
        expect(e.message).toMatch(/^adam: tree structures differ at \["dense_Dense1\/kernel"\]: (updates|grads) has this key, \w+(\.mu)? does not; at \(root\), /);
        expect(e.message).toContain('has keys [dense_Dense1/bias, dense_Dense1/kernel] and ');
        expect(e.message).toContain(' has [dense_Dense1/bias, dense_Dense1/kernel_1]');
        expect(treeLeaves(state).every((x) => !x.isDisposed)).toBe(true);
        treeDispose(state);
      });
    }
    treeDispose([params, grads]);
  });

  it('a gradient of the wrong shape: Error naming path, expected and actual shapes', () => {
    const tx = chain(clipByGlobalNorm(1), adamw(0.1));
    const params = makeParams();
    const state = tx.init(params);
    const grads = { layer: { kernel: tf.zeros([3, 2]), bias: tf.zeros([3]) }, scale: tf.scalar(1) };
    const e = failsCleanly(() => tx.update(grads, state, params));
    expect(e.message).toBe(
      'adamw: shape mismatch at layer.kernel: updates.layer.kernel has shape [3, 2], but state.mu.layer.kernel has shape [2, 3]',
    );
  });

  it('an int32 gradient: TypeError naming path and dtype', () => {
    const tx = sgd(0.1, { momentum: 0.9 });
    const params = makeParams();
    const grads = { ...makeGrads(0), scale: tf.scalar(1, 'int32') };
    const state = tx.init(params);
    const e = failsCleanly(() => tx.update(grads, state, params));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('sgd: updates.scale must be a float32 tensor, got int32 of shape []');
  });


  it('a schedule returning NaN fails loudly at the update that stores it, leaving the state usable', () => {
    // The state holds the rate the next update uses, so the update at count 1 evaluates the
    // schedule at count 2 (before computing anything) and refuses its NaN.
    const tx = adam((c) => (c === 2 ? NaN : 0.1));
    const params = makeParams();
    const [, s1] = tx.update(makeGrads(0), tx.init(params), params);
    const grads = makeGrads(1);
    const e = failsCleanly(() => tx.update(grads, s1, params));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe("adam: the 'learningRate' schedule returned NaN at count 2; a finite number is required");
    expect(s1[0].count).toBe(1);
    expect(s1[1]).toEqual({ count: 1, learningRate: 0.1 });
  });

  it('a schedule returning NaN at count 0 fails at init', () => {
    const tx = sgd(() => NaN);
    expect(() => tx.init(makeParams())).toThrow("sgd: the 'learningRate' schedule returned NaN at count 0; a finite number is required");
  });

  it('a learning rate set in the state to NaN or a negative number is refused before anything is computed', () => {
    const tx = adam(0.1);
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    for (const bad of [NaN, -1, Infinity]) {
      const e = failsCleanly(() => tx.update(grads, [state[0], { count: 0, learningRate: bad }], params));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`adam: state[1].learningRate must be a finite number >= 0 (the value the next update uses), got a number (${bad})`);
    }
  });

  it('addDecayedWeights without params', () => {
    const tx = addDecayedWeights(0.1);
    const grads = makeGrads(0);
    const state = tx.init(makeParams());
    const e = failsCleanly(() => tx.update(grads, state));
    expect(e.message).toMatch(/addDecayedWeights: this transformation needs the current parameters/);
  });

  it('a mask that does not fit the params: TreeStructureError naming the path', () => {
    const tx = adamw(0.1, { mask: { layer: { kernel: true }, scale: false } });
    const params = makeParams();
    const grads = makeGrads(0);
    const state = tx.init(params);
    const e = failsCleanly(() => tx.update(grads, state, params));
    expect(e).toBeInstanceOf(TreeStructureError);
    expect(e.message).toBe('adamw: mask and params differ at layer.bias: mask has no such key');
  });

  it('applyUpdates with mismatched shapes', () => {
    const params = { w: tf.zeros([2]) };
    const updates = { w: tf.zeros([3]) };
    const e = failsCleanly(() => applyUpdates(params, updates));
    expect(e.message).toBe('applyUpdates: shape mismatch at w: params.w has shape [2], but updates.w has shape [3]');
  });

  it('a chain given a state that is not its own', () => {
    const tx = chain(clip(1), scaleByLearningRate(0.1));
    const grads = makeGrads(0);
    const e = failsCleanly(() => tx.update(grads, {} as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(`chain: state must be [{}, {count, learningRate}], got an object with keys {}; ${passState('chain')}`);
  });
});

/** The advice that ends every message about a state that is not the transformation's own. */
function passState(owner: string): string {
  return `pass the state that ${owner}'s init or last update returned, as update(updates, state, params)`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('a state that is not the transformation\'s own is a TypeError naming the path, on every path', () => {
  it.each(STATEFUL)('%s: state and params swapped', (paramsOwner, make, owner = paramsOwner) => {
    const tx = make();
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    const e = failsCleanly(() => tx.update(grads, params as never, state as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(
      new RegExp(`^${owner}: state must be [[{].*, got an object with keys \\{layer, scale\\}; ${escape(passState(owner))}$`),
    );
  });

  it.each(STATEFUL)('%s: no state', (paramsOwner, make, owner = paramsOwner) => {
    const tx = make();
    const grads = makeGrads(0);
    const e = failsCleanly(() => tx.update(grads, undefined as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(new RegExp(`^${owner}: state must be [[{].*, got undefined; ${escape(passState(owner))}$`));
  });

  it.each<[string, () => GradientTransformation<any>, () => GradientTransformation<any>, string]>([
    ['an adam state to sgd with momentum', () => sgd(0.1, { momentum: 0.9 }), () => adam(0.1),
      'sgd: state[0] must be {trace}, got an object with keys {count, mu, nu}'],
    ['an adam state to plain sgd', () => sgd(0.1), () => adam(0.1),
      'sgd: state[0] must be {}, got an object with keys {count, mu, nu}'],
    ['a chain state to adam', () => adam(0.1), () => chain(clipByGlobalNorm(1), adam(0.1)),
      'adam: state[0] must be {count, mu, nu}, got an object with keys {}'],
    ['an rmsprop state to adam', () => adam(0.1), () => rmsprop(0.1),
      'adam: state must be [{count, mu, nu}, {count, learningRate}], got an array of length 3'],
    ['an amsgrad state to adam', () => adam(0.1), () => amsgrad(0.1),
      'adam: state[0] must be {count, mu, nu}, got an object with keys {count, mu, nu, nuMax}'],
    ['an rmsprop state to centered rmsprop', () => rmsprop(0.1, { centered: true }), () => rmsprop(0.1),
      'rmsprop: state[0] must be {count, mu, nu}, got an object with keys {count, nu}'],
    ['an rmsprop state to rmsprop with momentum', () => rmsprop(0.1, { momentum: 0.9 }), () => rmsprop(0.1),
      'rmsprop: state[2] must be {trace}, got an object with keys {}'],
    ['an adam state to a fused chain', () => chain(clipByGlobalNorm(1), adamw(0.1)), () => adam(0.1),
      'chain: state[0] must be {}, got an object with keys {count, mu, nu}'],
    ['a bare adam state to a chain around adam', () => chain(clipByGlobalNorm(1), adam(0.1)), () => scaleByAdam(),
      'chain: state must be [{}, [{count, mu, nu}, {count, learningRate}]], got an object with keys {count, mu, nu}'],
    ['an adamw state to lion', () => lion(0.1), () => adamw(0.1),
      'lion: state[0] must be {count, mu}, got an object with keys {count, mu, nu}'],
    ['an sgd state to scaleByAdam', () => scaleByAdam(), () => sgd(0.1, { momentum: 0.9 }),
      'scaleByAdam: state must be {count, mu, nu}, got an array of length 2'],
  ])('%s', (_name, make, makeOther, message) => {
    const tx = make();
    const params = makeParams();
    const foreign = makeOther().init(params);
    const grads = makeGrads(0);
    const owner = message.slice(0, message.indexOf(':'));
    const e = failsCleanly(() => tx.update(grads, foreign as never, params));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(`${message}; ${passState(owner)}`);
  });

  it('a step count that is not a whole number >= 0', () => {
    const tx = adam(0.1);
    const params = makeParams();
    const [s0, s1] = tx.init(params);
    const grads = makeGrads(0);
    for (const [count, shown] of [[-1, 'a number (-1)'], [1.5, 'a number (1.5)'], ['1', 'a string ("1")'], [undefined, 'undefined']]) {
      const e = failsCleanly(() => tx.update(grads, [{ ...s0, count }, s1] as never, params));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toBe(`adam: state[0].count must be a whole number >= 0 (the step count), got ${shown}`);
    }
  });

  it('trainStep given another optimizer\'s state changes and disposes nothing', () => {
    const params = makeParams();
    const foreign = sgd(0.1, { momentum: 0.9 }).init(params);
    const grads = makeGrads(0);
    const e = failsCleanly(() => trainStep(adam(0.1), params, foreign as never, grads));
    expect(e.message).toBe(`adam: state[0] must be {count, mu, nu}, got an object with keys {trace}; ${passState('adam')}`);
    expect(params.layer.kernel.isDisposed || grads.layer.kernel.isDisposed).toBe(false);
  });
});

/** The message for a disposed tensor found at `path`. */
function disposedMessage(owner: string, path: string, shape: string): string {
  return (
    `${owner}: ${path} was disposed (a float32 tensor of shape ${shape}); ` +
    'after a step, free the old trees with disposeReplaced(old, new), which keeps the tensors the new ones share'
  );
}

type Trees = { grads: ReturnType<typeof makeGrads>; state: any; params: ReturnType<typeof makeParams> };

describe('a disposed tensor in the updates, the state or the params is an Error naming its path, on every path', () => {
  it.each<[string, string, () => GradientTransformation<any>, (t: Trees) => tf.Tensor, string, string]>([
    ['adam, a gradient', 'adam', () => adam(0.1), (t) => t.grads.layer.bias, 'updates.layer.bias', '[3]'],
    ['adam, a state moment', 'adam', () => adam(0.1), (t) => t.state[0].mu.layer.kernel, 'state.mu.layer.kernel', '[2, 3]'],
    ['sgd, a gradient', 'sgd', () => sgd(0.1), (t) => t.grads.scale, 'updates.scale', '[]'],
    ['sgd with momentum, the trace', 'sgd', () => sgd(0.1, { momentum: 0.9 }), (t) => t.state[0].trace.layer.kernel, 'state.trace.layer.kernel', '[2, 3]'],
    ['adagrad, the accumulator', 'adagrad', () => adagrad(0.1), (t) => t.state[0].sumOfSquares.layer.bias, 'state.sumOfSquares.layer.bias', '[3]'],
    ['centered rmsprop with momentum, the trace', 'rmsprop', () => rmsprop(0.1, { centered: true, momentum: 0.9 }), (t) => t.state[2].trace.scale, 'state.trace.scale', '[]'],
    ['centered rmsprop, the mean', 'rmsprop', () => rmsprop(0.1, { centered: true }), (t) => t.state[0].mu.scale, 'state.mu.scale', '[]'],
    ['adamw, a parameter', 'adamw', () => adamw(0.1), (t) => t.params.scale, 'params.scale', '[]'],
    ['lion, a parameter', 'lion', () => lion(0.1), (t) => t.params.layer.kernel, 'params.layer.kernel', '[2, 3]'],
    ['lion, the momentum', 'lion', () => lion(0.1), (t) => t.state[0].mu.layer.bias, 'state.mu.layer.bias', '[3]'],
    ['adadelta, a gradient', 'adadelta', () => adadelta(), (t) => t.grads.layer.kernel, 'updates.layer.kernel', '[2, 3]'],
    ['a fused chain, a state moment', 'adamw', () => chain(clipByGlobalNorm(1), adamw(0.1)), (t) => t.state[1][0].nu.layer.kernel, 'state.nu.layer.kernel', '[2, 3]'],
  ])('%s', (_name, owner, make, pick, path, shape) => {
    const tx = make();
    const params = makeParams();
    const trees: Trees = { grads: makeGrads(0), state: tx.init(params), params };
    pick(trees).dispose();
    const e = failsCleanly(() => tx.update(trees.grads, trees.state, trees.params));
    expect(e.constructor).toBe(Error);
    expect(e.message).toBe(disposedMessage(owner, path, shape));
  });

  it('a fused chain, a gradient: the first transformation to read it names itself', () => {
    const tx = chain(clipByGlobalNorm(1), adamw(0.1));
    const params = makeParams();
    const state = tx.init(params);
    const grads = makeGrads(0);
    grads.layer.bias.dispose();
    const e = failsCleanly(() => tx.update(grads, state, params));
    // The composite chain runs clipByGlobalNorm first; the fused kernel is adamw's.
    const owner = kernelPath(tx) === 'composite' ? 'clipByGlobalNorm' : 'adamw';
    expect(e.message).toBe(disposedMessage(owner, 'updates.layer.bias', '[3]'));
  });

  it.each<[string, (t: Trees) => tf.Tensor, string, string]>([
    ['a gradient', (t) => t.grads.layer.kernel, 'updates.layer.kernel', '[2, 3]'],
    ['a state moment', (t) => t.state[0].nu.scale, 'state.nu.scale', '[]'],
    ['a parameter', (t) => t.params.layer.bias, 'params.layer.bias', '[3]'],
  ])('trainStep with %s disposed throws and disposes nothing else', (_name, pick, path, shape) => {
    const tx = adam(0.1);
    const params = makeParams();
    const trees: Trees = { grads: makeGrads(0), state: tx.init(params), params };
    const gone = pick(trees);
    gone.dispose();
    const e = failsCleanly(() => trainStep(tx, trees.params, trees.state, trees.grads));
    expect(e.message).toBe(disposedMessage('adam', path, shape));
    const alive = [...Object.values(trees.params.layer), trees.params.scale, ...Object.values(trees.grads.layer), trees.grads.scale];
    for (const t of alive) if (t !== gone) expect(t.isDisposed).toBe(false);
  });

  it('applyUpdates with a disposed update', () => {
    const params = { w: tf.zeros([2]) };
    const updates = { w: tf.zeros([2]) };
    updates.w.dispose();
    const e = failsCleanly(() => applyUpdates(params, updates));
    expect(e.message).toBe(disposedMessage('applyUpdates', 'updates.w', '[2]'));
  });

  const disposedParamAtInit = (owner: string, make: () => GradientTransformation<any>) => {
    const tx = make();
    const params = makeParams();
    params.layer.kernel.dispose();
    const e = failsCleanly(() => tx.init(params));
    expect(e.message).toBe(disposedMessage(owner, 'params.layer.kernel', '[2, 3]'));
  };
  it.each(STATEFUL)('%s: init with a disposed parameter', disposedParamAtInit);
});
