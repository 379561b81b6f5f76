// tfjs-optax: composable, optax-style gradient transformations for TensorFlow.js.

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
export {
  adadelta,
  adamax,
  amsgrad,
  lion,
  radam,
  type AdadeltaOptions,
  type AdadeltaState,
  type AdamaxOptions,
  type AdamaxState,
  type AmsgradOptions,
  type AmsgradState,
  type LionOptions,
  type LionState,
  type RadamOptions,
  type RadamState,
} from './optimizers/variants.js';

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
export {
  scaleByAdadelta,
  scaleByAdamax,
  scaleByAmsgrad,
  scaleByLion,
  scaleByRadam,
  type ScaleByAdadeltaOptions,
  type ScaleByAdadeltaState,
  type ScaleByAdamaxOptions,
  type ScaleByAdamaxState,
  type ScaleByAmsgradOptions,
  type ScaleByAmsgradState,
  type ScaleByLionOptions,
  type ScaleByLionState,
  type ScaleByRadamOptions,
  type ScaleByRadamState,
} from './transforms/variants.js';
export {
  addDecayedWeights,
  type AddDecayedWeightsOptions,
  type AddDecayedWeightsState,
  type Mask,
} from './transforms/decay.js';
export { clip, clipByGlobalNorm } from './transforms/clipping.js';
export { chain, type ChainState } from './combine/chain.js';

// Reading and setting hyperparameters
export {
  getHyperparam,
  injectHyperparams,
  setHyperparam,
  type InjectHyperparamsOptions,
  type InjectHyperparamsState,
} from './combine/hyperparams.js';

// Wrappers and combinators
export { freeze, masked, type MaskedState } from './combine/masked.js';
export { multiTransform, partition, type Labels, type PartitionState, type PartitionStates } from './combine/partition.js';
export { setToZero } from './transforms/zero.js';

// Applying updates and managing memory
export { applyUpdates } from './update.js';
export {
  assignUpdates,
  isVariable,
  trainStep,
  type TrainStepOptions,
  type TrainStepResult,
} from './interop/variables.js';
export { disposeReplaced, treeDispose } from './tree/memory.js';
export { valueAndGrad } from './interop/grad.js';

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
export {
  loadState,
  saveState,
  stateFromArtifacts,
  stateToArtifacts,
  StateFormatError,
  STATE_FORMAT,
  STATE_FORMAT_VERSION,
  type SaveStateOptions,
  type StateManifest,
} from './interop/checkpoint.js';
export { fileHandler } from './interop/file-handler.js';

// Fused kernels
export { getKernelMode, kernelPath, setKernelMode, type KernelMode, type KernelPath } from './kernels/fused.js';

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
export { piecewiseConstantSchedule, type PiecewiseConstantOptions } from './schedules/piecewise.js';
export {
  cosineDecaySchedule,
  warmupCosineDecaySchedule,
  type CosineDecayOptions,
  type WarmupCosineDecayOptions,
} from './schedules/cosine.js';
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
export { treeGet, treeSet } from './tree/lookup.js';
