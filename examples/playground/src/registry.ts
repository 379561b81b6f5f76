// Every optimizer tfjs-optax exports, described for the playground: its hyperparameters with
// the library's defaults, and how its learning rate behaves. Pure data (no tensors, no DOM):
// test/playground-registry.test.ts checks it against src/index.ts, and checks that passing
// these defaults explicitly changes nothing.
import type { LearningRateHint } from './functions.js';

/** The name an optimizer is exported under. */
export type OptimizerName =
  | 'sgd'
  | 'adagrad'
  | 'rmsprop'
  | 'adam'
  | 'adamw'
  | 'nadam'
  | 'nadamw'
  | 'adamax'
  | 'adamaxw'
  | 'amsgrad'
  | 'radam'
  | 'adadelta'
  | 'lion'
  | 'adabelief'
  | 'yogi'
  | 'signSgd'
  | 'signum'
  | 'noisySgd'
  | 'lbfgs'
  | 'fromage'
  | 'lamb'
  | 'lars'
  | 'novograd'
  | 'adabound'
  | 'asgd'
  | 'adopt'
  | 'ademamix'
  | 'muon'
  | 'soap'
  | 'psgdKron'
  | 'prodigy'
  | 'madgrad'
  | 'acprop'
  | 'cocob'
  | 'dog'
  | 'dowg'
  | 'dadaptAdamw'
  | 'sophia'
  | 'momo'
  | 'momoAdam'
  | 'galore'
  | 'rprop'
  | 'adan'
  | 'optimisticAdam'
  | 'optimisticGradientDescent'
  | 'sm3'
  | 'polyakSgd'
  | 'adafactor'
  | 'scheduleFreeAdamw'
  | 'scheduleFreeSgd';

interface HyperparameterBase {
  /** The option's name in the library. */
  name: string;
  help: string;
}

/**
 * An option the form can set. An `optional` option is off when its value is `null`: it is then
 * left out of the options, or passed as `null` where the library reads `null` as "off"
 * (`offIsNull`, e.g. adafactor's `clippingThreshold`, which is on by default).
 */
export type Hyperparameter =
  | (HyperparameterBase & { kind: 'number'; default: number; integer?: boolean })
  | (HyperparameterBase & { kind: 'boolean'; default: boolean })
  | (HyperparameterBase & { kind: 'choice'; default: string; choices: readonly string[] })
  | (HyperparameterBase & { kind: 'optional'; default: number | null; whenOn: number; offIsNull?: boolean });

export type HyperValue = number | boolean | string | null;
export type HyperValues = Record<string, HyperValue>;

/**
 * How the learning rate sets the step: `gradient`, a step proportional to the gradient;
 * `step`, a step of about the learning rate; `fixed`, a rate that is a multiplier around 1
 * (the library's default learning rate).
 */
export type LearningRateKind = 'gradient' | 'step' | 'fixed';

export interface OptimizerEntry {
  name: OptimizerName;
  family: string;
  /** One line on the method. */
  about: string;
  /**
   * `null`: the optimizer takes no learning rate here (L-BFGS's line search sets the step).
   * `schedulable: false`: the library takes a number only, so no schedule can drive it.
   */
  learningRate: { kind: LearningRateKind; factor: number; schedulable: boolean } | null;
  hyperparameters: Hyperparameter[];
  /** The point is handed over as a 1×2 matrix: Muon orthogonalises matrices only. */
  matrix?: boolean;
  /** Builds the options object from the form's values, where it is not one option per field. */
  toOptions?: (values: HyperValues) => Record<string, unknown>;
}

const num = (name: string, value: number, help: string, integer = false): Hyperparameter => ({
  kind: 'number',
  name,
  default: value,
  help,
  ...(integer ? { integer } : {}),
});
const bool = (name: string, value: boolean, help: string): Hyperparameter => ({ kind: 'boolean', name, default: value, help });
const optional = (name: string, value: number | null, whenOn: number, help: string, offIsNull = false): Hyperparameter => ({
  kind: 'optional',
  name,
  default: value,
  whenOn,
  help,
  ...(offIsNull ? { offIsNull } : {}),
});
const choice = (name: string, value: string, choices: readonly string[], help: string): Hyperparameter => ({
  kind: 'choice',
  name,
  default: value,
  choices,
  help,
});

const b1 = (value = 0.9) => num('b1', value, 'decay of the first moment');
const b2 = (value = 0.999) => num('b2', value, 'decay of the second moment');
const eps = (value: number, where = 'added to the denominator') => num('eps', value, where);
const epsRoot = (value = 0) => num('epsRoot', value, 'added inside the square root');
const nesterov = (value = false) => bool('nesterov', value, 'Nesterov form of the momentum');
const weightDecay = (value: number) => num('weightDecay', value, 'weight decay of the optimizer itself');

const gradientRate = (factor = 1, schedulable = true) => ({ kind: 'gradient' as const, factor, schedulable });
const stepRate = (factor = 1, schedulable = true) => ({ kind: 'step' as const, factor, schedulable });
const fixedRate = (factor = 1, schedulable = true) => ({ kind: 'fixed' as const, factor, schedulable });

const SGD = 'SGD and momentum';
const ADAM = 'Adam family';
const ADAPTIVE = 'Other adaptive';
const SIGN = 'Sign-based';
const LAYERWISE = 'Layer-wise and trust ratio';
const SELF_TUNING = 'Self-tuning step size';
const QUASI_NEWTON = 'Line search';

export const OPTIMIZERS: readonly OptimizerEntry[] = [
  {
    name: 'sgd',
    family: SGD,
    about: 'Gradient descent, with optional (Nesterov) momentum.',
    learningRate: gradientRate(),
    hyperparameters: [optional('momentum', null, 0.9, 'momentum decay (off: plain SGD)'), nesterov()],
  },
  {
    name: 'noisySgd',
    family: SGD,
    about: 'SGD plus Gaussian noise whose variance decays as eta / (1 + t)^gamma (Neelakantan et al. 2015).',
    learningRate: gradientRate(),
    hyperparameters: [num('eta', 0.01, 'variance of the noise at the first step'), num('gamma', 0.55, 'decay exponent of the variance'), num('seed', 0, 'seed of the noise', true)],
  },
  {
    name: 'asgd',
    family: SGD,
    about: "Averaged SGD (PyTorch's ASGD): a decaying step size and a running average of the iterates.",
    learningRate: gradientRate(),
    hyperparameters: [num('lambd', 1e-4, 'decay term'), num('alpha', 0.75, 'power of the step-size decay'), num('t0', 1e6, 'step from which averaging starts'), num('weightDecay', 0, 'L2 weight decay added to the gradient')],
  },
  {
    name: 'optimisticGradientDescent',
    family: SGD,
    about: 'Optimistic gradient descent: the gradient plus a negative momentum (Daskalakis et al. 2018).',
    // 2 g_t - g_{t-1} is stable on a quadratic of curvature c only for lr c < 2/3 (plain SGD: < 2).
    learningRate: gradientRate(0.3),
    hyperparameters: [num('alpha', 1, 'weight of the current gradient'), num('beta', 1, 'weight of the change since the last gradient')],
  },
  {
    name: 'scheduleFreeSgd',
    family: SGD,
    about: 'Schedule-free SGD (Defazio et al. 2024): interpolates between an average and the SGD iterate.',
    learningRate: gradientRate(),
    hyperparameters: [optional('warmupSteps', null, 10, 'linear warmup steps (off: none)'), num('b1', 0.9, 'interpolation between the average and the iterate'), num('weightLrPower', 2, 'exponent of the averaging weights')],
  },
  {
    name: 'adagrad',
    family: ADAPTIVE,
    about: 'AdaGrad (Duchi et al. 2011): divides by the root of the summed squared gradients.',
    learningRate: stepRate(4),
    hyperparameters: [num('initialAccumulatorValue', 0.1, 'starting value of the accumulators'), eps(1e-7, 'added inside the square root')],
  },
  {
    name: 'rmsprop',
    family: ADAPTIVE,
    about: 'RMSprop (Hinton 2012): divides by a moving root mean square of the gradients.',
    learningRate: stepRate(0.2),
    hyperparameters: [
      num('decay', 0.9, 'decay of the moving averages'),
      eps(1e-8),
      num('initialScale', 0, 'initial value of the second moment'),
      bool('epsInSqrt', true, 'add eps inside the square root'),
      bool('centered', false, 'divide by the centered second moment'),
      optional('momentum', null, 0.9, 'momentum (off: none)'),
      nesterov(),
      bool('biasCorrection', false, 'debias the averages as Adam does'),
    ],
  },
  {
    name: 'adam',
    family: ADAM,
    about: 'Adam (Kingma & Ba 2015): momentum over a moving root mean square, both debiased.',
    learningRate: stepRate(),
    hyperparameters: [b1(), b2(), eps(1e-8), epsRoot(), nesterov()],
  },
  {
    name: 'adamw',
    family: ADAM,
    about: 'AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.',
    learningRate: stepRate(),
    hyperparameters: [b1(), b2(), eps(1e-8), epsRoot(), weightDecay(1e-4), nesterov()],
  },
  {
    name: 'nadam',
    family: ADAM,
    about: "NAdam (Dozat 2016): Adam with Nesterov's look-ahead first moment.",
    learningRate: stepRate(),
    hyperparameters: [b1(), b2(), eps(1e-8), epsRoot()],
  },
  {
    name: 'nadamw',
    family: ADAM,
    about: 'NAdamW: NAdam with decoupled weight decay.',
    learningRate: stepRate(),
    hyperparameters: [b1(), b2(), eps(1e-8), epsRoot(), weightDecay(1e-4)],
  },
  {
    name: 'adamax',
    family: ADAM,
    about: 'AdaMax (Kingma & Ba 2015): Adam with an infinity norm in place of the second moment.',
    learningRate: stepRate(),
    hyperparameters: [b1(), num('b2', 0.999, 'decay of the infinity norm'), eps(1e-8)],
  },
  {
    name: 'adamaxw',
    family: ADAM,
    about: 'AdaMax with decoupled weight decay.',
    learningRate: stepRate(),
    hyperparameters: [b1(), num('b2', 0.999, 'decay of the infinity norm'), eps(1e-8), weightDecay(1e-4)],
  },
  {
    name: 'amsgrad',
    family: ADAM,
    about: 'AMSGrad (Reddi et al. 2018): Adam dividing by the largest second moment so far.',
    learningRate: stepRate(),
    hyperparameters: [b1(), b2(), eps(1e-8), epsRoot(), bool('biasCorrectionMu', true, 'debias the first moment'), bool('biasCorrectionNu', true, 'debias the second moment before the maximum')],
  },
  {
    name: 'radam',
    family: ADAM,
    about: "RAdam (Liu et al. 2020): Adam whose adaptive step is switched on once its variance is tractable.",
    // Its first steps are momentum SGD (the rectification starts at rho_t >= 5): an SGD-sized rate
    // keeps them stable; the adaptive steps after them are small, but they make progress.
    learningRate: gradientRate(),
    hyperparameters: [b1(), b2(), eps(1e-8), epsRoot(), num('threshold', 5, 'rectify once rho_t reaches this')],
  },
  {
    name: 'adabelief',
    family: ADAM,
    about: 'AdaBelief (Zhuang et al. 2020): Adam dividing by the spread of the gradient around its mean.',
    learningRate: stepRate(),
    hyperparameters: [b1(), num('b2', 0.999, 'decay of the second moment of the prediction error'), eps(1e-16), num('epsRoot', 1e-16, 'added to the second moment'), nesterov()],
  },
  {
    name: 'acprop',
    family: ADAM,
    about: 'ACProp (Zhuang et al. 2021): the gradient over the spread of the gradients of the steps before it.',
    // Its first step is the raw gradient times the rate (there is no spread yet): an SGD-sized
    // rate keeps it stable; the adaptive steps after it are small, but they make progress.
    learningRate: gradientRate(),
    hyperparameters: [b1(), num('b2', 0.999, 'decay of the second moment of the prediction error'), eps(1e-16), num('epsRoot', 1e-16, 'added to the second moment'), num('weightDecay', 0, 'decoupled weight decay')],
  },
  {
    name: 'yogi',
    family: ADAM,
    about: "Yogi (Zaheer et al. 2018): Adam with an additive, sign-controlled second-moment update.",
    learningRate: stepRate(),
    hyperparameters: [b1(), num('b2', 0.999, 'rate of the additive second-moment update'), eps(1e-3)],
  },
  {
    name: 'adabound',
    family: ADAM,
    about: 'AdaBound (Luo et al. 2019): Adam whose step is clipped to a band that narrows to SGD.',
    learningRate: stepRate(),
    hyperparameters: [num('finalLr', 0.1, 'SGD step size the bounds converge to'), num('gamma', 1e-3, 'how fast the bounds converge'), b1(), b2(), eps(1e-8), num('weightDecay', 0, 'L2 weight decay added to the gradient')],
  },
  {
    name: 'adopt',
    family: ADAM,
    about: 'ADOPT (Taniguchi et al. 2024): normalises by the previous second moment; the first step is zero.',
    learningRate: stepRate(),
    hyperparameters: [b1(), num('b2', 0.9999, 'decay of the second moment'), num('eps', 1e-6, 'lower bound of sqrt(nu)'), nesterov(), bool('useClipping', true, 'clip the normalised gradient')],
  },
  {
    name: 'ademamix',
    family: ADAM,
    about: 'AdEMAMix (Pagliardini et al. 2024): Adam with a second, slow moving average of the gradients.',
    learningRate: stepRate(),
    hyperparameters: [b1(), b2(), num('b3', 0.9999, 'decay of the slow average'), num('alpha', 5, 'weight of the slow average'), eps(1e-8), epsRoot(), num('weightDecay', 0, 'decoupled weight decay')],
  },
  {
    name: 'adan',
    family: ADAM,
    about: 'Adan (Xie et al. 2022): Nesterov-style momentum on the gradients and their differences.',
    learningRate: stepRate(),
    hyperparameters: [
      num('b1', 0.98, 'decay of the gradients’ average'),
      num('b2', 0.92, 'decay of the gradient differences’ average'),
      num('b3', 0.99, 'decay of the average of squares'),
      eps(1e-8),
      num('epsRoot', 1e-8, 'added inside the square root'),
      num('weightDecay', 0, 'decoupled weight decay'),
    ],
  },
  {
    name: 'optimisticAdam',
    family: ADAM,
    about: 'Optimistic Adam (Daskalakis et al. 2018): optimistic gradients fed to Adam.',
    learningRate: stepRate(0.5),
    hyperparameters: [num('alpha', 1, 'weight of the current gradient'), num('beta', 1, 'weight of the change since the last gradient'), b1(), b2(), eps(1e-8), epsRoot(), nesterov(true)],
  },
  {
    name: 'scheduleFreeAdamw',
    family: ADAM,
    about: 'Schedule-free AdamW (Defazio et al. 2024): no decay schedule needed, an average does its work.',
    learningRate: stepRate(),
    hyperparameters: [optional('warmupSteps', null, 10, 'linear warmup steps (off: none)'), num('b1', 0.9, 'interpolation between the average and the iterate'), b2(), eps(1e-8), num('weightDecay', 0, 'decoupled weight decay'), num('weightLrPower', 2, 'exponent of the averaging weights')],
  },
  {
    name: 'adadelta',
    family: ADAPTIVE,
    about: 'Adadelta (Zeiler 2012): a step in the units of the parameters, from two running averages.',
    learningRate: fixedRate(),
    hyperparameters: [num('rho', 0.9, 'decay of both running averages'), eps(1e-6, 'added inside both square roots'), num('weightDecay', 0, 'L2 weight decay added to the gradient')],
  },
  {
    name: 'adafactor',
    family: ADAPTIVE,
    about: 'Adafactor (Shazeer & Stern 2018): factored second moments, steps relative to the parameter scale.',
    learningRate: stepRate(),
    hyperparameters: [
      num('minDimSizeToFactor', 128, 'factor a leaf only if its two largest dimensions are at least this', true),
      num('decayRate', 0.8, 'exponent of the second-moment decay'),
      num('decayOffset', 0, 'step offset of that decay', true),
      bool('multiplyByParameterScale', true, 'scale steps by the RMS of the parameters'),
      optional('clippingThreshold', 1, 1, 'clip each update to this RMS (off: no clipping)', true),
      optional('momentum', null, 0.9, 'moving average of the updates (off: none)'),
      optional('weightDecay', null, 1e-3, 'decoupled weight decay (off: none)'),
      eps(1e-30, 'added to the squared gradients'),
      bool('factored', true, 'use factored second moments'),
    ],
  },
  {
    name: 'sm3',
    family: ADAPTIVE,
    about: 'SM3 (Anil et al. 2019): memory-efficient AdaGrad with momentum.',
    learningRate: stepRate(4),
    hyperparameters: [num('momentum', 0.9, 'momentum decay')],
  },
  {
    name: 'madgrad',
    family: ADAPTIVE,
    about: 'MADGRAD (Defazio & Jelassi 2021): dual averaging from the start point, over a cube root of the summed squared gradients.',
    learningRate: stepRate(),
    hyperparameters: [num('momentum', 0.9, 'weight of the current point against the dual-averaging point'), eps(1e-6, 'added to the learning rate and to the cube root'), num('weightDecay', 0, 'L2 weight decay added to the gradient')],
  },
  {
    name: 'signSgd',
    family: SIGN,
    about: 'signSGD (Bernstein et al. 2018): a step of the learning rate against the gradient’s sign.',
    learningRate: stepRate(0.3),
    hyperparameters: [],
  },
  {
    name: 'signum',
    family: SIGN,
    about: 'Signum (Bernstein et al. 2018): signSGD on a moving average of the gradients.',
    learningRate: stepRate(0.3),
    hyperparameters: [num('beta', 0.9, 'decay of the moving average')],
  },
  {
    name: 'lion',
    family: SIGN,
    about: 'Lion (Chen et al. 2023): the sign of an interpolation of momentum and gradient.',
    learningRate: stepRate(0.3),
    hyperparameters: [num('b1', 0.9, 'weight of the momentum in the direction'), num('b2', 0.99, 'decay of the momentum'), weightDecay(1e-3)],
  },
  {
    name: 'rprop',
    family: SIGN,
    about: 'Rprop (Riedmiller & Braun 1993): per-coordinate step sizes grow while the sign holds, shrink when it flips.',
    learningRate: stepRate(0.3, false),
    hyperparameters: [num('etaMinus', 0.5, 'shrink factor on a sign change'), num('etaPlus', 1.2, 'growth factor while the sign holds'), num('minStepSize', 1e-6, 'smallest step size'), num('maxStepSize', 50, 'largest step size')],
  },
  {
    name: 'lamb',
    family: LAYERWISE,
    about: 'LAMB (You et al. 2020): Adam steps rescaled per layer by the trust ratio |p| / |u|.',
    learningRate: stepRate(),
    hyperparameters: [b1(), b2(), eps(1e-6), epsRoot(), num('weightDecay', 0, 'decoupled weight decay')],
  },
  {
    name: 'lars',
    family: LAYERWISE,
    about: 'LARS (You et al. 2017): momentum SGD with a per-layer trust ratio.',
    learningRate: stepRate(20),
    hyperparameters: [num('weightDecay', 0, 'weight decay added before the trust ratio'), num('trustCoefficient', 0.001, 'multiplies the trust ratio'), num('eps', 0, 'added to the norms’ denominator'), num('momentum', 0.9, 'momentum'), nesterov()],
  },
  {
    name: 'fromage',
    family: LAYERWISE,
    about: 'Fromage (Bernstein et al. 2020): steps relative to each layer’s norm.',
    learningRate: stepRate(0.2),
    hyperparameters: [num('minNorm', 1e-6, 'floor of the norms in the trust ratio')],
  },
  {
    name: 'novograd',
    family: LAYERWISE,
    about: 'NovoGrad (Ginsburg et al. 2019): Adam-like, with a per-layer second moment.',
    learningRate: stepRate(),
    hyperparameters: [b1(), num('b2', 0.25, 'decay of the per-layer second moment'), eps(1e-6), epsRoot(), num('weightDecay', 0, 'weight decay added to the normalised gradient')],
  },
  {
    name: 'muon',
    family: LAYERWISE,
    about: 'Muon (Jordan et al. 2024): orthogonalised momentum for matrices (here the point is a 1×2 matrix).',
    learningRate: stepRate(),
    matrix: true,
    hyperparameters: [
      choice('nsCoeffs', 'standard', ['standard', 'dion'], 'Newton–Schulz coefficients'),
      num('nsSteps', 5, 'Newton–Schulz steps', true),
      num('beta', 0.95, 'momentum decay'),
      eps(1e-8, 'added to the Frobenius norm'),
      nesterov(true),
      bool('adaptive', false, 'scale by the dual norm'),
      num('weightDecay', 0, 'decoupled weight decay of the matrices'),
    ],
  },
  {
    name: 'soap',
    family: LAYERWISE,
    about: 'SOAP (Vyas et al. 2024): Adam in the eigenbasis of Shampoo’s preconditioner (here the point is a 1×2 matrix); the first step only sets the basis.',
    learningRate: stepRate(),
    matrix: true,
    hyperparameters: [
      num('b1', 0.95, 'decay of the first moment'),
      num('b2', 0.95, 'decay of the second moment'),
      eps(1e-8),
      weightDecay(0.01),
      num('precondFrequency', 10, 'steps between refreshes of the eigenbasis', true),
      bool('normalizeGrads', false, 'divide each update by its RMS'),
      bool('correctBias', true, 'Adam’s bias correction'),
    ],
  },
  {
    name: 'psgdKron',
    family: LAYERWISE,
    about: 'PSGD Kron (Li): momentum preconditioned by a Kronecker product of triangular factors fitted online (here the point is a 1×2 matrix).',
    learningRate: stepRate(),
    matrix: true,
    hyperparameters: [
      num('b1', 0.9, 'momentum decay'),
      weightDecay(0),
      num('precondLr', 0.1, 'step size of the preconditioner’s update'),
      num('precondInitScale', 1, 'scale of the initial preconditioner'),
      bool('momentumIntoPrecondUpdate', true, 'fit the preconditioner to the momentum (off: to the gradient)'),
      num('seed', 0, 'seed of the random probes', true),
    ],
  },
  {
    name: 'prodigy',
    family: SELF_TUNING,
    about: 'Prodigy (Mishchenko & Defazio 2024): AdamW that estimates its own step size.',
    learningRate: fixedRate(),
    hyperparameters: [
      num('b1', 0.9, 'b1 of the underlying AdamW (betas[0])'),
      num('b2', 0.999, 'b2 of the underlying AdamW (betas[1])'),
      optional('beta3', null, 0.9995, 'decay of the estimate’s sums (off: sqrt(b2))'),
      eps(1e-8),
      num('estimLr0', 1e-6, 'initial estimate of the step size'),
      num('estimLrCoef', 1, 'multiplies the estimates'),
      num('weightDecay', 0, 'AdamW-style decay'),
      bool('safeguardWarmup', false, 'leave the learning rate out of the estimate’s denominator'),
    ],
    toOptions: ({ b1: first, b2: second, ...rest }) => ({ betas: [first, second], ...rest }),
  },
  {
    name: 'dadaptAdamw',
    family: SELF_TUNING,
    about: 'D-Adaptation (Defazio & Mishchenko 2023): AdamW that estimates its own step size from a bound on the distance to the solution.',
    learningRate: fixedRate(),
    hyperparameters: [
      num('b1', 0.9, 'b1 of the underlying AdamW (betas[0])'),
      num('b2', 0.999, 'b2 of the underlying AdamW (betas[1])'),
      eps(1e-8),
      num('estimLr0', 1e-6, 'initial estimate of the step size'),
      num('weightDecay', 0, 'AdamW-style decay'),
    ],
    toOptions: ({ b1: first, b2: second, ...rest }) => ({ betas: [first, second], ...rest }),
  },
  {
    name: 'sophia',
    family: ADAPTIVE,
    about: 'Sophia (Liu et al. 2023), sophiaH: momentum over a clipped, floored average of Hutchinson estimates of the Hessian diagonal.',
    learningRate: stepRate(),
    hyperparameters: [
      num('b1', 0.965, 'decay of the gradient average'),
      num('b2', 0.99, 'decay of the Hessian-diagonal average (per estimate)'),
      eps(1e-8, 'floor of the denominator'),
      num('weightDecay', 1e-4, 'decoupled weight decay'),
      num('gamma', 0.01, 'multiplies the Hessian diagonal in the denominator'),
      optional('clipThreshold', 1, 1, 'clip of the update (off: none)', true),
      num('updateInterval', 10, 'steps between Hessian estimates', true),
      num('seed', 0, 'seed of the random signs', true),
    ],
  },
  {
    name: 'cocob',
    family: SELF_TUNING,
    about: 'COCOB-Backprop (Orabona & Tommasi 2017): each coordinate bets on its gradient’s sign, no step size.',
    learningRate: fixedRate(),
    hyperparameters: [num('alpha', 100, 'fraction to bet: the first steps are about 1/alpha'), eps(1e-8, 'initial gradient scale'), num('weightDecay', 0, 'L2 weight decay added to the gradient')],
  },
  {
    name: 'dog',
    family: SELF_TUNING,
    about: 'DoG (Ivgi et al. 2023): SGD with the step size max distance travelled / root of the summed squared gradient norms.',
    learningRate: fixedRate(),
    hyperparameters: [
      choice('initStepKind', 'heuristic', ['heuristic', 'distance', 'learningRate'], 'how the first step is set (initStep[0])'),
      num('initStepValue', 1e-6, 'its value (initStep[1])'),
      eps(1e-8, 'added to the summed squared gradient norms'),
      optional('weightDecay', null, 1e-3, 'L2 weight decay (off: none)'),
    ],
    toOptions: ({ initStepKind, initStepValue, ...rest }) => ({ initStep: [initStepKind, initStepValue], ...rest }),
  },
  {
    name: 'dowg',
    family: SELF_TUNING,
    about: 'DoWG (Khaled et al. 2023): DoG with the gradient norms weighted by the distance estimates.',
    learningRate: fixedRate(),
    hyperparameters: [
      optional('initEstimSqDist', null, 1e-2, 'initial squared distance estimate (off: eps)'),
      eps(1e-4, 'added to the step size’s denominator'),
      optional('weightDecay', null, 1e-3, 'L2 weight decay (off: none)'),
    ],
  },
  {
    name: 'polyakSgd',
    family: SELF_TUNING,
    about: "SGD with Polyak's step size (Loizou et al. 2021): (loss − fMin) / |g|², capped by the learning rate.",
    learningRate: fixedRate(1, false),
    hyperparameters: [num('scaling', 1, 'scales the gradient before the Polyak step is taken of it (optax)'), num('fMin', 0, 'a lower bound on the loss'), num('eps', 0, 'added to the squared gradient norm'), choice('variant', 'sps', ['sps', 'sps+'], 'variant')],
  },
  {
    name: 'momo',
    family: SELF_TUNING,
    about: 'MoMo (Schaipp et al. 2023): momentum SGD whose step is a Polyak-type step from a model of the loss, capped by the learning rate.',
    learningRate: fixedRate(0.1),
    hyperparameters: [
      num('beta', 0.9, 'momentum of the averaged gradients and losses'),
      num('lowerBound', 0, 'a lower bound on the loss'),
      num('weightDecay', 0, 'weight decay inside the loss model'),
      bool('adaptLowerBound', false, 'estimate the lower bound on the fly'),
    ],
  },
  {
    name: 'momoAdam',
    family: SELF_TUNING,
    about: 'MoMo-Adam (Schaipp et al. 2023): Adam whose step is a Polyak-type step from a model of the loss, capped by the learning rate.',
    learningRate: fixedRate(0.1),
    hyperparameters: [
      b1(),
      b2(),
      eps(1e-8, 'added to the preconditioner'),
      num('lowerBound', 0, 'a lower bound on the loss'),
      num('weightDecay', 0, 'AdamW-style weight decay inside the loss model'),
      bool('adaptLowerBound', false, 'estimate the lower bound on the fly'),
    ],
  },
  {
    name: 'galore',
    family: ADAM,
    about: 'GaLore (Zhao et al. 2024): Adam on the gradient projected onto its leading singular vectors (here a 1×2 matrix: rank 1, along the gradient at each refresh).',
    learningRate: stepRate(),
    hyperparameters: [
      num('rank', 128, 'rank of the projection (capped at the matrix’s smaller side)', true),
      num('updateProjGap', 200, 'steps between refreshes of the projector', true),
      num('scale', 1, 'multiplies the projected updates'),
      num('weightDecay', 0, 'decoupled weight decay in the full space'),
    ],
    matrix: true,
  },
  {
    name: 'lbfgs',
    family: QUASI_NEWTON,
    about: 'L-BFGS (Liu & Nocedal 1989) with a zoom line search that picks each step.',
    learningRate: null,
    hyperparameters: [num('memorySize', 10, 'curvature pairs kept', true), bool('scaleInitPrecond', true, 'start the recursion from gamma I')],
  },
];

export function optimizerByName(name: string): OptimizerEntry | undefined {
  return OPTIMIZERS.find((o) => o.name === name);
}

/** The library's defaults, as form values. */
export function defaultValues(entry: OptimizerEntry): HyperValues {
  return Object.fromEntries(entry.hyperparameters.map((h) => [h.name, h.default]));
}

/** The options object for the library, from form values (missing ones take the defaults). */
export function optionsFor(entry: OptimizerEntry, values: HyperValues): Record<string, unknown> {
  const present = Object.fromEntries(
    entry.hyperparameters.flatMap((h) => {
      const value = h.name in values ? values[h.name] : h.default;
      const leaveOut = value === null && !(h.kind === 'optional' && h.offIsNull);
      return leaveOut ? [] : [[h.name, value]];
    }),
  );
  return entry.toOptions ? entry.toOptions(present) : present;
}

/** A learning rate that suits the problem, or null when the optimizer takes none. */
export function suggestedLearningRate(entry: OptimizerEntry, hint: LearningRateHint): number | null {
  const lr = entry.learningRate;
  if (lr === null) return null;
  const base = lr.kind === 'gradient' ? hint.gradient : lr.kind === 'step' ? hint.step : 1;
  return roundSignificant(base * lr.factor);
}

/** `x` to two significant digits, so suggested rates read well in the form and in URLs. */
export function roundSignificant(x: number, digits = 2): number {
  return Number(x.toPrecision(digits));
}

/** The families in the order of the optimizer menu. */
export function families(): string[] {
  return [...new Set(OPTIMIZERS.map((o) => o.family))];
}
