// What the browser suite runs, as pure functions of a tfjs namespace and the library's namespace:
// the page bundles this module with the built library (dist/index.js) and runs it on each
// backend in Chromium, and backends.test.ts runs the very same functions in Node on the wasm
// backend, so the two sides can be compared number for number. Nothing here imports a runtime
// value: `tf` and `lib` are always passed in.
import type * as TfNamespace from '@tensorflow/tfjs';
import type * as LibNamespace from 'tfjs-optax';
import type { GradientTransformation, Params, TensorTree, Updates } from 'tfjs-optax';

export type Tf = typeof TfNamespace;
export type Lib = typeof LibNamespace;
type AnyTx = GradientTransformation<any>;
type Tensor = TfNamespace.Tensor;

/** How a case feeds `update`'s `extra` argument. */
export type ExtraKind =
  /** `extra.value`: a loss that plateaus (reduceOnPlateau, polyak). */
  | 'loss'
  /** `value`, `grad` and `valueFn` of a quadratic around the params, `grad` = the gradients (lbfgs). */
  | 'lbfgs'
  /** The same with `grad` = minus the incoming updates: a bare line search gets the direction. */
  | 'linesearch';

export interface Case {
  /** Unique; the first word (up to a space or parenthesis) is the export the case exercises. */
  name: string;
  make(lib: Lib): AnyTx;
  extra?: ExtraKind;
  /** A step whose gradients hold a NaN (and an Infinity), for the wrappers that handle them. */
  nonFiniteAt?: number;
}

const rank2 = (lib: Lib) => (p: Params) => lib.treeMap((x: Tensor) => x.rank === 2, p) as never;
const notScalar = (lib: Lib) => (p: Params) => lib.treeMap((x: Tensor) => x.rank !== 0, p) as never;
const bySize = (lib: Lib) => (p: Params) => lib.treeMap((x: Tensor) => (x.rank === 0 ? 'small' : 'big'), p) as never;

/**
 * Every transformation, optimizer and wrapper the library exports (backends.test.ts checks that
 * no export is missing, and so does test/zero-size.test.ts, which runs them in Node too), plus
 * chains with clipping, schedules and masks, and nested wrappers.
 */
export const CASES: Case[] = [
  // Transformations
  { name: 'identity', make: (l) => l.identity() },
  { name: 'scale', make: (l) => l.scale(-2) },
  { name: 'scaleByLearningRate', make: (l) => l.scaleByLearningRate(0.1) },
  { name: 'scaleBySchedule', make: (l) => l.scaleBySchedule((count) => 0.5 / (count + 1)) },
  { name: 'trace', make: (l) => l.trace({ decay: 0.9 }) },
  { name: 'trace nesterov', make: (l) => l.trace({ decay: 0.9, nesterov: true }) },
  { name: 'scaleByAdam', make: (l) => l.scaleByAdam() },
  { name: 'scaleByAdam nesterov epsRoot', make: (l) => l.scaleByAdam({ nesterov: true, epsRoot: 1e-8 }) },
  { name: 'scaleByRms', make: (l) => l.scaleByRms() },
  { name: 'scaleByStddev', make: (l) => l.scaleByStddev() },
  { name: 'scaleByRss', make: (l) => l.scaleByRss() },
  { name: 'scaleByAdamax', make: (l) => l.scaleByAdamax() },
  { name: 'scaleByAmsgrad', make: (l) => l.scaleByAmsgrad() },
  { name: 'scaleByRadam', make: (l) => l.scaleByRadam() },
  { name: 'scaleByAdadelta', make: (l) => l.scaleByAdadelta() },
  { name: 'scaleByLion', make: (l) => l.scaleByLion() },
  { name: 'scaleByBelief', make: (l) => l.scaleByBelief({ nesterov: true }) },
  { name: 'scaleByYogi', make: (l) => l.scaleByYogi({ epsRoot: 1e-8 }) },
  { name: 'scaleBySign', make: (l) => l.scaleBySign() },
  { name: 'addDecayedWeights', make: (l) => l.addDecayedWeights(0.1) },
  { name: 'clip', make: (l) => l.clip(0.75) },
  { name: 'clipByGlobalNorm', make: (l) => l.clipByGlobalNorm(1) },
  { name: 'addNoise', make: (l) => l.addNoise({ eta: 0.1, gamma: 0.55, seed: 3 }) },
  { name: 'centralize', make: (l) => l.centralize() },
  { name: 'zeroNans', make: (l) => l.zeroNans(), nonFiniteAt: 1 },
  { name: 'keepParamsNonnegative', make: (l) => l.chain(l.sgd(0.5), l.keepParamsNonnegative()) },
  { name: 'setToZero', make: (l) => l.setToZero() },
  { name: 'freeze', make: (l) => l.freeze((p: Params) => l.treeMap((x: Tensor) => x.rank === 0, p) as never) },
  { name: 'scaleByTrustRatio', make: (l) => l.scaleByTrustRatio() },
  { name: 'scaleByNovograd', make: (l) => l.scaleByNovograd({ weightDecay: 0.1 }) },
  { name: 'normalizeByUpdateNorm', make: (l) => l.normalizeByUpdateNorm() },
  { name: 'clipByBlockRms', make: (l) => l.clipByBlockRms(0.5) },
  { name: 'adaptiveGradClip', make: (l) => l.adaptiveGradClip(0.1) },
  { name: 'scaleByParamBlockNorm', make: (l) => l.scaleByParamBlockNorm() },
  { name: 'scaleByParamBlockRms', make: (l) => l.scaleByParamBlockRms() },
  { name: 'scaleByAdabound', make: (l) => l.scaleByAdabound(0.01) },
  { name: 'scaleByAsgd', make: (l) => l.scaleByAsgd(0.1, { t0: 0 }) },
  { name: 'scaleByAdopt', make: (l) => l.scaleByAdopt() },
  { name: 'scaleByMadgrad', make: (l) => l.scaleByMadgrad((c: number) => 0.01 / (1 + c)) },
  { name: 'scaleByAcprop', make: (l) => l.scaleByAcprop() },
  { name: 'scaleByCocob', make: (l) => l.scaleByCocob({ alpha: 20 }) },
  { name: 'scaleByDog', make: (l) => l.scaleByDog({ initStep: ['learningRate', 0.01] }) },
  { name: 'scaleByDowg', make: (l) => l.scaleByDowg({ initEstimSqDist: 1e-3 }) },
  { name: 'scaleByGalore', make: (l) => l.scaleByGalore({ rank: 1, updateProjGap: 2 }) },
  { name: 'scaleByAdemamix', make: (l) => l.scaleByAdemamix({ b3: (c: number) => 0.9 + 0.01 * c, alpha: (c: number) => c }) },
  { name: 'scaleByMuon', make: (l) => l.masked(l.scaleByMuon(), rank2(l)) },
  { name: 'scaleByShape', make: (l) => l.masked(l.scaleByShape(), rank2(l)) },
  { name: 'scaleByRprop', make: (l) => l.scaleByRprop(0.1) },
  { name: 'scaleByAdan', make: (l) => l.scaleByAdan() },
  { name: 'scaleByOptimisticGradient', make: (l) => l.scaleByOptimisticGradient() },
  { name: 'scaleByFactoredRms', make: (l) => l.scaleByFactoredRms({ minDimSizeToFactor: 1 }) },
  { name: 'scaleBySm3', make: (l) => l.scaleBySm3({ b2: 0.9 }) },
  { name: 'scaleByPolyak', make: (l) => l.scaleByPolyak({ variant: 'sps+' }), extra: 'loss' },
  { name: 'scaleByLbfgs', make: (l) => l.scaleByLbfgs({ memorySize: 2 }) },
  { name: 'scaleByZoomLinesearch', make: (l) => l.scaleByZoomLinesearch({ maxLinesearchSteps: 10 }), extra: 'linesearch' },
  {
    name: 'scaleByBacktrackingLinesearch',
    make: (l) => l.scaleByBacktrackingLinesearch({ maxBacktrackingSteps: 10, storeGrad: true }),
    extra: 'linesearch',
  },
  { name: 'ema', make: (l) => l.ema({ decay: 0.9 }) },
  { name: 'reduceOnPlateau', make: (l) => l.chain(l.sgd(0.1), l.reduceOnPlateau({ patience: 1 })), extra: 'loss' },
  // Optimizers
  { name: 'sgd', make: (l) => l.sgd(0.1) },
  { name: 'sgd momentum', make: (l) => l.sgd(0.1, { momentum: 0.9 }) },
  { name: 'sgd nesterov', make: (l) => l.sgd(0.1, { momentum: 0.9, nesterov: true }) },
  { name: 'adagrad', make: (l) => l.adagrad(0.1) },
  { name: 'rmsprop', make: (l) => l.rmsprop(0.01) },
  { name: 'rmsprop centered', make: (l) => l.rmsprop(0.01, { centered: true }) },
  { name: 'rmsprop momentum nesterov', make: (l) => l.rmsprop(0.01, { momentum: 0.9, nesterov: true }) },
  { name: 'rmsprop eps outside, bias corrected', make: (l) => l.rmsprop(0.01, { epsInSqrt: false, biasCorrection: true }) },
  { name: 'adam', make: (l) => l.adam(0.01) },
  { name: 'adam epsRoot', make: (l) => l.adam(0.01, { epsRoot: 1e-6, b1: 0.8 }) },
  { name: 'nadam', make: (l) => l.nadam(0.01) },
  { name: 'adamw', make: (l) => l.adamw(0.01, { weightDecay: 0.1 }) },
  { name: 'adamw masked, scheduled', make: (l) =>
    l.adamw(l.exponentialDecay({ initValue: 0.01, transitionSteps: 2, decayRate: 0.5 }), {
      weightDecay: (c: number) => 0.1 / (c + 1),
      mask: notScalar(l),
    }) },
  { name: 'adamax', make: (l) => l.adamax(0.01) },
  { name: 'amsgrad', make: (l) => l.amsgrad(0.01) },
  { name: 'radam', make: (l) => l.radam(0.01) },
  { name: 'adadelta', make: (l) => l.adadelta(1, { weightDecay: 0.1 }) },
  { name: 'lion', make: (l) => l.lion(0.01) },
  { name: 'adabelief', make: (l) => l.adabelief(0.01, { weightDecay: 0.1 }) },
  { name: 'yogi', make: (l) => l.yogi(0.01) },
  { name: 'adamaxw', make: (l) => l.adamaxw(0.01, { weightDecay: 0.1 }) },
  { name: 'nadamw', make: (l) => l.nadamw(0.01, { weightDecay: 0.1 }) },
  { name: 'signSgd', make: (l) => l.signSgd(0.1) },
  { name: 'signum', make: (l) => l.signum(0.1) },
  { name: 'noisySgd', make: (l) => l.noisySgd(0.1, { seed: 5 }) },
  { name: 'lbfgs', make: (l) => l.lbfgs(undefined, { memorySize: 2 }), extra: 'lbfgs' },
  { name: 'lamb', make: (l) => l.lamb(0.01, { weightDecay: 0.1 }) },
  { name: 'lars', make: (l) => l.lars(0.1, { weightDecay: 0.1, nesterov: true }) },
  { name: 'fromage', make: (l) => l.fromage(0.01) },
  { name: 'novograd', make: (l) => l.novograd(0.01) },
  { name: 'adabound', make: (l) => l.adabound(0.01, { weightDecay: 0.1 }) },
  { name: 'asgd', make: (l) => l.asgd(0.1, { weightDecay: 0.1, t0: 1 }) },
  { name: 'adopt', make: (l) => l.adopt(0.01) },
  { name: 'adopt nesterov', make: (l) => l.adopt(0.01, { nesterov: true, useClipping: false }) },
  { name: 'ademamix', make: (l) => l.ademamix(0.01, { weightDecay: 0.1 }) },
  { name: 'muon', make: (l) => l.muon(0.01, { weightDecay: 0.1 }) },
  { name: 'muon adaptive, consistentRms, dion', make: (l) => l.muon(0.01, { adaptive: true, consistentRms: 0.2, nsCoeffs: 'dion' }) },
  { name: 'prodigy', make: (l) => l.prodigy(1, { weightDecay: 0.1 }) },
  { name: 'madgrad', make: (l) => l.madgrad(0.01, { weightDecay: 0.1 }) },
  { name: 'acprop', make: (l) => l.acprop(0.01, { weightDecay: 0.1 }) },
  { name: 'cocob', make: (l) => l.cocob(1, { weightDecay: 0.1 }) },
  { name: 'dog', make: (l) => l.dog(1, { weightDecay: 0.1 }) },
  { name: 'dowg', make: (l) => l.dowg(1) },
  { name: 'dadaptAdamw', make: (l) => l.dadaptAdamw(1, { weightDecay: 0.1 }) },
  // sam, sophia (and its transforms), mechanize: sophia's Hessian estimate and sam's opaque mode read extra.valueFn.
  { name: 'sophia', make: (l) => l.sophia(0.01, { weightDecay: 0.1, updateInterval: 2 }), extra: 'lbfgs' },
  { name: 'scaleBySophia', make: (l) => l.scaleBySophia({ updateInterval: 1, gamma: 1, clipThreshold: null }), extra: 'lbfgs' },
  { name: 'hutchinsonEstimatorDiagHessian', make: (l) => l.hutchinsonEstimatorDiagHessian({ seed: 3 }), extra: 'lbfgs' },
  { name: 'sam', make: (l) => l.sam(l.sgd(0.1), l.chain(l.normalizeByUpdateNorm({ eps: 0 }), l.sgd(0.05))) },
  { name: 'sam opaque', make: (l) => l.sam(l.adam(0.01), l.chain(l.normalizeByUpdateNorm({ eps: 0 }), l.adam(0.05)), { opaqueMode: true, syncPeriod: 3 }), extra: 'lbfgs' },
  { name: 'mechanize', make: (l) => l.mechanize(l.adam(1)) },
  { name: 'momo', make: (l) => l.momo(0.5, { weightDecay: 0.1, adaptLowerBound: true }), extra: 'loss' },
  { name: 'momoAdam', make: (l) => l.momoAdam(0.1, { weightDecay: 0.1 }), extra: 'loss' },
  { name: 'galore', make: (l) => l.galore(0.01, { rank: 2, weightDecay: 0.1, weightDimensionNumbers: (p: Params) => l.treeMap((x: Tensor) => (x.rank >= 2 ? { reductionAxis: -1, outputAxis: x.shape.slice(0, -1).map((_: number, i: number) => i) } : null), p) as never }) },
  // (differentiallyPrivateAggregate and dpsgd take per-example gradients: see OTHER_EXPORTS.)
  { name: 'rprop', make: (l) => l.rprop(0.1) },
  { name: 'adan', make: (l) => l.adan(0.01, { weightDecay: 0.1 }) },
  { name: 'optimisticGradientDescent', make: (l) => l.optimisticGradientDescent(0.1, { alpha: 0.7, beta: 0.1 }) },
  { name: 'optimisticAdam', make: (l) => l.optimisticAdam(0.01) },
  { name: 'sm3', make: (l) => l.sm3(0.1) },
  { name: 'adafactor', make: (l) => l.adafactor(0.1) },
  { name: 'adafactor momentum, weightDecay, factored', make: (l) => l.adafactor(0.1, { momentum: 0.9, weightDecay: 0.01, minDimSizeToFactor: 1 }) },
  { name: 'polyakSgd', make: (l) => l.polyakSgd(1, { scaling: 0.5 }), extra: 'loss' },
  { name: 'scheduleFreeAdamw', make: (l) => l.scheduleFreeAdamw(0.01, { weightDecay: 0.1, warmupSteps: 2 }) },
  { name: 'scheduleFreeSgd', make: (l) => l.scheduleFreeSgd(0.1) },
  // Beyond optax: preconditioned (eigenbases refreshed at steps 2, 4, ...; the Kron factors updated every step)
  { name: 'soap', make: (l) => l.soap(0.01, { precondFrequency: 2, weightDecay: 0.1 }) },
  { name: 'soap precondition1d, normalizeGrads, mergeDims', make: (l) => l.soap(0.01, { precondFrequency: 3, precondition1d: true, normalizeGrads: true, mergeDims: true, maxPrecondDim: 4 }) },
  { name: 'scaleBySoap', make: (l) => l.scaleBySoap({ precondFrequency: 2 }) },
  { name: 'psgdKron', make: (l) => l.psgdKron(0.01, { weightDecay: 0.1, seed: 3 }) },
  { name: 'psgdKron oneDiag, raw gradients, every other step', make: (l) => l.psgdKron(0.01, { memorySaveMode: 'oneDiag', momentumIntoPrecondUpdate: false, preconditionUpdateProbability: 0.5 }) },
  { name: 'scaleByKron', make: (l) => l.scaleByKron({ seed: 1 }) },
  // Wrappers and combinators
  { name: 'chain(clipByGlobalNorm, adamw warmup cosine)', make: (l) =>
    l.chain(l.clipByGlobalNorm(0.5), l.adamw(l.warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.02, warmupSteps: 2, decaySteps: 10 }), { weightDecay: 0.05, mask: rank2(l) })) },
  { name: 'chain(clip, sgd momentum, exponential decay)', make: (l) =>
    l.chain(l.clip(0.3), l.sgd(l.exponentialDecay({ initValue: 0.1, transitionSteps: 1, decayRate: 0.5 }), { momentum: 0.9 })) },
  { name: 'chain(addDecayedWeights, rmsprop, schedules)', make: (l) =>
    l.chain(
      l.addDecayedWeights(1e-3, { mask: rank2(l) }),
      l.rmsprop(l.joinSchedules({ schedules: [l.linearSchedule({ initValue: 0.01, endValue: 0.02, transitionSteps: 2 }), l.cosineOnecycleSchedule({ transitionSteps: 4, peakValue: 0.03 })], boundaries: [2] })),
    ) },
  { name: 'namedChain(clipByGlobalNorm, adamw)', make: (l) => l.namedChain(['clip', l.clipByGlobalNorm(1)], ['opt', l.adamw(0.01)]) },
  { name: 'injectHyperparams(adamw)', make: (l) =>
    l.injectHyperparams(l.adamw)({ learningRate: (c: number) => 0.01 / (c + 1), weightDecay: 0.1, b1: 0.8 }) },
  { name: 'injectHyperparams(chain(clip, sgd))', make: (l) =>
    l.injectHyperparams((h: { maxDelta: number; learningRate: number }) => l.chain(l.clip(h.maxDelta), l.sgd(h.learningRate)))({
      maxDelta: 0.5,
      learningRate: l.sgdrSchedule([{ initValue: 0, peakValue: 0.1, warmupSteps: 1, decaySteps: 2 }, { initValue: 0, peakValue: 0.05, warmupSteps: 1, decaySteps: 2 }]),
    }) },
  { name: 'applyIfFinite(chain(clipByGlobalNorm, adam))', make: (l) => l.applyIfFinite(l.chain(l.clipByGlobalNorm(1), l.adam(0.01)), { maxConsecutiveErrors: 1 }), nonFiniteAt: 1 },
  { name: 'multiSteps(adam)', make: (l) => l.multiSteps(l.adam(0.01), { everyK: 2 }) },
  { name: 'applyEvery', make: (l) => l.chain(l.sgd(0.1), l.applyEvery(2)) },
  { name: 'flatten(adam)', make: (l) => l.flatten(l.adam(0.01)) },
  { name: 'averageParams(adam, ema)', make: (l) => l.averageParams(l.adam(0.01), { kind: 'ema', decay: 0.9 }) },
  { name: 'averageParams(sgd momentum, swa)', make: (l) => l.averageParams(l.sgd(0.1, { momentum: 0.5 }), { kind: 'swa', start: 1 }) },
  { name: 'monitor(globalNorm) chain(clipByGlobalNorm, adamw)', make: (l) =>
    l.chain(l.monitor({ gradNorm: l.globalNorm, bigEma: l.measureWithEma(l.globalNorm, { decay: 0.5 }) }), l.clipByGlobalNorm(1), l.adamw(0.01)) },
  { name: 'snapshot(globalNorm) chain(sgd)', make: (l) => l.chain(l.snapshot('norm', l.globalNorm), l.sgd(0.1)) },
  { name: 'flatten(rmsprop centered)', make: (l) => l.flatten(l.rmsprop(0.01, { centered: true })) },
  { name: 'masked(adam)', make: (l) => l.masked(l.adam(0.01), notScalar(l)) },
  { name: 'partition(adam, sgd)', make: (l) => l.partition({ big: l.adam(0.01), small: l.sgd(0.1) }, bySize(l)) },
  { name: 'multiTransform(lion, sgd momentum)', make: (l) => l.multiTransform({ big: l.lion(0.01), small: l.sgd(0.1, { momentum: 0.5 }) }, bySize(l)) },
  { name: 'lookahead(sgd momentum)', make: (l) => l.lookahead(l.sgd(0.1, { momentum: 0.9 }), { syncPeriod: 2 }) },
  { name: 'scheduleFree(sgd)', make: (l) => l.scheduleFree(l.sgd(0.1), { learningRate: 0.1 }) },
  { name: 'applyIfFinite(multiSteps(namedChain))', make: (l) =>
    l.applyIfFinite(l.multiSteps(l.namedChain(['clip', l.clipByGlobalNorm(0.5)], ['opt', l.adam(0.02)]), { everyK: 2 }), { maxConsecutiveErrors: 2 }), nonFiniteAt: 2 },
  { name: 'partition(lookahead(flatten(adam)), sgd)', make: (l) =>
    l.partition({ big: l.lookahead(l.flatten(l.adam(0.01)), { syncPeriod: 2 }), small: l.sgd(0.05, { momentum: 0.9 }) }, bySize(l)) },
];

/** Steps each case runs for the comparison with Node. */
export const STEPS = 4;

/** The starting parameters: a 3x4 kernel, a bias of 4 and a scalar (fixed values). */
export function initialParams(tf: Tf): { layer: { kernel: Tensor; bias: Tensor }; scale: Tensor } {
  return {
    layer: {
      kernel: tf.tensor2d([0.5, -1, 2, 0.25, -0.75, 1.5, 0.1, -0.2, 0.3, 1, -2, 0.6], [3, 4]),
      bias: tf.tensor1d([0.1, -0.1, 0.2, 0]),
    },
    scale: tf.scalar(1.5),
  };
}

/**
 * The gradients of step `k`, computed in JS (Math.sin is the same V8 code in Node and Chromium)
 * and rounded to float32 when the tensors are made, so every backend starts from the same bits.
 * With `nonFinite`, one kernel entry is NaN and one bias entry +Infinity.
 */
export function gradients(tf: Tf, k: number, nonFinite = false): { layer: { kernel: Tensor; bias: Tensor }; scale: Tensor } {
  const v = Array.from({ length: 17 }, (_, i) => Math.sin(1 + 0.37 * i + 0.7 * k) * (1 + (i % 3)));
  if (nonFinite) {
    v[5] = NaN;
    v[13] = Infinity;
  }
  return { layer: { kernel: tf.tensor2d(v.slice(0, 12), [3, 4]), bias: tf.tensor1d(v.slice(12, 16)) }, scale: tf.scalar(v[16]) };
}

/** The loss handed to the cases that read `extra.value`: it plateaus, then drops. */
const LOSSES = [2, 1.5, 1.5, 1.5, 1, 1, 1, 1];

/**
 * Runs `tx.update` for step `k` with the extra arguments the case needs. For line searches, the
 * loss is the quadratic `f(q) = <g, q - p> + |q - p|^2 / 2` around the current params `p`, whose
 * gradient at `p` is `g` and value 0.
 */
function updateWith(tf: Tf, lib: Lib, c: Case, tx: AnyTx, grads: Updates, state: unknown, params: Params, k: number): [Updates, unknown] {
  if (c.extra === 'loss') return tx.update(grads, state, params, { value: LOSSES[k % LOSSES.length] });
  if (c.extra === undefined) return tx.update(grads, state, params);
  const g = c.extra === 'lbfgs' ? grads : lib.treeMap((x: Tensor) => tf.neg(x), grads);
  const valueFn = (q: Params) =>
    tf.tidy(() => {
      const [qs, gs, ps] = [q, g, params].map((t) => lib.treeLeaves(t));
      const terms = qs.map((qi, i) => {
        const d = tf.sub(qi, ps[i]);
        return tf.add(tf.sum(tf.mul(gs[i], d)), tf.mul(0.5, tf.sum(tf.square(d))));
      });
      return tf.addN(terms) as TfNamespace.Scalar;
    });
  try {
    return tx.update(grads, state, params, { value: 0, grad: g, valueFn });
  } finally {
    if (g !== grads) lib.treeDispose(g);
  }
}

/** One leaf of a tree or state: its path and values, float32 tensors as their bit patterns. */
export interface Leaf {
  path: string;
  /** `f32`: tensor bits (uint32); `i32`, `bool`: tensor values; `num`: a JS number (float64). */
  kind: 'f32' | 'i32' | 'bool' | 'num';
  data: number[];
}

/**
 * Every tensor and number in a tree or state, in a fixed order (arrays by index, objects by
 * sorted key), read asynchronously (webgpu's synchronous read is slow and warns).
 */
export async function leavesOf(tf: Tf, value: unknown, path = ''): Promise<Leaf[]> {
  if (typeof value === 'number') return [{ path: path || '.', kind: 'num', data: [value] }];
  if (typeof value === 'boolean') return [{ path: path || '.', kind: 'num', data: [value ? 1 : 0] }];
  if (value instanceof tf.Tensor) {
    const data = await value.data();
    if (value.dtype === 'float32') return [{ path: path || '.', kind: 'f32', data: Array.from(new Uint32Array(Float32Array.from(data as Float32Array).buffer)) }];
    return [{ path: path || '.', kind: value.dtype === 'bool' ? 'bool' : 'i32', data: Array.from(data as Int32Array) }];
  }
  const out: Leaf[] = [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) out.push(...(await leavesOf(tf, value[i], `${path}[${i}]`)));
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj).sort()) out.push(...(await leavesOf(tf, obj[key], `${path}.${key}`)));
  }
  return out;
}

/** The distinct tensors in a tree or state (arrays and plain objects are walked). */
export function heldTensors(tf: Tf, value: unknown, into = new Set<Tensor>()): Set<Tensor> {
  if (value instanceof tf.Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) heldTensors(tf, v, into);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) heldTensors(tf, v, into);
  return into;
}

export interface CaseResult {
  name: string;
  /** `kernelPath(tx)` on this backend. */
  path: string;
  /** Each step's updates. */
  updates: Leaf[][];
  /** The params after the last step, and the state. */
  params: Leaf[];
  state: Leaf[];
  /**
   * After each step: tensors alive (counted from before the case) minus the distinct tensors
   * the params and state hold; 0 when a step leaves nothing else behind.
   */
  strays: number[];
  /** Tensors alive after disposing everything, minus before the case. */
  leaked: number;
  /** The message, when the case threw. */
  error?: string;
}

/** `STEPS` steps of one case from {@link initialParams}, with `update` and `applyUpdates`. */
export async function runCase(tf: Tf, lib: Lib, c: Case, steps = STEPS): Promise<CaseResult> {
  const start = tf.memory().numTensors;
  const result: CaseResult = { name: c.name, path: '', updates: [], params: [], state: [], strays: [], leaked: 0 };
  let params: Params = initialParams(tf);
  let state: unknown;
  try {
    const tx = c.make(lib);
    result.path = lib.kernelPath(tx);
    state = tx.init(params);
    for (let k = 0; k < steps; k++) {
      const grads = gradients(tf, k, c.nonFiniteAt === k);
      const [u, s] = updateWith(tf, lib, c, tx, grads, state, params, k);
      result.updates.push(await leavesOf(tf, u));
      const next: Params = lib.applyUpdates<Params>(params, u as TensorTree<Params>);
      lib.disposeReplaced([params, state, grads, u], [next, s]);
      params = next;
      state = s;
      result.strays.push(tf.memory().numTensors - start - heldTensors(tf, [params, state]).size);
    }
    result.params = await leavesOf(tf, params);
    result.state = await leavesOf(tf, state);
  } catch (e) {
    result.error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e);
  }
  lib.treeDispose([params, state]);
  result.leaked = tf.memory().numTensors - start;
  return result;
}

/** What {@link trainStepCase} gives: the params and state after the steps. */
export interface TrainStepResult {
  name: string;
  path: string;
  leaves: Leaf[];
  /** Tensors alive after disposing everything, minus before the case. */
  leaked: number;
  error?: string;
}

/**
 * `steps` steps of one case (one without `extra`) with `trainStep`, which runs the fused step in
 * place where a kernel exists; the gradients of step `nonFiniteAt` hold a NaN and an Infinity.
 */
export async function trainStepCase(tf: Tf, lib: Lib, c: Case, steps = STEPS, nonFiniteAt = -1): Promise<TrainStepResult> {
  const start = tf.memory().numTensors;
  const result: TrainStepResult = { name: c.name, path: '', leaves: [], leaked: 0 };
  let params = initialParams(tf);
  let state: unknown;
  try {
    const tx = c.make(lib);
    result.path = lib.kernelPath(tx);
    state = tx.init(params);
    for (let k = 0; k < steps; k++) ({ params, state } = lib.trainStep(tx, params, state, gradients(tf, k, k === nonFiniteAt)));
    result.leaves = await leavesOf(tf, { params, state });
  } catch (e) {
    result.error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e);
  }
  lib.treeDispose([params, state]);
  result.leaked = tf.memory().numTensors - start;
  return result;
}

/** {@link runCase} for every case (or those named), one after the other. */
export async function runCases(tf: Tf, lib: Lib, names?: string[]): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of CASES) if (names === undefined || names.includes(c.name)) out.push(await runCase(tf, lib, c));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training: a regression on fixed features, with valueAndGrad and trainStep. (Not an MLP: on
// SwiftShader's WebGPU, tfjs's matMul with one output column takes tens of milliseconds, which
// would make this the slowest part of the suite; the layers model below has the matMuls.)

export interface TrainingResult {
  optimizer: string;
  path: string;
  /** The loss before step 0, then every 50 steps, and after the last step. */
  losses: number[];
  /** numTensors after the first step and after the last (params and state alive). */
  tensorsAfterFirst: number;
  tensorsAfterLast: number;
  leaked: number;
  msPerStep: number;
}

export const TRAINING: Array<[string, (lib: Lib) => AnyTx]> = [
  ['adam', (l) => l.adam(0.05)],
  ['chain(clipByGlobalNorm, adamw warmup cosine)', (l) =>
    l.chain(l.clipByGlobalNorm(1), l.adamw(l.warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.08, warmupSteps: 20, decaySteps: 300 }), { weightDecay: 1e-4 }))],
];

/**
 * Fits `y = 0.7 sin(pi x) - 0.4 x^2 + 0.2` on 64 points of [-1, 1] with a linear model over 8
 * features (powers of x, sines and cosines), params `{ linear: { w, b } }`, `steps` full-batch
 * steps from zero weights.
 */
export async function train(tf: Tf, lib: Lib, optimizer: string, steps = 300): Promise<TrainingResult> {
  const make = TRAINING.find(([n]) => n === optimizer)?.[1];
  if (!make) throw new Error(`no training optimizer named '${optimizer}'`);
  const start = tf.memory().numTensors;
  const n = 64;
  const xs = Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
  const features = xs.flatMap((x) => [x, x * x, x ** 3, Math.sin(Math.PI * x), Math.cos(Math.PI * x), Math.sin(2 * Math.PI * x), Math.cos(2 * Math.PI * x), x ** 4]);
  const X = tf.tensor2d(features, [n, 8]);
  const y = tf.tensor1d(xs.map((x) => 0.7 * Math.sin(Math.PI * x) - 0.4 * x * x + 0.2));
  let params: { linear: { w: Tensor; b: Tensor } } = { linear: { w: tf.zeros([8]), b: tf.scalar(0) } };
  const loss = (p: typeof params) => tf.mean(tf.square(tf.sub(tf.add(tf.sum(tf.mul(X, p.linear.w), 1), p.linear.b), y))) as TfNamespace.Scalar;
  const lossAndGrad = lib.valueAndGrad(loss);
  const tx = make(lib);
  let state = tx.init(params);
  const losses: number[] = [];
  let tensorsAfterFirst = -1;
  const t0 = performance.now();
  for (let k = 0; k < steps; k++) {
    const { value, grads } = lossAndGrad(params);
    if (k % 50 === 0) losses.push((await value.data())[0]);
    value.dispose();
    ({ params, state } = lib.trainStep(tx, params, state, grads));
    if (k === 0) tensorsAfterFirst = tf.memory().numTensors - start;
  }
  const last = tf.tidy(() => loss(params));
  losses.push((await last.data())[0]);
  const msPerStep = (performance.now() - t0) / steps;
  last.dispose();
  const tensorsAfterLast = tf.memory().numTensors - start;
  lib.treeDispose([params, state, X, y]);
  return { optimizer, path: lib.kernelPath(tx), losses, tensorsAfterFirst, tensorsAfterLast, leaked: tf.memory().numTensors - start, msPerStep };
}

// ---------------------------------------------------------------------------------------------
// A layers model trained by model.fit with toTfOptimizer.

export interface LayersResult {
  /** The loss of each epoch, as fit reports it (float64 numbers from float32 tensors). */
  history: number[];
  weights: Leaf[];
  iterations: number;
  leaked: number;
}

/** Two epochs of `model.fit` (batches of 16, no shuffling) with a clipped, scheduled adamw. */
export async function fitLayers(tf: Tf, lib: Lib): Promise<LayersResult> {
  const start = tf.memory().numTensors;
  const xs = tf.randomNormal([48, 5], 0, 1, 'float32', 21);
  const ys = tf.randomNormal([48, 2], 0, 1, 'float32', 22);
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 6, inputShape: [5], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 23 }) }));
  model.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 24 }) }));
  const schedule = lib.warmupCosineDecaySchedule({ initValue: 0, peakValue: 0.03, warmupSteps: 2, decaySteps: 10 });
  const optimizer = lib.toTfOptimizer(lib.chain(lib.clipByGlobalNorm(1), lib.adamw(schedule, { weightDecay: 0.01 })));
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const fit = await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
  const weights = await leavesOf(tf, model.getWeights());
  const result = { history: fit.history.loss as number[], weights, iterations: optimizer.iterations, leaked: 0 };
  optimizer.dispose();
  model.dispose();
  tf.dispose([xs, ys]);
  result.leaked = tf.memory().numTensors - start;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: save the state (and the params) half way, load them in a fresh page, go on.

/** Steps before the checkpoint, and after it. */
export const CHECKPOINT_STEPS = 3;

/**
 * A transformation whose state is a tree shaped like the params: `loadState` with it restores
 * a params tree saved with `saveState(params, url)`, checked leaf by leaf like any state.
 */
function paramsLike(lib: Lib): GradientTransformation<Params> {
  return { init: (p) => lib.treeZerosLike(p), update: (u, s) => [u, s] };
}

/** Runs steps `from` to `to - 1` of a case, freeing what each step replaces. */
function steps(tf: Tf, lib: Lib, c: Case, tx: AnyTx, params: Params, state: unknown, from: number, to: number): { params: Params; state: unknown } {
  for (let k = from; k < to; k++) {
    const grads = gradients(tf, k, c.nonFiniteAt === k);
    const [u, s] = updateWith(tf, lib, c, tx, grads, state, params, k);
    const next: Params = lib.applyUpdates<Params>(params, u as TensorTree<Params>);
    lib.disposeReplaced([params, state, grads, u], [next, s]);
    params = next;
    state = s;
  }
  return { params, state };
}

/** The IndexedDB URLs of a case's checkpoint (state and params). */
export function checkpointUrls(prefix: string, name: string): { state: string; params: string } {
  const key = `${prefix}-${name.replace(/[^A-Za-z0-9]+/g, '-')}`;
  return { state: `indexeddb://${key}-state`, params: `indexeddb://${key}-params` };
}

export interface CheckpointResult {
  name: string;
  /** Params and state after all `2 * CHECKPOINT_STEPS` steps. */
  leaves: Leaf[];
  error?: string;
}

/**
 * Before the reload: `CHECKPOINT_STEPS` steps, save state and params to IndexedDB, then
 * `CHECKPOINT_STEPS` more steps in the same page: the uninterrupted run.
 */
export async function checkpointSave(tf: Tf, lib: Lib, prefix: string, names?: string[]): Promise<CheckpointResult[]> {
  const out: CheckpointResult[] = [];
  for (const c of CASES) {
    if (names !== undefined && !names.includes(c.name)) continue;
    let run: { params: Params; state: unknown } = { params: null, state: null };
    try {
      const tx = c.make(lib);
      const params0 = initialParams(tf);
      run = steps(tf, lib, c, tx, params0, tx.init(params0), 0, CHECKPOINT_STEPS);
      const urls = checkpointUrls(prefix, c.name);
      await lib.saveState(run.state, urls.state, { params: run.params });
      await lib.saveState(run.params, urls.params);
      run = steps(tf, lib, c, tx, run.params, run.state, CHECKPOINT_STEPS, 2 * CHECKPOINT_STEPS);
      out.push({ name: c.name, leaves: await leavesOf(tf, run) });
    } catch (e) {
      out.push({ name: c.name, leaves: [], error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e) });
    }
    lib.treeDispose(run);
  }
  return out;
}

/** After the reload: load state and params from IndexedDB and run the last `CHECKPOINT_STEPS`. */
export async function checkpointResume(tf: Tf, lib: Lib, prefix: string, names?: string[]): Promise<CheckpointResult[]> {
  const out: CheckpointResult[] = [];
  for (const c of CASES) {
    if (names !== undefined && !names.includes(c.name)) continue;
    let run: { params: Params; state: unknown } = { params: null, state: null };
    try {
      const tx = c.make(lib);
      const urls = checkpointUrls(prefix, c.name);
      const template = initialParams(tf);
      const params = await lib.loadState(paramsLike(lib), template, urls.params);
      lib.treeDispose(template);
      run = { params, state: null };
      run.state = await lib.loadState(tx, params, urls.state);
      run = steps(tf, lib, c, tx, run.params, run.state, CHECKPOINT_STEPS, 2 * CHECKPOINT_STEPS);
      out.push({ name: c.name, leaves: await leavesOf(tf, run) });
    } catch (e) {
      out.push({ name: c.name, leaves: [], error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e) });
    }
    lib.treeDispose(run);
  }
  return out;
}
