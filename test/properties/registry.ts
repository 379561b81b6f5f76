import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import * as api from '../../src/index.js';
import { isOptimizer } from '../../src/internal/aliases.js';
import type { GradientTransformation, Params, ScalarOrSchedule, Schedule } from '../../src/index.js';

// Every exported transformation, optimizer and wrapper, once, with the domain of each of its
// arguments and options: random *valid* values to build it with (chosen where the math stays
// well inside float32, so that two implementations can be compared) and values that must be
// rejected at construction. The list is checked against the package's exports and against the
// option names each factory reports (registry.test.ts), so a new export or option cannot be
// forgotten. The property suites in this folder run over it, and the suites that check every
// optimizer by example (errors, hyperparameters, fused kernels, wrappers) read their list of
// optimizers and their option sets from it (OPTIMIZERS, examplesOf).

export type AnyTx = GradientTransformation<any>;

/** What a step needs besides gradients, state and params (passed as `extra`). */
export type Needs = 'loss' | 'linesearch' | 'lbfgs';

/** What a builder may know of the tree it will see (partition needs a label per leaf). */
export interface Ctx {
  leafCount: number;
}

// ---------------------------------------------------------------------------------------------
// Printing: counterexamples must read as the call that fails.

/** Gives `value` (a function, say) the text fast-check prints for it. */
export function described<T extends object>(value: T, text: string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: () => text, enumerable: false });
  return value;
}

/** A value as it would be written in a call. */
export function show(value: unknown): string {
  if (value !== null && (typeof value === 'object' || typeof value === 'function') && fc.toStringMethod in value) {
    return (value as { [fc.toStringMethod]: () => string })[fc.toStringMethod]();
  }
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'function';
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${show(v)}`).join(', ')} }`;
  }
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Domains

/**
 * An argument's or option's valid values (an arbitrary), values that must throw at construction,
 * and the error each must throw: per the API, a number outside a numeric domain (non-finite
 * included) is a RangeError, a value of the wrong type a TypeError.
 */
export interface Dom {
  valid: fc.Arbitrary<unknown>;
  invalid: readonly unknown[];
  errorOf: (value: unknown) => ErrorClass;
  /**
   * Whether the error message must name the owner and the option (not for transformations and
   * trees given where one is expected, whose errors describe the value instead).
   */
  named: boolean;
  /** Whether it must also name the value (numbers and strings; a function's "got number" will do). */
  namesValue: boolean;
}

/** The class of error a bad value must throw (`Error`: any error will do). */
export type ErrorClass = typeof RangeError | typeof TypeError | typeof Error;

/** Not a number at all, or not a finite one: invalid for every numeric option. */
const NOT_FINITE = [NaN, Infinity, -Infinity, '0.5', true, [0.5], {}];
const NOT_BOOLEAN = [1, 'true', {}];

/** A numeric domain: numbers outside it are RangeErrors, anything else TypeErrors. */
const dom = (valid: fc.Arbitrary<unknown>, invalid: readonly unknown[]): Dom => ({
  valid, invalid, named: true, namesValue: true, errorOf: (v) => (typeof v === 'number' ? RangeError : TypeError),
});
/** A domain that is not numeric (flags, masks, functions, transformations): any bad value is a TypeError. */
const typed = (valid: fc.Arbitrary<unknown>, invalid: readonly unknown[], named = true): Dom => ({
  valid, invalid, named, namesValue: false, errorOf: () => TypeError,
});

/** Six significant digits: values that print short and still cover the range. */
const round6 = (x: number) => Number(x.toPrecision(6));

/**
 * A number on a grid of 1,000 steps over [min, max], shrinking towards `min`. (fc.double would
 * mostly draw denormals and extremes, which are not the realistic hyperparameters meant here.)
 */
const real = (min: number, max: number) => fc.integer({ min: 0, max: 1000 }).map((i) => round6(min + ((max - min) * i) / 1000));

/** Log-uniform over [lo, hi] (eps-like quantities), shrinking towards `lo`. */
const logUniform = (lo: number, hi: number) =>
  fc.integer({ min: 0, max: 1000 }).map((i) => round6(10 ** (Math.log10(lo) + ((Math.log10(hi) - Math.log10(lo)) * i) / 1000)));

/** A decay or momentum rate in [0, 1). */
const RATE = dom(fc.oneof(real(0, 0.99), fc.constantFrom(0.9, 0.99, 0.999)), [...NOT_FINITE, -0.1, 1.5]);
/** A rate in [0, 1]. */
const RATE1 = dom(fc.oneof(real(0, 0.99), fc.constantFrom(0.9, 1)), [...NOT_FINITE, -0.1, 1.5]);
/** eps-like: 0 or small positive. */
const EPS = dom(fc.oneof({ arbitrary: logUniform(1e-10, 1e-2), weight: 5 }, { arbitrary: fc.constant(0), weight: 1 }), [...NOT_FINITE, -1e-8]);
/** eps-like, strictly positive. */
const EPS_POS = dom(logUniform(1e-10, 1e-2), [...NOT_FINITE, -1e-8]);
const nonneg = (max: number) => dom(real(0, max), [...NOT_FINITE, -0.5]);
const positive = (min: number, max: number) => dom(real(min, max), [...NOT_FINITE, 0, -1]);
const finite = (min: number, max: number) => dom(real(min, max), NOT_FINITE);
const int = (min: number, max: number) => dom(fc.integer({ min, max }), [...NOT_FINITE, min - 1, min + 0.5]);
const BOOL = typed(fc.boolean(), NOT_BOOLEAN);
/**
 * One of a few strings: another string is a RangeError; a value of another type, a TypeError or a
 * RangeError (the API's "non-finite number is a RangeError" can be read to cover NaN here).
 */
const oneOf = (...values: string[]): Dom => ({
  valid: fc.constantFrom(...values), invalid: [NaN, true, {}, 'nope'], named: true, namesValue: true, errorOf: (v) => (typeof v === 'string' ? RangeError : Error),
});

/** Exported schedules with values in [lo, hi], each printed as the call that made it. */
function scheduleArb(lo: number, hi: number): fc.Arbitrary<Schedule> {
  const v = real(lo, hi);
  const steps = fc.integer({ min: 1, max: 6 });
  return fc.oneof(
    v.map((value) => described(api.constantSchedule(value), `constantSchedule(${value})`)),
    fc.record({ initValue: v, transitionSteps: steps, decayRate: real(0.1, 1) }).map((o) =>
      described(api.exponentialDecay(o), `exponentialDecay(${show(o)})`)),
    fc.record({ initValue: v, endValue: v, transitionSteps: steps }).map((o) => described(api.linearSchedule(o), `linearSchedule(${show(o)})`)),
    fc.record({ initValue: fc.constant(lo), peakValue: v, warmupSteps: steps, decaySteps: fc.integer({ min: 7, max: 12 }) }).map((o) =>
      described(api.warmupCosineDecaySchedule(o), `warmupCosineDecaySchedule(${show(o)})`)),
  );
}

/** A number or schedule >= 0 (learning rates, weight decay). */
const rateOrSchedule = (hi: number) => dom(fc.oneof({ arbitrary: real(0, hi), weight: 2 }, scheduleArb(0, hi)), [...NOT_FINITE, -0.1]);
const LR = rateOrSchedule(0.3);
const WD = rateOrSchedule(0.1);
/** A learning rate, or null where optax takes None (the learning-rate part left out). */
const LR_OR_NULL: Dom = { ...LR, valid: fc.oneof({ arbitrary: LR.valid, weight: 3 }, { arbitrary: fc.constant(null), weight: 1 }) };
/**
 * lbfgs's: positive rates, or null. A rate of 0 makes zero steps, whose curvature pairs are
 * degenerate (memory weights 1 / <s, y> near 1e39), where a retry after a failed step can differ
 * from a run that never failed (errors-change-nothing; reproduced before null was allowed here).
 */
const LBFGS_RATE: Dom = {
  ...LR,
  valid: fc.oneof({ arbitrary: real(0.01, 0.3), weight: 2 }, { arbitrary: scheduleArb(0.01, 0.3), weight: 1 }, { arbitrary: fc.constant(null), weight: 1 }),
};

/** Masks as functions of the params (a tree of booleans would have to know the tree). */
const maskFns: Array<[string, (p: Params) => Params]> = [
  ['rank >= 2', (p) => api.treeMap((x) => x.rank >= 2, p) as never],
  ['rank != 0', (p) => api.treeMap((x) => x.rank !== 0, p) as never],
  ['none', (p) => api.treeMap(() => false, p) as never],
];
const MASK = typed(fc.constantFrom(...maskFns.map(([text, fn]) => described(fn, `(p) => ${text}`))), [3, 'rank >= 2']);

// ---------------------------------------------------------------------------------------------
// Entries and recipes

export interface Entry {
  /** The export, and a variant label where one export has several entries. */
  name: string;
  variant?: string;
  /** Positional arguments, in order. */
  args: Array<[string, Dom]>;
  /** The options object's domains (absent: the factory takes none). */
  options?: Record<string, Dom>;
  /** Options that must be given. */
  required?: string[];
  /** Cross-option constraints the single domains do not express. */
  accept?: (args: unknown[], options: Record<string, unknown>) => boolean;
  /** Index of the positional learning rate, if any (a faulty schedule goes there). */
  rateArg?: number;
  /** Option that takes the step size as a number or schedule, where it is not positional. */
  rateOption?: string;
  /** Puts a learning rate where neither `rateArg` nor `rateOption` can (injectHyperparams). */
  putRate?: (args: unknown[], rate: ScalarOrSchedule) => unknown[];
  /** Options the factory has that are left out here, with the reason (registry.test.ts reads it). */
  omitted?: Record<string, string>;
  needs?: Needs;
  /**
   * Option sets that build another chain than the defaults (momentum, centering): the suites that
   * check each optimizer by example run it with its defaults and with each of these, by label.
   */
  variants?: Record<string, Record<string, unknown>>;
  /** Built masked to the rank-2 leaves (it takes matrices only), so errors about the tree are `masked`'s. */
  matricesOnly?: boolean;
  /**
   * The learning rate the state keeps (what `getHyperparam(state, 'learningRate')` gives) for the
   * rate `lr`, where it is not `lr` itself.
   */
  keptRate?: (lr: number) => number;
  /** Where `getHyperparam` finds the learning rate, where the name alone is at more than one place. */
  ratePath?: string;
  /**
   * Whether an update reads sums over a leaf or the whole tree (norms, means, matrix products):
   * float32 summation error grows with the number of terms, so comparisons allow for it.
   */
  reduces?: boolean;
  /** A factor on the number of runs of each property, for the slow ones (line searches). */
  runs?: number;
  /** Builds the transformation from the materialised arguments. */
  build: (args: unknown[], options: Record<string, unknown> | undefined, ctx: Ctx) => AnyTx;
}

/**
 * A transformation to build: an entry with generated arguments and options. Inner
 * transformations of a wrapper are recipes too, so a faulty learning rate reaches them.
 */
export class Recipe {
  constructor(
    readonly entry: Entry,
    readonly args: unknown[],
    readonly options: Record<string, unknown> | undefined,
  ) {}

  get label(): string {
    return this.entry.variant ? `${this.entry.name} (${this.entry.variant})` : this.entry.name;
  }

  /** Extra arguments this transformation or any inner one reads. */
  get needs(): Needs | undefined {
    if (this.entry.needs) return this.entry.needs;
    for (const a of [...this.args, ...Object.values(this.options ?? {})]) {
      const inner = a instanceof Recipe ? [a] : Array.isArray(a) ? a.filter((x): x is Recipe => x instanceof Recipe) : [];
      for (const r of inner) if (r.needs) return r.needs;
    }
    return undefined;
  }

  /** Whether this transformation or an inner one sums over leaves (see {@link Entry.reduces}). */
  get reduces(): boolean {
    return !!this.entry.reduces || this.inners().some((r) => r.reduces);
  }

  /** Whether a learning rate can be put into this recipe or an inner one. */
  get takesRate(): boolean {
    const { entry } = this;
    return entry.rateArg !== undefined || entry.rateOption !== undefined || entry.putRate !== undefined || this.inners().some((r) => r.takesRate);
  }

  private inners(): Recipe[] {
    return this.args.flatMap((a) => (a instanceof Recipe ? [a] : Array.isArray(a) ? a.filter((x): x is Recipe => x instanceof Recipe) : []));
  }

  /**
   * The transformation; with `rate`, the learning rate (of this one, or of every inner
   * transformation that has one) replaced by it, or, for a transformation without one, followed
   * by `scaleByLearningRate(rate)` in a chain.
   */
  make(ctx: Ctx, rate?: ScalarOrSchedule): AnyTx {
    const { entry } = this;
    let args = this.args.map((a, i) => (rate !== undefined && i === entry.rateArg ? rate : materialise(a, ctx, rate)));
    if (rate !== undefined && entry.putRate) args = entry.putRate(args, rate);
    let options = this.options && Object.fromEntries(Object.entries(this.options).map(([k, v]) => [k, materialise(v, ctx, rate)]));
    if (rate !== undefined && entry.rateOption) options = { ...options, [entry.rateOption]: rate };
    const tx = entry.build(args, options, ctx);
    return rate !== undefined && !this.takesRate ? api.chain(tx, api.scaleByLearningRate(rate)) : tx;
  }

  [fc.toStringMethod](): string {
    const parts = this.args.map(show);
    if (this.options !== undefined && Object.keys(this.options).length > 0) parts.push(show(this.options));
    return `${this.entry.name}(${parts.join(', ')})`;
  }
}

function materialise(value: unknown, ctx: Ctx, rate?: ScalarOrSchedule): unknown {
  if (value instanceof Recipe) return value.make(ctx, rate);
  if (Array.isArray(value) && value.some((v) => v instanceof Recipe)) return value.map((v) => materialise(v, ctx, rate));
  return value;
}

/** Random valid recipes of an entry: its positional arguments, then any subset of its options. */
export function recipeArb(entry: Entry): fc.Arbitrary<Recipe> {
  const args = fc.tuple(...entry.args.map(([, d]) => d.valid));
  const options = entry.options
    ? fc.record(Object.fromEntries(Object.entries(entry.options).map(([k, d]) => [k, d.valid])), { requiredKeys: (entry.required ?? []) as never[] })
    : fc.constant(undefined);
  return fc
    .tuple(args, options)
    .filter(([a, o]) => {
      const opts = (o ?? {}) as Record<string, unknown>;
      // A mask without a weight decay to mask is refused (an Error, as documented).
      if (opts.mask !== undefined && entry.options?.weightDecay && opts.weightDecay === undefined) return false;
      return !entry.accept || entry.accept(a, opts);
    })
    .map(([a, o]) => new Recipe(entry, a, o as Record<string, unknown> | undefined));
}

/** Entries whose update sums over a leaf or the tree (norms, means, matrix products, the loss model of a line search). */
const REDUCING = new Set([
  'clipByGlobalNorm', 'lamb', 'lars', 'fromage', 'novograd', 'scaleByTrustRatio', 'scaleByNovograd', 'centralize',
  'normalizeByUpdateNorm', 'clipByBlockRms', 'scaleByParamBlockNorm', 'scaleByParamBlockRms', 'adaptiveGradClip',
  'adafactor', 'scaleByFactoredRms', 'muon', 'scaleByMuon', 'prodigy', 'polyakSgd', 'scaleByPolyak', 'lbfgs',
  'scaleByLbfgs', 'scaleByBacktrackingLinesearch', 'scaleByZoomLinesearch', 'dog', 'scaleByDog', 'dowg', 'scaleByDowg', 'dadaptAdamw',
  'momo', 'momoAdam', 'galore', 'scaleByGalore',
]);

const e = (entry: Entry): Entry => (REDUCING.has(entry.name) ? { ...entry, reduces: true } : entry);
const call = (fn: (...args: any[]) => AnyTx) => (args: unknown[], options: Record<string, unknown> | undefined) =>
  options === undefined ? fn(...args) : fn(...args, options);

/** `name(learningRate, options)`: an optimizer alias. */
function alias(name: keyof typeof api, options: Record<string, Dom>, more: Partial<Entry> = {}): Entry {
  return e({ name, args: [['learningRate', LR]], options, rateArg: 0, build: call(api[name] as never), ...more });
}

/** `name(options)`: a direction transform. */
function transform(name: keyof typeof api, options: Record<string, Dom>, more: Partial<Entry> = {}): Entry {
  return e({ name, args: [], options, build: call(api[name] as never), ...more });
}

/** `name()`: a transform without options. */
function bare(name: keyof typeof api, more: Partial<Entry> = {}): Entry {
  return e({ name, args: [], build: () => (api[name] as () => AnyTx)(), ...more });
}

const ADAM = { b1: RATE, b2: RATE, eps: EPS, epsRoot: EPS };
const CLIP_VALUE_FN = typed(fc.constantFrom(described((k: number) => k ** 0.25, '(k) => k ** 0.25'), described(() => 0.5, '() => 0.5')), [3, 'x']);
const DECAY = { weightDecay: WD, mask: MASK };
/** Lion's options: smoothBeta is refused without mode 'smooth' (optax ignores it there). */
const LION = { b1: RATE, b2: RATE, mode: oneOf('hard', 'smooth', 'refined'), smoothBeta: positive(0.1, 5) };
const smoothBetaWithSmooth = (_a: unknown[], o: Record<string, unknown>) => o.smoothBeta === undefined || o.mode === 'smooth';
/** DoG's `initStep`: a tag and a value > 0 (the value's scale depends on the tag). */
const INIT_STEP: Dom = {
  valid: fc.oneof(
    fc.tuple(fc.constant('heuristic'), logUniform(1e-6, 1e-3)),
    fc.tuple(fc.constant('distance'), logUniform(1e-4, 0.1)),
    fc.tuple(fc.constant('learningRate'), logUniform(1e-3, 0.1)),
  ),
  invalid: [['heuristic', 0], ['distance', -1], ['learningRate', NaN], ['learning_rate', 0.1], 'heuristic', [1e-6, 'heuristic']],
  errorOf: (v) => (Array.isArray(v) && typeof v[0] === 'string' ? RangeError : TypeError),
  named: true,
  namesValue: true,
};
/** SOAP's options (small maxPrecondDim values leave some axes unpreconditioned). */
const SOAP = {
  b1: RATE, b2: RATE, shampooBeta: dom(fc.oneof(fc.constant(-1), RATE.valid), [...NOT_FINITE, 1, 1.5]), eps: EPS,
  precondFrequency: int(1, 4), maxPrecondDim: int(1, 6), mergeDims: BOOL, precondition1d: BOOL, normalizeGrads: BOOL, correctBias: BOOL,
};
/** PSGD Kron's options. */
const KRON = {
  b1: RATE, preconditionUpdateProbability: dom(fc.oneof(real(0.05, 1), scheduleArb(0.05, 1)), [...NOT_FINITE, 0, 1.5]),
  maxSizeTriangular: int(0, 8), minNdimTriangular: int(0, 3), memorySaveMode: oneOf('smartOneDiag', 'oneDiag', 'allDiag'),
  momentumIntoPrecondUpdate: BOOL, precondLr: positive(0.01, 1), precondInitScale: positive(0.1, 3), mergeDims: BOOL, seed: int(0, 2 ** 32 - 1),
};
/** Beyond optax: the preconditioned optimizers and their transforms (matrix products and factorisations per leaf). */
const PRECONDITIONED: Entry[] = [
  alias('soap', { ...SOAP, ...DECAY }, { reduces: true }),
  alias('psgdKron', { ...KRON, ...DECAY }, { reduces: true }),
  transform('scaleBySoap', SOAP, { reduces: true }),
  transform('scaleByKron', KRON, { reduces: true }),
];
/** sophia's options (the Hessian estimator is the default one, seeded). */
const SEED = int(0, 2 ** 32 - 1);
const SOPHIA = {
  b1: RATE, b2: RATE, eps: EPS_POS, gamma: nonneg(1), updateInterval: int(1, 3), seed: SEED,
  clipThreshold: { ...positive(0.1, 2), valid: fc.oneof(positive(0.1, 2).valid, fc.constant(null)) },
};
const SOPHIA_OMITTED = { hessianDiagonalFn: 'a transformation: the default Hutchinson estimator (seed) is the one run' };
const isMatrix = described((p: Params) => api.treeMap((x) => x.rank === 2, p) as never, '(p) => rank == 2');
/** GaLore's options: the base optimizer (one that does without params) and how leaves read as matrices. */
const GALORE = {
  rank: int(1, 4), updateProjGap: int(1, 3), scale: finite(-2, 2),
  baseOptimizer: typed(fc.constantFrom(
    described(api.scaleByAdam(), 'scaleByAdam()'), described(api.scaleByLion({ b1: 0.5 }), 'scaleByLion({ b1: 0.5 })'), described(api.scaleByRms(), 'scaleByRms()'),
  ), [3, {}]),
  weightDimensionNumbers: typed(fc.constantFrom(
    described((p: Params) => api.treeMap((x) => (x.rank >= 2 ? { reductionAxis: 0, outputAxis: x.shape.slice(1).map((_, i) => i + 1) } : null), p) as never, '(p) => rows: axis 0, columns: the rest'),
  ), [3, 'x']),
};

// ---------------------------------------------------------------------------------------------
// Leaves: optimizers and transforms

const LEAVES: Entry[] = [
  // Core optimizers
  alias('sgd', { momentum: RATE1, nesterov: BOOL }, {
    accept: (_a, o) => !o.nesterov || o.momentum !== undefined,
    variants: { momentum: { momentum: 0.9 }, nesterov: { momentum: 0.9, nesterov: true } },
  }),
  alias('adagrad', { initialAccumulatorValue: nonneg(1), eps: EPS }),
  alias('rmsprop', { decay: RATE, eps: EPS, initialScale: nonneg(1), epsInSqrt: BOOL, biasCorrection: BOOL, centered: BOOL, momentum: RATE1, nesterov: BOOL }, {
    accept: (_a, o) => !o.nesterov || o.momentum !== undefined,
    variants: {
      centered: { centered: true },
      momentum: { momentum: 0.9 },
      'momentum nesterov': { momentum: 0.9, nesterov: true },
      'centered momentum, bias corrected': { centered: true, momentum: 0.9, biasCorrection: true },
    },
  }),
  alias('adam', { ...ADAM, nesterov: BOOL }),
  alias('adamw', { ...ADAM, nesterov: BOOL, ...DECAY }),
  alias('nadam', ADAM),
  alias('nadamw', { ...ADAM, ...DECAY }),
  alias('adamax', { b1: RATE, b2: RATE, eps: EPS }),
  alias('adamaxw', { b1: RATE, b2: RATE, eps: EPS, ...DECAY }),
  alias('amsgrad', { ...ADAM, biasCorrectionMu: BOOL, biasCorrectionNu: BOOL }),
  alias('radam', { ...ADAM, threshold: dom(real(4, 8), [...NOT_FINITE, 3.9]), nesterov: BOOL }),
  alias('adadelta', { rho: RATE, eps: EPS, ...DECAY }),
  alias('lion', { ...LION, ...DECAY }, { accept: smoothBetaWithSmooth }),
  // The zoo
  alias('adabelief', { ...ADAM, nesterov: BOOL, ...DECAY }),
  alias('yogi', { b1: RATE, b2: RATE, eps: EPS_POS }),
  alias('signSgd', {}),
  alias('signum', { beta: RATE }),
  alias('noisySgd', { eta: nonneg(0.1), gamma: finite(0, 1), seed: int(0, 2 ** 32 - 1) }),
  alias('lbfgs', { memorySize: int(1, 4), scaleInitPrecond: BOOL }, {
    args: [['learningRate', LBFGS_RATE]], needs: 'lbfgs', runs: 0.4, omitted: { linesearch: 'a transformation: the default zoom line search is the one run' },
  }),
  // Keeps the scaled rate lr / sqrt(1 + lr^2) (and the shrink beside it).
  alias('fromage', { minNorm: nonneg(1e-3) }, { keptRate: (lr) => lr / Math.sqrt(1 + lr ** 2) }),
  alias('lamb', { ...ADAM, ...DECAY }),
  alias('lars', { ...DECAY, trustCoefficient: positive(1e-3, 1), eps: nonneg(1e-3), trustRatioMask: MASK, momentum: RATE1, nesterov: BOOL }),
  alias('novograd', { ...ADAM, ...DECAY }),
  alias('adabound', { finalLr: positive(1e-3, 0.5), gamma: positive(1e-4, 0.1), b1: RATE, b2: RATE, eps: EPS, ...DECAY }),
  alias('asgd', { lambd: nonneg(1e-2), alpha: nonneg(1), t0: nonneg(10), ...DECAY }),
  alias('adopt', {
    b1: RATE, b2: RATE, eps: EPS_POS, nesterov: BOOL, useClipping: BOOL,
    clipValueFn: CLIP_VALUE_FN,
  }),
  alias('ademamix', { ...ADAM, b3: dom(fc.oneof(RATE1.valid, scheduleArb(0.5, 0.99)), [...NOT_FINITE, -0.1, 1.5]), alpha: rateOrSchedule(8), ...DECAY }),
  alias('muon', {
    nsCoeffs: oneOf('standard', 'dion'), nsSteps: int(1, 5), beta: RATE, eps: EPS_POS, nesterov: BOOL, adaptive: BOOL, ...DECAY,
    adamB1: RATE, adamB2: RATE, adamEpsRoot: EPS, adamWeightDecay: WD, adamLearningRate: LR, consistentRms: nonneg(1),
  }, {
    accept: (_a, o) => o.nsCoeffs !== 'dion' || (o.nsSteps as number ?? 5) >= 5,
    // Two learning rates: the matrices' (here) and the other leaves' AdamW (1.inner.2.learningRate).
    ratePath: '0.inner.3.learningRate',
  }),
  alias('prodigy', {
    betas: { ...dom(fc.tuple(RATE.valid, RATE.valid), [[0.9], [0.9, 1.5], [NaN, 0.9], 0.9]), errorOf: (v) => (Array.isArray(v) && v.length === 2 ? RangeError : TypeError) }, beta3: RATE1, eps: EPS_POS,
    estimLr0: positive(1e-7, 1e-3), estimLrCoef: positive(0.1, 2), ...DECAY, safeguardWarmup: BOOL,
  }),
  // optax contrib
  alias('madgrad', { momentum: RATE, eps: EPS, ...DECAY }),
  alias('acprop', { b1: RATE, b2: RATE, eps: EPS, epsRoot: EPS, ...DECAY }),
  alias('cocob', { alpha: positive(1, 200), eps: EPS, ...DECAY }),
  alias('dog', { initStep: INIT_STEP, eps: EPS, ...DECAY }),
  alias('dowg', { initEstimSqDist: positive(1e-4, 1), eps: EPS_POS, ...DECAY }),
  alias('dadaptAdamw', {
    betas: { ...dom(fc.tuple(RATE.valid, RATE.valid), [[0.9], [0.9, 1.5], [NaN, 0.9], 0.9]), errorOf: (v) => (Array.isArray(v) && v.length === 2 ? RangeError : TypeError) },
    eps: EPS, estimLr0: positive(1e-7, 1e-3), ...DECAY,
  }),
  // optax contrib: sophia and its transforms. They read extra.valueFn, which the 'lbfgs' extra
  // gives (a quadratic whose Hessian is the identity: every Hutchinson estimate is 1).
  alias('sophia', { ...SOPHIA, ...DECAY }, { needs: 'lbfgs', reduces: true, omitted: SOPHIA_OMITTED }),
  transform('scaleBySophia', SOPHIA, { needs: 'lbfgs', reduces: true, omitted: SOPHIA_OMITTED }),
  transform('hutchinsonEstimatorDiagHessian', { seed: SEED }, { needs: 'lbfgs', reduces: true }),
  alias('momo', { beta: RATE, lowerBound: finite(-1, 1), weightDecay: WD, adaptLowerBound: BOOL }, { needs: 'loss' }),
  // eps > 0: with eps = 0 a zero gradient at the first step is 0 / 0 (as in optax).
  alias('momoAdam', { b1: RATE, b2: RATE, eps: EPS_POS, lowerBound: finite(-1, 1), weightDecay: WD, adaptLowerBound: BOOL }, { needs: 'loss' }),
  alias('galore', { ...GALORE, ...DECAY }),
  e({
    // rprop's rate is a number (a schedule is refused: the step sizes are its own schedule).
    name: 'rprop', args: [['learningRate', positive(1e-3, 0.3)]], rateArg: undefined,
    options: { etaMinus: dom(real(0.1, 0.9), [...NOT_FINITE, 0, 1]), etaPlus: dom(real(1.01, 2), [...NOT_FINITE, 1, 0.5]), minStepSize: positive(1e-6, 1e-3), maxStepSize: positive(1e-3, 50) },
    accept: (_a, o) => (o.maxStepSize as number ?? 50) >= (o.minStepSize as number ?? 1e-6),
    build: call(api.rprop as never),
  }),
  alias('adan', { ...ADAM, b3: RATE, ...DECAY }),
  alias('optimisticGradientDescent', { alpha: nonneg(2), beta: nonneg(2) }),
  alias('optimisticAdam', { alpha: nonneg(2), beta: nonneg(2), ...ADAM, nesterov: BOOL }),
  alias('sm3', { momentum: RATE }),
  e({
    name: 'polyakSgd', args: [['maxLearningRate', nonneg(2)]],
    options: { scaling: LR, fMin: finite(-1, 1), eps: EPS, variant: oneOf('sps', 'sps+') },
    rateOption: 'scaling', needs: 'loss', build: call(api.polyakSgd as never),
  }),
  alias('adafactor', {
    // decayOffset > 0 makes the first decayOffset steps throw (see the report): 0 only.
    minDimSizeToFactor: int(1, 6), decayRate: nonneg(1), decayOffset: int(0, 0), multiplyByParameterScale: BOOL,
    clippingThreshold: positive(0.1, 2), momentum: RATE, ...DECAY, eps: EPS, factored: BOOL,
  }, { args: [['learningRate', LR_OR_NULL]] }),
  alias('scheduleFreeAdamw', { warmupSteps: int(1, 4), b1: dom(real(0.01, 1), [...NOT_FINITE, 0, 1.5]), b2: RATE, eps: EPS_POS, ...DECAY, weightLrPower: nonneg(3) }, { accept: (a, o) => o.warmupSteps === undefined || typeof a[0] === 'number' }),
  alias('scheduleFreeSgd', { warmupSteps: int(1, 4), b1: dom(real(0.01, 1), [...NOT_FINITE, 0, 1.5]), ...DECAY, weightLrPower: nonneg(3) }, { accept: (a, o) => o.warmupSteps === undefined || typeof a[0] === 'number' }),
  ...PRECONDITIONED,

  // Core transforms
  bare('identity'),
  e({ name: 'scale', args: [['factor', finite(-2, 2)]], build: call(api.scale as never) }),
  e({ name: 'scaleByLearningRate', args: [['learningRate', LR]], options: { flipSign: BOOL }, rateArg: 0, build: call(api.scaleByLearningRate as never) }),
  e({ name: 'scaleBySchedule', args: [['schedule', typed(scheduleArb(0, 1), [0.5, 'x', null])]], rateArg: 0, build: call(api.scaleBySchedule as never) }),
  transform('trace', { decay: RATE1, nesterov: BOOL }, { required: ['decay'] }),
  transform('scaleByAdam', { ...ADAM, nesterov: BOOL }),
  transform('scaleByRms', { decay: RATE, eps: EPS, initialScale: nonneg(1), epsInSqrt: BOOL, biasCorrection: BOOL }),
  transform('scaleByStddev', { decay: RATE, eps: EPS, initialScale: nonneg(1), epsInSqrt: BOOL, biasCorrection: BOOL }),
  transform('scaleByRss', { initialAccumulatorValue: nonneg(1), eps: EPS }),
  transform('scaleByAdamax', { b1: RATE, b2: RATE, eps: EPS }),
  transform('scaleByAmsgrad', { ...ADAM, biasCorrectionMu: BOOL, biasCorrectionNu: BOOL }),
  transform('scaleByRadam', { ...ADAM, threshold: dom(real(4, 8), [...NOT_FINITE, 3.9]), nesterov: BOOL }),
  transform('scaleByAdadelta', { rho: RATE, eps: EPS }),
  transform('scaleByLion', LION, { accept: smoothBetaWithSmooth }),
  e({ name: 'addDecayedWeights', args: [['weightDecay', WD]], options: { mask: MASK }, rateArg: 0, build: call(api.addDecayedWeights as never) }),
  e({ name: 'clip', args: [['maxDelta', positive(0.01, 5)]], build: call(api.clip as never) }),
  e({ name: 'clipByGlobalNorm', args: [['maxNorm', positive(0.01, 5)]], build: call(api.clipByGlobalNorm as never) }),
  // The zoo's transforms
  transform('scaleByBelief', { ...ADAM, nesterov: BOOL }),
  transform('scaleByYogi', { ...ADAM, initialAccumulatorValue: nonneg(1) }),
  bare('scaleBySign'),
  transform('addNoise', { eta: nonneg(0.1), gamma: finite(0, 1), seed: int(0, 2 ** 32 - 1) }, { required: ['eta', 'gamma'] }),
  bare('centralize'),
  bare('keepParamsNonnegative'),
  bare('zeroNans'),
  transform('scaleByLbfgs', { memorySize: int(1, 4), scaleInitPrecond: BOOL }),
  transform('scaleByBacktrackingLinesearch', {
    maxBacktrackingSteps: int(0, 8), slopeRtol: dom(real(0, 0.5), [...NOT_FINITE, -0.1, 1]), decreaseFactor: dom(real(0.1, 0.9), [...NOT_FINITE, 0, 1]),
    increaseFactor: dom(real(1, 3), [NaN, -Infinity, '2', 0.5]), maxLearningRate: positive(0.1, 2), atol: nonneg(1e-3), rtol: nonneg(1e-3), storeGrad: BOOL,
  }, { required: ['maxBacktrackingSteps'], needs: 'linesearch' }),
  transform('scaleByZoomLinesearch', {
    maxLinesearchSteps: int(1, 8), maxLearningRate: positive(0.1, 2), tol: nonneg(1e-3), increaseFactor: dom(real(1.1, 3), [...NOT_FINITE, 1]),
    slopeRtol: dom(real(1e-4, 0.3), [...NOT_FINITE, 0, 1]), curvRtol: dom(real(0.4, 0.99), [NaN, -Infinity, '0.9', 1, 1.5]),
    approxDecRtol: nonneg(1e-3), stepsizePrecision: nonneg(1e-3), initialGuessStrategy: oneOf('keep', 'one'),
  }, { required: ['maxLinesearchSteps'], needs: 'linesearch' }),
  transform('scaleByTrustRatio', { minNorm: nonneg(1e-3), trustCoefficient: positive(1e-3, 1), eps: nonneg(1e-3) }),
  transform('scaleByNovograd', { ...ADAM, ...DECAY }),
  e({ name: 'adaptiveGradClip', args: [['clipping', positive(1e-3, 1)]], options: { eps: nonneg(1e-2) }, omitted: { axis: 'depends on each leaf\'s rank' }, build: call(api.adaptiveGradClip as never) }),
  e({ name: 'clipByBlockRms', args: [['threshold', positive(0.01, 2)]], build: call(api.clipByBlockRms as never) }),
  transform('normalizeByUpdateNorm', { scaleFactor: finite(-2, 2), eps: nonneg(1e-3) }),
  transform('scaleByParamBlockNorm', { minScale: nonneg(1e-2) }),
  transform('scaleByParamBlockRms', { minScale: nonneg(1e-2) }),
  e({ name: 'scaleByAdabound', args: [['learningRate', LR]], options: { finalLr: positive(1e-3, 0.5), gamma: positive(1e-4, 0.1), b1: RATE, b2: RATE, eps: EPS }, rateArg: 0, build: call(api.scaleByAdabound as never) }),
  e({ name: 'scaleByAsgd', args: [['learningRate', LR]], options: { lambd: nonneg(1e-2), alpha: nonneg(1), t0: nonneg(10) }, rateArg: 0, build: call(api.scaleByAsgd as never) }),
  transform('scaleByAdopt', { b1: RATE, b2: RATE, eps: EPS_POS, nesterov: BOOL, useClipping: BOOL, clipValueFn: CLIP_VALUE_FN }),
  e({ name: 'scaleByMadgrad', args: [['learningRate', LR]], options: { momentum: RATE, eps: EPS }, rateArg: 0, build: call(api.scaleByMadgrad as never) }),
  transform('scaleByAcprop', { b1: RATE, b2: RATE, eps: EPS, epsRoot: EPS }),
  transform('scaleByCocob', { alpha: positive(1, 200), eps: EPS }),
  transform('scaleByDog', { initStep: INIT_STEP, eps: EPS }, { required: ['initStep'] }),
  transform('scaleByDowg', { initEstimSqDist: positive(1e-4, 1), eps: EPS_POS }),
  transform('scaleByGalore', GALORE),
  transform('scaleByAdemamix', { ...ADAM, b3: dom(fc.oneof(RATE1.valid, scheduleArb(0.5, 0.99)), [...NOT_FINITE, -0.1, 1.5]), alpha: rateOrSchedule(8) }),
  // Matrices only: masked to the rank-2 leaves, as a user would (muon does the same).
  e({
    name: 'scaleByMuon', args: [], options: { nsCoeffs: oneOf('standard', 'dion'), nsSteps: int(1, 5), beta: RATE, eps: EPS_POS, nesterov: BOOL, adaptive: BOOL },
    accept: (_a, o) => o.nsCoeffs !== 'dion' || (o.nsSteps as number ?? 5) >= 5,
    matricesOnly: true,
    build: (_a, o) => api.masked(api.scaleByMuon(o as never), isMatrix),
  }),
  e({ name: 'scaleByShape', args: [], options: { consistentRms: nonneg(1) }, matricesOnly: true, build: (_a, o) => api.masked(api.scaleByShape(o as never), isMatrix) }),
  e({
    name: 'scaleByRprop', args: [['learningRate', positive(1e-3, 0.3)]],
    options: { etaMinus: dom(real(0.1, 0.9), [...NOT_FINITE, 0, 1]), etaPlus: dom(real(1.01, 2), [...NOT_FINITE, 1]), minStepSize: positive(1e-6, 1e-3), maxStepSize: positive(1e-3, 50) },
    accept: (_a, o) => (o.maxStepSize as number ?? 50) >= (o.minStepSize as number ?? 1e-6),
    build: call(api.scaleByRprop as never),
  }),
  transform('scaleByAdan', { ...ADAM, b3: RATE }),
  transform('scaleByOptimisticGradient', { alpha: nonneg(2), beta: nonneg(2) }),
  transform('scaleBySm3', { b1: RATE, b2: RATE1, eps: EPS }),
  transform('scaleByPolyak', { fMin: finite(-1, 1), maxLearningRate: nonneg(2), eps: EPS, variant: oneOf('sps', 'sps+') }, { needs: 'loss' }),
  transform('scaleByFactoredRms', { factored: BOOL, decayRate: nonneg(1), stepOffset: int(0, 0), minDimSizeToFactor: int(1, 6), epsilon: EPS }, {
    omitted: { decayRateFn: 'a function of (step, decayRate); decayRate and stepOffset vary the default one' },
  }),
  transform('ema', { decay: RATE, debias: BOOL }, { required: ['decay'] }),
  transform('reduceOnPlateau', {
    factor: dom(real(0.1, 0.9), [...NOT_FINITE, 0, 1]), patience: int(1, 3), rtol: dom(real(0, 0.1), [...NOT_FINITE, -0.1, 1]), atol: nonneg(0.1),
    cooldown: int(0, 2), accumulationSize: int(1, 2), minScale: dom(real(0, 0.5), [...NOT_FINITE, -0.1, 1.5]),
  }, { needs: 'loss' }),
  bare('setToZero'),
];

// Low-memory state (stateDtype) on the optimizers and transforms that keep moments.
const STATE_DTYPE: Dom = { ...oneOf('float32', 'bfloat16', 'int8'), invalid: ['float16', 'int4', 8, null, true] };
for (const entry of LEAVES) {
  const takes = ['sgd', 'adam', 'adamw', 'nadam', 'nadamw', 'amsgrad', 'lion', 'adabelief', 'lamb', 'ademamix', 'trace', 'scaleByAdam', 'scaleByAmsgrad', 'scaleByLion', 'scaleByBelief', 'scaleByAdemamix'];
  if (!takes.includes(entry.name)) continue;
  entry.options = { ...entry.options, stateDtype: STATE_DTYPE };
  // sgd keeps a state only with momentum.
  if (entry.name === 'sgd') entry.accept = (_a, o) => (!o.nesterov && o.stateDtype === undefined) || o.momentum !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Wrappers: their inner transformations are drawn from a few optimizers that have fused
// kernels (so the wrappers' fused paths run) and one that has none.

const byName = (name: string) => LEAVES.find((x) => x.name === name)!;
/** What the wrappers are given, here and in the wrapper tests (wrappedExamples). */
const INNER_NAMES = ['sgd', 'adam', 'adamw', 'lion', 'rmsprop', 'adagrad', 'lamb', 'scaleByAdam'];
const INNER = typed(fc.oneof(...INNER_NAMES.map((n) => recipeArb(byName(n)))), [null, 3, {}, { init: () => ({}) }], false);
/** Measures of the updates: the global norm (which a fused chain takes from its sum of squares), and a tf op. */
const MEASURE = typed(
  fc.constantFrom(api.globalNorm, described((u: Params) => api.treeL2Norm(u, { squared: true }), '(u) => treeL2Norm(u, { squared: true })')),
  [3, 'norm'],
  false,
);
const INNERS = typed(fc.array(INNER.valid, { minLength: 1, maxLength: 3 }), [[3], [null], [{}]], false);

/** Optimizers `injectHyperparams` is given, with the numeric options it may inject. */
const INJECTABLE: Array<[string, Record<string, Dom>]> = [
  ['adam', { b1: RATE, b2: RATE, eps: EPS }],
  ['adamw', { b1: RATE, weightDecay: WD }],
  ['sgd', { momentum: RATE1 }],
  ['lion', { b1: RATE, b2: RATE, weightDecay: WD }],
  ['rmsprop', { decay: RATE, eps: EPS }],
];

/** Labels for partition: leaves alternate between two transformations (one when there is one leaf). */
function alternating(ctx: Ctx): [string[], (p: Params) => Params] {
  const names = ctx.leafCount >= 2 ? ['a', 'b'] : ['a'];
  const fn = (p: Params) => {
    let i = 0;
    return api.treeMap(() => names[i++ % names.length], p) as never;
  };
  return [names, described(fn, '(p) => alternating a, b')];
}

const WRAPPERS: Entry[] = [
  e({ name: 'chain', args: [['transforms', INNERS]], build: (a) => api.chain(...(a[0] as AnyTx[])) }),
  e({
    name: 'namedChain', args: [['transforms', INNERS]],
    build: (a) => api.namedChain(...(a[0] as AnyTx[]).map((t, i): [string, AnyTx] => [`t${i}`, t])),
  }),
  e({
    // injectHyperparams(factory)(hyperparams): the factory and its hyperparameters drawn together,
    // as [factory name, learningRate, other hyperparameters].
    name: 'injectHyperparams',
    args: [['hyperparams', {
      valid: fc.oneof(...INJECTABLE.map(([name, doms]) =>
        fc.tuple(fc.constant(name), LR.valid, fc.record(Object.fromEntries(Object.entries(doms).map(([k, d]) => [k, d.valid])), { requiredKeys: [] })))),
      invalid: [['adam', NaN, {}], ['adam', -0.1, {}], ['adam', 0.1, { b1: 1.5 }], ['adam', 0.1, { b1: NaN }], ['adam', 0.1, { b1: '0.9' }], ['adam', 0.1, { notAnOption: 1 }], ['sgd', undefined, {}]],
      // A bad number is a RangeError; a string, an unknown name or a missing learning rate a TypeError.
      errorOf: (v) => {
        const [, lr, rest] = v as [string, unknown, Record<string, unknown>];
        return typeof lr === 'number' && Object.values(rest).every((x) => typeof x === 'number') && !('notAnOption' in rest) ? RangeError : TypeError;
      },
      named: false,
      namesValue: false,
    }]],
    options: { static: typed(fc.constant([]), [3, [3], ['notAHyperparam']]) },
    putRate: (a, rate) => [[(a[0] as unknown[])[0], rate, (a[0] as unknown[])[2]]],
    build: (a, o) => {
      const [name, lr, rest] = a[0] as [string, ScalarOrSchedule, Record<string, unknown>];
      return api.injectHyperparams(api[name as 'adam'], o as never)({ ...rest, learningRate: lr } as never);
    },
  }),
  e({ name: 'masked', args: [['inner', INNER], ['mask', MASK]], build: call(api.masked as never) }),
  e({ name: 'freeze', args: [['mask', MASK]], build: call(api.freeze as never) }),
  ...(['partition', 'multiTransform'] as const).map((name) =>
    e({
      name, args: [['a', INNER], ['b', INNER]],
      build: (a, _o, ctx) => {
        const [names, labels] = alternating(ctx);
        const transforms: Record<string, AnyTx> = { a: a[0] as AnyTx };
        if (names.includes('b')) transforms.b = a[1] as AnyTx;
        return api[name](transforms, labels as never);
      },
    })),
  e({
    name: 'multiSteps', args: [['inner', INNER]],
    options: { everyK: dom(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(described((c: number) => 1 + (c % 2), '(c) => 1 + (c % 2)'))), [NaN, Infinity, -Infinity, '2', true, {}, 0, 1.5]), useGradMean: BOOL },
    required: ['everyK'], build: call(api.multiSteps as never),
  }),
  e({ name: 'applyEvery', args: [['inner', INNER], ['k', int(1, 3)]], build: (a) => api.chain(a[0] as AnyTx, api.applyEvery(a[1] as number)) }),
  e({ name: 'applyIfFinite', args: [['inner', INNER]], options: { maxConsecutiveErrors: int(0, 3) }, required: ['maxConsecutiveErrors'], build: call(api.applyIfFinite as never) }),
  e({ name: 'lookahead', args: [['fast', INNER]], options: { syncPeriod: int(1, 3), slowStepSize: dom(real(0, 1), [...NOT_FINITE, -0.1, 1.5]), resetState: BOOL }, build: call(api.lookahead as never) }),
  e({ name: 'flatten', args: [['inner', INNER]], build: call(api.flatten as never) }),
  // Telemetry at the head of a chain, where it observes the gradients (and the chain stays fused).
  e({
    name: 'monitor', args: [['inner', INNER], ['measure', MEASURE]],
    build: (a) => api.chain(api.monitor({ m: a[1] as api.Measure, ema: api.measureWithEma(a[1] as api.Measure, { decay: 0.9 }) }), a[0] as AnyTx),
  }),
  e({ name: 'snapshot', args: [['inner', INNER], ['measure', MEASURE]], build: (a) => api.chain(api.snapshot('m', a[1] as api.Measure), a[0] as AnyTx) }),
  e({
    name: 'averageParams', args: [['inner', INNER]],
    options: { kind: oneOf('ema', 'swa'), decay: RATE, start: int(0, 3), every: int(1, 3), debias: BOOL },
    required: ['kind'],
    // decay and debias are refused with kind 'swa'.
    accept: (_a, o) => o.kind === 'ema' || (o.decay === undefined && o.debias === undefined),
    build: call(api.averageParams as never),
  }),
  e({
    name: 'scheduleFree', args: [['baseOptimizer', INNER]],
    options: { learningRate: LR, b1: dom(real(0.01, 1), [...NOT_FINITE, 0, 1.5]), weightLrPower: nonneg(3) },
    required: ['learningRate'], rateOption: 'learningRate', build: call(api.scheduleFree as never),
  }),
  // optax contrib wrappers: sam (opaque mode reads extra.valueFn, which the 'lbfgs' extra gives) and mechanize.
  e({
    name: 'sam', args: [['optimizer', INNER], ['advOptimizer', INNER]], options: { syncPeriod: int(1, 3), resetState: BOOL, opaqueMode: BOOL },
    needs: 'lbfgs', build: call(api.sam as never),
  }),
  e({
    name: 'mechanize', args: [['baseOptimizer', INNER]], options: { weightDecay: nonneg(0.1), eps: EPS, sInit: positive(1e-7, 1e-2), numBetas: int(1, 6) },
    reduces: true, build: call(api.mechanize as never),
  }),
];


/** Every exported transformation, optimizer and wrapper. */
export const REGISTRY: readonly Entry[] = [...LEAVES, ...WRAPPERS];

/** The exports that are not a transformation, optimizer or wrapper. */
export const OTHER_EXPORTS = new Set([
  'VERSION', 'TreeStructureError', 'applyUpdates', 'assignUpdates', 'isVariable', 'trainStep',
  'disposeReplaced', 'treeDispose', 'valueAndGrad', 'OptaxOptimizer', 'LoadedOptaxOptimizer',
  'resumeTfOptimizer', 'toTfOptimizer', 'modelParams', 'loadState', 'saveState', 'stateFromArtifacts',
  'stateToArtifacts', 'StateFormatError', 'STATE_FORMAT', 'STATE_FORMAT_VERSION', 'fileHandler',
  'getKernelMode', 'kernelPath', 'setKernelMode', 'constantSchedule', 'linearSchedule',
  'polynomialSchedule', 'exponentialDecay', 'warmupExponentialDecaySchedule',
  'piecewiseConstantSchedule', 'cosineDecaySchedule', 'warmupCosineDecaySchedule', 'joinSchedules',
  'TreeDef', 'treeFlatten', 'treeLeaves', 'treeMap', 'treeMapWithPath', 'treePaths',
  'treeStructureEqual', 'treeUnflatten', 'treeAdd', 'treeFullLike', 'treeL2Norm', 'treeScale',
  'treeSize', 'treeSub', 'treeZerosLike', 'formatPath', 'isTensor',
  'piecewiseInterpolateSchedule', 'warmupConstantSchedule', 'sgdrSchedule', 'cosineOnecycleSchedule',
  'linearOnecycleSchedule', 'getHyperparam', 'setHyperparam', 'treeGet', 'treeSet', 'hasUpdated',
  'scheduleFreeEvalParams', 'valueAndGradFromState', 'minimizeLbfgs', 'asgdAverage',
  'NS_COEFFICIENT_PRESETS', 'orthogonalizeViaNewtonSchulz', 'treeKeep',
  'averagedParams', 'withAveragedWeights', 'paramInfo', 'decayMask', 'layerwiseDecay', 'muonLabels',
  // Telemetry: readers and measures (measureWithEma's output is a measurement, not updates; the
  // monitor entry above runs it).
  'getMeasurement', 'globalNorm', 'measureWithEma', 'fitCallback',
  // Per-example gradients (every leaf [batch, ...param shape]), where every property here feeds
  // gradients of the params' shapes and trainStep refuses others: test/transforms/privacy.test.ts
  // and test/optimizers/privacy.test.ts check options, leaks and failed steps by hand.
  'differentiallyPrivateAggregate', 'dpsgd',
  // Low-memory state: the bytes a state holds.
  'stateBytes',
]);

/** A recipe by hand, for regression examples: `recipeOf('flatten', [recipeOf('lamb', [0.1])])`. */
export function recipeOf(name: string, args: unknown[] = [], options?: Record<string, unknown>): Recipe {
  const entry = REGISTRY.find((x) => x.name === name);
  if (!entry) throw new Error(`no registry entry ${name}`);
  return new Recipe(entry, args, options);
}

/** An entry's label in test names. */
export const labelOf = (entry: Entry): string => (entry.variant ? `${entry.name} (${entry.variant})` : entry.name);

// ---------------------------------------------------------------------------------------------
// By example: the optimizers and fixed option sets, for the suites that are not properties.

/** A factory as the exports give it: positional arguments, then an options object. */
export type Factory = (...args: any[]) => AnyTx;

/** The exported optimizers (`name(learningRate, options)`, as `isOptimizer` tells them), in registry order. */
export const OPTIMIZERS: readonly Entry[] = REGISTRY.filter((entry) => isOptimizer(api[entry.name as keyof typeof api]));

/** The exported transformations that are neither an optimizer nor a wrapper, in registry order. */
export const TRANSFORMS: readonly Entry[] = LEAVES.filter((entry) => !OPTIMIZERS.includes(entry));

/**
 * A fixed, valid configuration of an entry, for the suites that check every transformation by
 * example: its positional arguments and required options, drawn once from their domains (seeded).
 */
export function exampleOf(entry: Entry): Recipe {
  const drawn = fc.sample(recipeArb(entry), { numRuns: 1, seed: 1 })[0];
  const options = entry.required && drawn.options ? Object.fromEntries(entry.required.map((k) => [k, drawn.options![k]])) : undefined;
  return new Recipe(entry, drawn.args, options);
}

/** The factory of an entry, as exported. */
export const factoryOf = (entry: Entry): Factory => api[entry.name as keyof typeof api] as unknown as Factory;

/** An entry's option sets by label: its defaults (`{}`, labelled with its name) and each of its variants. */
export function examplesOf(entry: Entry): Array<[label: string, options: Record<string, unknown>]> {
  return [[entry.name, {}], ...Object.entries(entry.variants ?? {}).map(([label, o]): [string, Record<string, unknown>] => [`${entry.name} ${label}`, o])];
}

/**
 * The transformations the wrapper tests wrap (those the wrappers are drawn with above), each with
 * each option set, made with learning rate `lr` where they take one; with their entries.
 */
export function wrappedExamples(lr: number): Array<[label: string, make: () => AnyTx, entry: Entry]> {
  return INNER_NAMES.map(byName).flatMap((entry) =>
    examplesOf(entry).map(([label, options]): [string, () => AnyTx, Entry] => [
      label,
      () => (entry.rateArg === 0 ? factoryOf(entry)(lr, options) : factoryOf(entry)(options)),
      entry,
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Extra arguments

/**
 * The extra arguments a step of `needs` reads, for gradients `grads` at params `params`: a loss
 * for polyak and reduceOnPlateau, and for the line searches the loss
 * `f(q) = <g, q - p> + |q - p|^2 / 2` around `p`, whose gradient at `p` is `g` (the gradients
 * for lbfgs, which makes its own direction; minus the incoming direction for a bare line search).
 * `dispose` frees what it made.
 */
export function extraFor(needs: Needs | undefined, grads: Params, params: Params, step: number): { extra?: api.ExtraArgs; dispose: () => void } {
  if (needs === undefined) return { dispose: () => {} };
  if (needs === 'loss') return { extra: { value: 1 + 0.5 * Math.sin(step) }, dispose: () => {} };
  const g = needs === 'lbfgs' ? grads : (api.treeMap((x) => tf.neg(x), grads) as Params);
  const valueFn = (q: Params) =>
    tf.tidy(() => {
      const [qs, gs, ps] = [q, g, params].map((t) => api.treeLeaves(t));
      const terms = qs.map((x, i) => {
        const d = tf.sub(x, ps[i]);
        return tf.add(tf.sum(tf.mul(gs[i], d)), tf.mul(0.5, tf.sum(tf.square(d))));
      });
      return (terms.length ? tf.addN(terms) : tf.scalar(0)) as tf.Scalar;
    });
  return {
    extra: { value: 0, grad: g, valueFn },
    dispose: () => {
      if (g !== grads) api.treeDispose(g);
    },
  };
}
