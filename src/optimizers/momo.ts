import * as tf from '@tensorflow/tfjs-core';
import { optimizerAlias } from '../internal/aliases.js';
import type { ExtraArgs, GradientTransformation, Params, ScalarOrSchedule, Updates } from '../types.js';
import { readDots } from '../internal/dots.js';
import { HyperRate } from '../internal/hyper.js';
import { flattenFloatTrees, missingParams, stateLike } from '../internal/leaves.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { declareState, type FieldKind } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { readValue } from '../transforms/reduce-on-plateau.js';

// MoMo and MoMo-Adam, as optax.contrib.momo and momo_adam: one transformation each, as in optax
// (there is no scale_by_momo), because the step size is solved from a model of the whole
// regularised loss, with the learning rate and the weight decay inside it. Tree-wide inner
// products decide the step, so they run as tf ops; the products are read back once per update
// (with the loss) and the step size is computed in float64.

/**
 * Options of {@link momo}.
 * @group Optimizer options and states
 */
export interface MomoOptions {
  /** Momentum of the averages of the gradients, the losses and the linearisation points, in [0, 1). Default `0.9`. */
  beta?: number;
  /** A lower bound on the loss (0 suits most losses), a finite number. Default `0`. */
  lowerBound?: number;
  /** Weight decay `lambda` of the model, a number >= 0 or a schedule (there is no `mask`: see {@link momo}). Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Estimate the lower bound on the fly from `lowerBound` up (the paper's MoMo*). Default `false`. */
  adaptLowerBound?: boolean;
}

/**
 * Options of {@link momoAdam}.
 * @group Optimizer options and states
 */
export interface MomoAdamOptions {
  /** Decay of the first moment and of the averaged losses, in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the second moment, in [0, 1). Default `0.999`. */
  b2?: number;
  /** Added to the preconditioner `sqrt(v_hat)`, >= 0. Default `1e-8`. */
  eps?: number;
  /** A lower bound on the loss (0 suits most losses), a finite number. Default `0`. */
  lowerBound?: number;
  /** AdamW-style weight decay `lambda` of the model, a number >= 0 or a schedule. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Estimate the lower bound on the fly from `lowerBound` up. Default `false`. */
  adaptLowerBound?: boolean;
}

/**
 * State of {@link momo} (optax's `MomoState`, with the hyperparameters; the scalars are JS numbers).
 * @group Optimizer options and states
 */
export interface MomoState {
  /** Updates done so far. */
  count: number;
  /** The averaged gradients `d`. */
  expAvg: Params;
  /** The averaged losses `f_bar`, a float64 JS number. */
  barf: number;
  /** The averaged `<g, x>` at each step's point, a float64 JS number. */
  gamma: number;
  /** The lower bound in use (moves only with `adaptLowerBound`). */
  lb: number;
  /** The learning rate the next update uses. */
  learningRate: number;
  /** The weight decay the next update uses. */
  weightDecay: number;
}

/**
 * State of {@link momoAdam} (optax's `MomoAdamState`, with the hyperparameters).
 * @group Optimizer options and states
 */
export interface MomoAdamState extends MomoState {
  /** The averaged squared gradients `v`. */
  expAvgSq: Params;
}

/** The per-step numbers both variants share: the loss model's averages before the step. */
interface Averages {
  /** Learning rate and weight decay of this update. */
  alpha: number;
  lambda: number;
  barf: number;
  gamma: number;
  /** `<d, x>` and the (preconditioned) squared norm of `d`. */
  iprod: number;
  norm: number;
  /** Bias correction of the first moment (1 for momo). */
  bc1: number;
}

/**
 * The step size `tau` and the next lower bound, as optax computes them (in float64 here): the
 * step that takes the model `f_bar + <d, y - x_bar>`, regularised, to `lb`, capped at `alpha / bc1`;
 * 0 when `|d|^2 <= 2^-52` (float64's epsilon, optax's cut-off).
 */
function momoStep(a: Averages, lb: number, lowerBound: number, adapt: boolean): { tau: number; lb: number } {
  const { alpha, lambda, barf, gamma, iprod, norm, bc1 } = a;
  const r = 1 + alpha * lambda;
  let thisLb = lb;
  if (adapt) {
    const cap = r * (barf - gamma) + iprod;
    if (cap < r * bc1 * lb) thisLb = Math.max(cap / (2 * bc1 * r), lowerBound);
  }
  const t1 = norm <= Number.EPSILON ? 0 : Math.max(r * (barf - bc1 * thisLb - gamma) + iprod, 0) / norm;
  const tau = Math.min(alpha / bc1, t1);
  const nextLb = adapt ? Math.max((barf + iprod - gamma - 0.5 * tau * norm) / bc1, lowerBound) : lb;
  return { tau, lb: nextLb };
}

interface MomoConfig {
  owner: string;
  lr: HyperRate;
  wd: HyperRate;
  lowerBound: number;
  adapt: boolean;
  /** MoMo-Adam's `[b1, b2, eps]`; absent for MoMo. */
  adam?: [number, number, number];
  /** MoMo's `beta`. */
  beta: number;
}

/** The shared transformation of momo and momoAdam. */
function momoTransform(c: MomoConfig): GradientTransformation<any> {
  const { owner, lr, wd, lowerBound, adapt, adam, beta } = c;
  const layout: Record<string, FieldKind> = {
    count: 'count', expAvg: 'tree', ...(adam ? { expAvgSq: 'nonNegativeTree' as const } : {}),
    barf: 'number', gamma: 'number', lb: 'number', learningRate: lr, weightDecay: wd,
  };
  return declareState(owner, layout, {
    init: (params: Params) => ({
      count: 0,
      expAvg: stateLike(owner, params),
      ...(adam ? { expAvgSq: stateLike(owner, params) } : {}),
      barf: 0, gamma: 0, lb: lowerBound,
      learningRate: lr.at(0), weightDecay: wd.at(0),
    }),
    update: <U extends Updates>(updates: U, state: MomoAdamState, params?: Params, extra?: ExtraArgs): [U, MomoAdamState] => {
      if (params === undefined) throw missingParams(owner);
      const names = ['updates', 'params', 'state.expAvg', ...(adam ? ['state.expAvgSq'] : [])];
      const trees = [updates, params, state.expAvg, ...(adam ? [state.expAvgSq] : [])];
      const [[gs, ps, eas, eass], def] = flattenFloatTrees(owner, names, trees);
      const value = readValue(owner, extra);
      const k = state.count;
      const alpha = state.learningRate;
      const lambda = state.weightDecay;
      const learningRate = lr.next(alpha, k);
      const weightDecay = wd.next(lambda, k);
      // momo starts its averages at the first gradient and loss; momoAdam at zero.
      const b = adam ? adam[0] : k === 0 ? 0 : beta;
      const bc1 = adam ? 1 - adam[0] ** (k + 1) : 1;
      const bc2 = adam ? 1 - adam[1] ** (k + 1) : 1;
      return tidy(() => {
        const [bS, oneMinusB] = [tf.scalar(b), tf.scalar(1 - b)];
        const expAvg = gs.map((g, i) => tf.add(tf.mul(bS, eas[i]), tf.mul(oneMinusB, g)));
        let expAvgSq: tf.Tensor[] = [];
        let direction = expAvg;
        if (adam) {
          const [b2S, oneMinusB2, bc2S, epsS] = [adam[1], 1 - adam[1], bc2, adam[2]].map((x) => tf.scalar(x));
          expAvgSq = gs.map((g, i) => tf.add(tf.mul(b2S, eass[i]), tf.mul(oneMinusB2, tf.mul(g, g))));
          direction = expAvg.map((ea, i) => tf.div(ea, tf.add(epsS, tf.sqrt(tf.div(expAvgSq[i], bc2S)))));
        }
        const { dots } = readDots([[gs, ps], [expAvg, direction], [expAvg, ps]]);
        const [gp, norm, iprod] = dots;
        const barf = b * state.barf + (1 - b) * value;
        const gamma = b * state.gamma + (1 - b) * gp;
        const step = momoStep({ alpha, lambda, barf, gamma, iprod, norm, bc1 }, state.lb, lowerBound, adapt);
        const shrink = (alpha * lambda) / (1 + alpha * lambda);
        const [negShrink, negTau] = [tf.scalar(-shrink), tf.scalar(-step.tau)];
        const u = direction.map((d, i) => (shrink === 0 ? tf.mul(negTau, d) : tf.add(tf.mul(negShrink, ps[i]), tf.mul(negTau, d))));
        const next = {
          count: k + 1, expAvg: def.unflatten(expAvg) as Params, ...(adam ? { expAvgSq: def.unflatten(expAvgSq) as Params } : {}),
          barf, gamma, lb: step.lb, learningRate, weightDecay,
        } as MomoAdamState;
        return [def.unflatten(u) as U, next];
      });
    },
  });
}

/**
 * MoMo, momentum models for adaptive learning rates (Schaipp, Ohana, Eickenberg, Defazio & Gower
 * 2023, "MoMo: Momentum Models for Adaptive Learning Rates", arXiv:2305.07583), as optax contrib:
 * SGD with momentum whose step size is the smaller of `learningRate` and a Polyak-type step,
 * from a model of the loss built with the averaged losses and gradients and a lower bound on the
 * loss. Needs the loss: `update(grads, state, params, { value: loss })`. With `k = count`,
 * `a = learningRate(k)`, `l = weightDecay(k)`, `b = (k == 0 ? 0 : beta)` and sums over all leaves:
 *
 *     f_bar = b f_bar + (1 - b) loss          d = b d + (1 - b) g
 *     gamma = b gamma + (1 - b) <g, x>
 *     t1 = max((1 + a l) (f_bar - lb - gamma) + <d, x>, 0) / |d|^2     (0 if |d|^2 <= 2^-52)
 *     tau = min(a, t1)
 *     u = -(a l / (1 + a l)) x - tau d
 *
 * With `adaptLowerBound`, `lb` is lowered when the model's value falls under it and re-estimated
 * after each step as `max(f_bar + <d, x> - gamma - tau |d|^2 / 2, lowerBound)`, as optax.
 * The update is the step itself (the learning rate caps `tau`; no sign flip follows). The inner
 * products are summed on the device in float32 and read back once per update, with the loss
 * (a sync, like reading the loss); `f_bar`, `gamma`, `lb` and `tau` are float64 JS numbers in the
 * state (optax keeps float32 scalars). The weight decay enters the closed-form step, which is
 * solved for the whole tree, so it takes no `mask`. Composite on every backend.
 * Defaults, as optax: `learningRate = 1, beta = 0.9, lowerBound = 0, weightDecay = 0,
 * adaptLowerBound = false`. State: `{ count, expAvg, barf, gamma, lb, learningRate, weightDecay }`.
 * @group Optimizers
 * @function
 */
export const momo = /* @__PURE__ */ optimizerAlias(function momo(learningRate: ScalarOrSchedule = 1, options: MomoOptions = {}): GradientTransformation<MomoState> {
  const owner = 'momo';
  checkOptions(owner, options, ['beta', 'lowerBound', 'weightDecay', 'adaptLowerBound']);
  return momoTransform({
    owner,
    lr: new HyperRate(owner, 'learningRate', learningRate),
    wd: new HyperRate(owner, 'weightDecay', options.weightDecay ?? 0),
    beta: checkRate(owner, 'beta', options.beta ?? 0.9),
    lowerBound: checkNumber(owner, 'lowerBound', options.lowerBound ?? 0),
    adapt: checkBoolean(owner, 'adaptLowerBound', options.adaptLowerBound ?? false),
  });
});

/**
 * MoMo-Adam (Schaipp et al. 2023, "MoMo: Momentum Models for Adaptive Learning Rates",
 * arXiv:2305.07583), as optax contrib: Adam(W) whose step size is the smaller of
 * `learningRate / bc1` and a Polyak-type step from a model of the loss (see {@link momo}). Needs
 * the loss: `update(grads, state, params, { value: loss })`. With `t = count + 1`,
 * `bc1 = 1 - b1^t`, `bc2 = 1 - b2^t`, `a = learningRate(count)`, `l = weightDecay(count)` and
 * sums over all leaves:
 *
 *     f_bar = b1 f_bar + (1 - b1) loss        gamma = b1 gamma + (1 - b1) <g, x>
 *     m = b1 m + (1 - b1) g                   v = b2 v + (1 - b2) g^2
 *     D = eps + sqrt(v / bc2)                 |m|_D^2 = <m, m / D>
 *     t1 = max((1 + a l) (f_bar - bc1 lb - gamma) + <m, x>, 0) / |m|_D^2   (0 if |m|_D^2 <= 2^-52)
 *     tau = min(a / bc1, t1)
 *     u = -(a l / (1 + a l)) x - tau m / D
 *
 * `adaptLowerBound` as in `momo`, with optax's bias corrections. The inner products are read back
 * once per update and the step size is computed in float64; composite on every backend. Weight
 * decay is decoupled (AdamW-like) and enters the closed-form step, so it takes no `mask`.
 * Defaults, as optax: `learningRate = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, lowerBound = 0,
 * weightDecay = 0, adaptLowerBound = false`. State: `{ count, expAvg, expAvgSq, barf, gamma, lb,
 * learningRate, weightDecay }`.
 * @group Optimizers
 * @function
 */
export const momoAdam = /* @__PURE__ */ optimizerAlias(function momoAdam(learningRate: ScalarOrSchedule = 1e-2, options: MomoAdamOptions = {}): GradientTransformation<MomoAdamState> {
  const owner = 'momoAdam';
  checkOptions(owner, options, ['b1', 'b2', 'eps', 'lowerBound', 'weightDecay', 'adaptLowerBound']);
  return momoTransform({
    owner,
    lr: new HyperRate(owner, 'learningRate', learningRate),
    wd: new HyperRate(owner, 'weightDecay', options.weightDecay ?? 0),
    beta: 0,
    adam: [checkRate(owner, 'b1', options.b1 ?? 0.9), checkRate(owner, 'b2', options.b2 ?? 0.999), checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 })],
    lowerBound: checkNumber(owner, 'lowerBound', options.lowerBound ?? 0),
    adapt: checkBoolean(owner, 'adaptLowerBound', options.adaptLowerBound ?? false),
  });
});
