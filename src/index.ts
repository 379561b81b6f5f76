/**
 * tfjs-optax: composable, optax-style gradient transformations for TensorFlow.js.
 *
 * The reference lists every export by group, alphabetically (members of an interface keep
 * their source order).
 *
 * @packageDocumentation
 * @sortStrategy alphabetical-ignoring-documents
 */

export { VERSION } from './version.js';

// Types and errors
export type {
  EmptyState,
  ExtraArgs,
  GradientTransformation,
  Params,
  PyTree,
  ScalarOrSchedule,
  Schedule,
  StateOf,
  TensorTree,
  Updates,
} from './types.js';
export { TreeStructureError } from './types.js';

// Optimizers
export { sgd, type SgdOptions, type SgdState } from './optimizers/sgd.js';
export { adagrad, type AdagradOptions, type AdagradState } from './optimizers/adagrad.js';
export { rmsprop, type RmspropOptions, type RmspropState } from './optimizers/rmsprop.js';
export {
  adam,
  adamw,
  nadam,
  type AdamOptions,
  type AdamState,
  type AdamwOptions,
  type AdamwState,
} from './optimizers/adam.js';
export { adamax, type AdamaxOptions, type AdamaxState } from './optimizers/adamax.js';
export { amsgrad, type AmsgradOptions, type AmsgradState } from './optimizers/amsgrad.js';
export { radam, type RadamOptions, type RadamState } from './optimizers/radam.js';
export { adadelta, type AdadeltaOptions, type AdadeltaState } from './optimizers/adadelta.js';
export { lion, type LionOptions, type LionState } from './optimizers/lion.js';

// Optimizer zoo: adabelief, yogi, adamaxw, nadamw, signSgd, signum, noisySgd and their transforms
export { adabelief, type AdabeliefOptions, type AdabeliefState } from './optimizers/adabelief.js';
export { scaleByBelief, type ScaleByBeliefOptions, type ScaleByBeliefState } from './transforms/adabelief.js';
export { yogi, type YogiOptions, type YogiState } from './optimizers/yogi.js';
export { scaleByYogi, type ScaleByYogiOptions, type ScaleByYogiState } from './transforms/yogi.js';
export { adamaxw, type AdamaxwOptions, type AdamaxwState } from './optimizers/adamax.js';
export { nadamw } from './optimizers/adam.js';
export { signSgd, signum, type SignSgdState, type SignumOptions, type SignumState } from './optimizers/sign.js';
export { scaleBySign } from './transforms/sign.js';
export { noisySgd, type NoisySgdOptions, type NoisySgdState } from './optimizers/noisy-sgd.js';
export { addNoise, type AddNoiseOptions, type AddNoiseState } from './transforms/noise.js';
export { centralize } from './transforms/centralize.js';
export { keepParamsNonnegative, zeroNans, type ZeroNansState } from './transforms/constraining.js';

// Optimizer zoo: L-BFGS and line searches
export {
  lbfgs,
  minimizeLbfgs,
  type LbfgsOptions,
  type LbfgsState,
  type MinimizeLbfgsOptions,
  type MinimizeLbfgsResult,
} from './optimizers/lbfgs.js';
export { scaleByLbfgs, type ScaleByLbfgsOptions, type ScaleByLbfgsState } from './transforms/lbfgs.js';
export {
  scaleByBacktrackingLinesearch,
  type ScaleByBacktrackingLinesearchOptions,
  type ScaleByBacktrackingLinesearchState,
} from './transforms/backtracking-linesearch.js';
export {
  scaleByZoomLinesearch,
  type ScaleByZoomLinesearchOptions,
  type ScaleByZoomLinesearchState,
} from './transforms/zoom-linesearch.js';
export { valueAndGradFromState, type ValueAndGrad } from './transforms/value-and-grad-from-state.js';

// Optimizer zoo: trust ratio (lamb, lars, fromage), NovoGrad, block norms
export {
  fromage,
  lamb,
  lars,
  type FromageOptions,
  type FromageState,
  type LambOptions,
  type LambState,
  type LarsOptions,
  type LarsState,
} from './optimizers/trust-ratio.js';
export { novograd, type NovogradOptions, type NovogradState } from './optimizers/novograd.js';
export { scaleByTrustRatio, type ScaleByTrustRatioOptions } from './transforms/trust-ratio.js';
export { scaleByNovograd, type ScaleByNovogradOptions, type ScaleByNovogradState } from './transforms/novograd.js';
export {
  adaptiveGradClip,
  clipByBlockRms,
  normalizeByUpdateNorm,
  scaleByParamBlockNorm,
  scaleByParamBlockRms,
  type AdaptiveGradClipOptions,
  type NormalizeByUpdateNormOptions,
  type ScaleByParamBlockOptions,
} from './transforms/block-norms.js';

// Optimizer zoo: adabound, asgd, adopt, ademamix, muon, prodigy
export { adabound, type AdaboundOptions, type AdaboundState } from './optimizers/adabound.js';
export { scaleByAdabound, type ScaleByAdaboundOptions, type ScaleByAdaboundState } from './transforms/adabound.js';
export { asgd, type AsgdOptions, type AsgdState } from './optimizers/asgd.js';
export { asgdAverage, scaleByAsgd, type ScaleByAsgdOptions, type ScaleByAsgdState } from './transforms/asgd.js';
export { adopt, type AdoptOptions, type AdoptState } from './optimizers/adopt.js';
export { scaleByAdopt, type ScaleByAdoptOptions, type ScaleByAdoptState } from './transforms/adopt.js';
export { ademamix, type AdemamixOptions, type AdemamixState } from './optimizers/ademamix.js';
export { scaleByAdemamix, type ScaleByAdemamixOptions, type ScaleByAdemamixState } from './transforms/ademamix.js';
export { muon, type MuonOptions, type MuonState } from './optimizers/muon.js';
export {
  NS_COEFFICIENT_PRESETS,
  orthogonalizeViaNewtonSchulz,
  scaleByMuon,
  scaleByShape,
  type NsCoefficients,
  type ScaleByMuonOptions,
  type ScaleByMuonState,
  type ScaleByShapeOptions,
} from './transforms/muon.js';
export { prodigy, type ProdigyOptions, type ProdigyState } from './optimizers/prodigy.js';

// Beyond optax: preconditioned optimizers (SOAP, PSGD Kron) and their transforms
export { soap, type SoapOptions, type SoapState } from './optimizers/soap.js';
export { scaleBySoap, type ScaleBySoapOptions, type ScaleBySoapState } from './transforms/soap.js';
export { psgdKron, type PsgdKronOptions, type PsgdKronState } from './optimizers/psgd-kron.js';
export { scaleByKron, type ScaleByKronOptions, type ScaleByKronState } from './transforms/psgd-kron.js';

// Optax contrib: madgrad, acprop, cocob, dog, dowg, dadaptAdamw and their transforms
export { madgrad, type MadgradOptions, type MadgradState } from './optimizers/madgrad.js';
export { scaleByMadgrad, type ScaleByMadgradOptions, type ScaleByMadgradState } from './transforms/madgrad.js';
export { acprop, type AcpropOptions, type AcpropState } from './optimizers/acprop.js';
export { scaleByAcprop, type ScaleByAcpropOptions, type ScaleByAcpropState } from './transforms/acprop.js';
export { cocob, type CocobOptions, type CocobState } from './optimizers/cocob.js';
export { scaleByCocob, type ScaleByCocobOptions, type ScaleByCocobState } from './transforms/cocob.js';
export { dog, dowg, type DogOptions, type DogState, type DowgOptions, type DowgState } from './optimizers/dog.js';
export {
  scaleByDog,
  scaleByDowg,
  type ScaleByDogOptions,
  type ScaleByDogState,
  type ScaleByDowgOptions,
  type ScaleByDowgState,
} from './transforms/dog.js';
export { dadaptAdamw, type DadaptAdamwOptions, type DadaptAdamwState } from './optimizers/dadapt-adamw.js';
// Optax contrib: sam, sophia, mechanize and their transforms
export { sam, type SamOptions, type SamState } from './combine/sam.js';
export { sophia, type SophiaOptions, type SophiaState } from './optimizers/sophia.js';
export {
  hutchinsonEstimatorDiagHessian,
  scaleBySophia,
  type HutchinsonOptions,
  type HutchinsonState,
  type ScaleBySophiaOptions,
  type ScaleBySophiaState,
} from './transforms/sophia.js';
export { mechanize, type MechanizeOptions, type MechanizeState } from './combine/mechanize.js';

// Optax contrib: momo, momoAdam, galore, differentiallyPrivateAggregate and dpsgd
export { momo, momoAdam, type MomoAdamOptions, type MomoAdamState, type MomoOptions, type MomoState } from './optimizers/momo.js';
export { galore, type GaloreOptions, type GaloreState } from './optimizers/galore.js';
export {
  scaleByGalore,
  type GaloreDimensionNumbers,
  type GaloreDimensionTree,
  type ScaleByGaloreOptions,
  type ScaleByGaloreState,
} from './transforms/galore.js';
export { dpsgd, type DpsgdOptions, type DpsgdState } from './optimizers/privacy.js';
export {
  differentiallyPrivateAggregate,
  type DifferentiallyPrivateAggregateOptions,
  type DifferentiallyPrivateAggregateState,
} from './transforms/privacy.js';

// Optimizer zoo: rprop, adan, optimistic gradient, adafactor, sm3, polyak (transforms and optimizers)
export { rprop, type RpropOptions, type RpropState } from './optimizers/rprop.js';
export { scaleByRprop, type ScaleByRpropOptions, type ScaleByRpropState } from './transforms/rprop.js';
export { adan, type AdanOptions, type AdanState } from './optimizers/adan.js';
export { scaleByAdan, type ScaleByAdanOptions, type ScaleByAdanState } from './transforms/adan.js';
export {
  optimisticAdam,
  optimisticGradientDescent,
  type OptimisticAdamOptions,
  type OptimisticAdamState,
  type OptimisticGradientDescentOptions,
  type OptimisticGradientDescentState,
} from './optimizers/optimistic.js';
export {
  scaleByOptimisticGradient,
  type ScaleByOptimisticGradientOptions,
  type ScaleByOptimisticGradientState,
} from './transforms/optimistic.js';
export { sm3, type Sm3Options, type Sm3State } from './optimizers/sm3.js';
export { scaleBySm3, type ScaleBySm3Options, type ScaleBySm3State } from './transforms/sm3.js';
export { polyakSgd, type PolyakSgdOptions, type PolyakSgdState } from './optimizers/polyak.js';
export { scaleByPolyak, type ScaleByPolyakOptions } from './transforms/polyak.js';
export { adafactor, type AdafactorOptions } from './optimizers/adafactor.js';
export { scaleByFactoredRms, type ScaleByFactoredRmsOptions, type ScaleByFactoredRmsState } from './transforms/factored.js';

// Transformations
export {
  identity,
  scale,
  scaleByLearningRate,
  scaleBySchedule,
  type ScaleByLearningRateOptions,
  type ScaleByLearningRateState,
  type ScaleByScheduleState,
} from './transforms/scale.js';
export { trace, type TraceOptions, type TraceState } from './transforms/momentum.js';
export {
  scaleByAdam,
  scaleByRms,
  scaleByRss,
  scaleByStddev,
  type ScaleByAdamOptions,
  type ScaleByAdamState,
  type ScaleByRmsOptions,
  type ScaleByRmsState,
  type ScaleByRssOptions,
  type ScaleByRssState,
  type ScaleByStddevState,
} from './transforms/adaptive.js';
export { scaleByAdamax, type ScaleByAdamaxOptions, type ScaleByAdamaxState } from './transforms/adamax.js';
export { scaleByAmsgrad, type ScaleByAmsgradOptions, type ScaleByAmsgradState } from './transforms/amsgrad.js';
export { scaleByRadam, type ScaleByRadamOptions, type ScaleByRadamState } from './transforms/radam.js';
export { scaleByAdadelta, type ScaleByAdadeltaOptions, type ScaleByAdadeltaState } from './transforms/adadelta.js';
export { scaleByLion, type LionMode, type ScaleByLionOptions, type ScaleByLionState } from './transforms/lion.js';
export {
  addDecayedWeights,
  type AddDecayedWeightsOptions,
  type AddDecayedWeightsState,
  type Mask,
} from './transforms/decay.js';
export { clip, clipByGlobalNorm } from './transforms/clipping.js';
export { chain, namedChain, type ChainState, type NamedChainState } from './combine/chain.js';

// Reading and setting hyperparameters
export {
  getHyperparam,
  injectHyperparams,
  setHyperparam,
  type InjectHyperparamsOptions,
  type InjectHyperparamsState,
} from './combine/hyperparams.js';
export { treeGet, treeSet } from './tree/lookup.js';

// Wrappers and combinators (chain and namedChain are with the transformations above,
// injectHyperparams with the hyperparameters)
export { freeze, masked, type MaskedState } from './combine/masked.js';
export { multiTransform, partition, type Labels, type PartitionState, type PartitionStates } from './combine/partition.js';
export { setToZero } from './transforms/zero.js';
export { hasUpdated, multiSteps, type MultiStepsOptions, type MultiStepsState } from './combine/multi-steps.js';
export { applyEvery, type ApplyEveryState } from './combine/apply-every.js';
export { applyIfFinite, type ApplyIfFiniteOptions, type ApplyIfFiniteState } from './combine/apply-if-finite.js';
export { lookahead, type LookaheadOptions, type LookaheadState } from './combine/lookahead.js';
export { flatten } from './combine/flatten.js';
export {
  averageParams,
  averagedParams,
  type AverageParamsOptions,
  type AverageParamsState,
} from './combine/average-params.js';
export { ema, type EmaOptions, type EmaState } from './transforms/ema.js';
export {
  scheduleFree,
  scheduleFreeEvalParams,
  type ScheduleFreeOptions,
  type ScheduleFreeState,
} from './combine/schedule-free.js';
export {
  scheduleFreeAdamw,
  scheduleFreeSgd,
  type ScheduleFreeAdamwOptions,
  type ScheduleFreeAdamwState,
  type ScheduleFreeSgdOptions,
  type ScheduleFreeSgdState,
} from './optimizers/schedule-free.js';
export {
  reduceOnPlateau,
  type ReduceOnPlateauOptions,
  type ReduceOnPlateauState,
} from './transforms/reduce-on-plateau.js';

// Applying updates and managing memory
export { applyUpdates } from './combine/apply-updates.js';
export {
  assignUpdates,
  isVariable,
  trainStep,
  type TrainStepOptions,
  type TrainStepResult,
} from './interop/variables.js';
export { disposeReplaced, treeDispose, treeKeep } from './tree/memory.js';
export { valueAndGrad } from './tree/grad.js';

// tfjs interop: tf.Optimizer adapter, layers models, checkpoints
export { OptaxOptimizer, type NamedTensor, type StepFunction } from './interop/optimizer-class.js';
export { LoadedOptaxOptimizer, type SavedWeight } from './interop/loaded-optimizer.js';
export {
  resumeTfOptimizer,
  toTfOptimizer,
  type ModelWithOptimizer,
  type TfOptimizerOptions,
} from './interop/tf-optimizer.js';
export { modelParams, type LayersModelLike, type LayerWeightLike } from './interop/layers.js';
export { fitCallback, type FitCallbackArgs, type FitCallbackOptions } from './interop/fit-callback.js';
export { withAveragedWeights } from './interop/averaged-weights.js';
export { paramInfo, type ParamInfo, type WeightLabels } from './interop/param-info.js';
export {
  decayMask,
  layerwiseDecay,
  muonLabels,
  type DecayExclusion,
  type DecayMaskOptions,
  type LayerwiseDecayGroups,
  type LayerwiseDecayOptions,
} from './interop/param-groups.js';
export {
  loadState,
  saveState,
  stateFromArtifacts,
  stateToArtifacts,
  type SaveStateOptions,
} from './interop/checkpoint.js';
export { StateFormatError, STATE_FORMAT, STATE_FORMAT_VERSION, type StateManifest } from './interop/state-manifest.js';
export { fileHandler } from './interop/file-handler.js';

// Telemetry
export {
  getMeasurement,
  globalNorm,
  measureWithEma,
  monitor,
  snapshot,
  type Measure,
  type MeasureWithEmaOptions,
  type MonitorState,
  type SnapshotState,
} from './combine/telemetry.js';

// Low-memory optimizer state
export type { StateDtype } from './internal/state-dtype.js';
export { stateBytes } from './interop/state-bytes.js';

// Fused kernels
export { kernelPath } from './kernels/fused.js';
export { getKernelMode, setKernelMode, type KernelMode } from './kernels/mode.js';
export type { KernelPath } from './kernels/backend.js';

// Schedules
export {
  constantSchedule,
  linearSchedule,
  polynomialSchedule,
  type LinearScheduleOptions,
  type PolynomialScheduleOptions,
} from './schedules/polynomial.js';
export {
  exponentialDecay,
  warmupExponentialDecaySchedule,
  type ExponentialDecayOptions,
  type WarmupExponentialDecayOptions,
} from './schedules/exponential.js';
export {
  piecewiseConstantSchedule,
  piecewiseInterpolateSchedule,
  type PiecewiseConstantOptions,
  type PiecewiseInterpolateOptions,
} from './schedules/piecewise.js';
export { warmupConstantSchedule, type WarmupConstantOptions } from './schedules/warmup.js';
export {
  cosineDecaySchedule,
  sgdrSchedule,
  warmupCosineDecaySchedule,
  type CosineDecayOptions,
  type WarmupCosineDecayOptions,
} from './schedules/cosine.js';
export {
  cosineOnecycleSchedule,
  linearOnecycleSchedule,
  type CosineOnecycleOptions,
  type LinearOnecycleOptions,
} from './schedules/onecycle.js';
export { joinSchedules, type JoinSchedulesOptions } from './schedules/join.js';

// Trees
export {
  TreeDef,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeMapWithPath,
  treePaths,
  treeStructureEqual,
  treeUnflatten,
} from './tree/structure.js';
export { treeAdd, treeFullLike, treeL2Norm, treeScale, treeSize, treeSub, treeZerosLike } from './tree/math.js';
export { formatPath, isTensor, type TreePath } from './tree/walk.js';
