import * as tf from '@tensorflow/tfjs-core';
import { optimizerAlias } from '../internal/aliases.js';
import type { GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { HyperRate } from '../internal/hyper.js';
import { flattenFloatTrees, missingParams, stateLike } from '../internal/leaves.js';
import { checkBoolean, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { checkMaskOption, maskLeaves, type Mask } from '../transforms/decay.js';
import { treeMap } from '../tree/structure.js';

// Prodigy, as optax.contrib.prodigy: one transformation, as in optax, because the step size it
// estimates scales the Adam moments, the denominator's eps and the weight decay alike.

/**
 * Options of {@link prodigy}.
 * @group Optimizer options and states
 */
export interface ProdigyOptions {
  /** `[b1, b2]` of the underlying AdamW, each in [0, 1). Default `[0.9, 0.999]`. */
  betas?: readonly [number, number];
  /** Decay of the step-size estimate's sums, in [0, 1]. Default `sqrt(b2)`. */
  beta3?: number;
  /** Added to the denominator (times the estimate). Default `1e-8`. */
  eps?: number;
  /** Initial (under-)estimate of the step size, > 0. Default `1e-6`. */
  estimLr0?: number;
  /** Multiplies the step-size estimates, > 0. Default `1`. */
  estimLrCoef?: number;
  /** AdamW-style decay (a number >= 0 or a schedule), times the estimated step. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Leave the learning rate out of the estimate's denominator (for warm-up). Default `false`. */
  safeguardWarmup?: boolean;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link prodigy}.
 * @group Optimizer options and states
 */
export interface ProdigyState {
  /** Updates done so far. */
  count: number;
  /** Moving average of the estimate-scaled gradients `d * g`. */
  expAvg: Params;
  /** Moving average of their squares. */
  expAvgSq: Params;
  /** The weighted sum of `d * g` whose L1 norm is the estimate's denominator. */
  gradSum: Params;
  /** The parameters at `init`. */
  params0: Params;
  /** The step-size estimate `d`, a float32 scalar tensor (it never decreases). */
  estimLr: tf.Scalar;
  /** The estimate's numerator, a float32 scalar tensor. */
  numeratorWeighted: tf.Scalar;
  /** The learning rate (the schedule multiplier) the next update uses. */
  learningRate: number;
  /** The weight-decay rate the next update uses. */
  weightDecay: number;
}

/**
 * Prodigy (Mishchenko & Defazio 2023, "Prodigy: An Expeditiously Adaptive Parameter-Free
 * Learner", arXiv:2306.06101), as optax contrib: AdamW whose step size `d` is estimated from
 * the distance travelled from the initial parameters `p0`. With `t = count + 1`, `lr` the
 * learning rate (a multiplier of the estimate, best a schedule from 1) and `d` the estimate:
 *
 *     dlr = d * lr * sqrt(1 - b2^t) / (1 - b1^t)
 *     m = b1 m + (1 - b1) d g;    v = b2 v + (1 - b2) (d g)^2
 *     s = beta3 s + (safeguardWarmup ? d : dlr) / estimLr0 * d g
 *     r = beta3 r + (d / estimLr0) * dlr * <g, p0 - p>          (sums over all leaves)
 *     d = max(d, estimLrCoef * r / ||s||_1)
 *     u = -dlr * m / (sqrt(v) + d * eps) - weightDecay * dlr * p   (decay on the masked leaves)
 *
 * `d` and `r` are data-dependent sums over the whole tree, so they stay float32 scalar tensors in
 * the state (reading them back as JS numbers would stall the device every step); the
 * per-step constants are JS numbers. Needs `params`. Defaults: `learningRate = 1`,
 * `betas = [0.9, 0.999]`, `beta3 = sqrt(b2)`, `eps = 1e-8`, `estimLr0 = 1e-6`, `estimLrCoef = 1`,
 * `weightDecay = 0`, `safeguardWarmup = false`. Not a chain: the estimate scales every term.
 * @group Optimizers
 * @function
 */
export const prodigy = /* @__PURE__ */ optimizerAlias(function prodigy(learningRate: ScalarOrSchedule = 1, options: ProdigyOptions = {}): GradientTransformation<ProdigyState> {
  const owner = 'prodigy';
  checkOptions(owner, options, ['betas', 'beta3', 'eps', 'estimLr0', 'estimLrCoef', 'weightDecay', 'safeguardWarmup', 'mask']);
  const betas = options.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2) {
    throw new TypeError(`${owner}: option 'betas' must be a pair [b1, b2], got ${JSON.stringify(betas)}`);
  }
  const b1 = checkRate(owner, 'betas', betas[0]);
  const b2 = checkRate(owner, 'betas', betas[1]);
  const beta3 = checkRate(owner, 'beta3', options.beta3 ?? Math.sqrt(b2), true);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const estimLr0 = checkNumber(owner, 'estimLr0', options.estimLr0 ?? 1e-6, { min: 0, minInclusive: false });
  const estimLrCoef = checkNumber(owner, 'estimLrCoef', options.estimLrCoef ?? 1, { min: 0, minInclusive: false });
  const safeguardWarmup = checkBoolean(owner, 'safeguardWarmup', options.safeguardWarmup ?? false);
  const lr = new HyperRate(owner, 'learningRate', learningRate);
  const wd = new HyperRate(owner, 'weightDecay', options.weightDecay ?? 0);
  const mask = options.mask;
  checkMaskOption(owner, mask);
  const layout = {
    count: 'count', expAvg: 'tree', expAvgSq: 'nonNegativeTree', gradSum: 'tree', params0: 'tree',
    estimLr: 'tree', numeratorWeighted: 'tree', learningRate: lr, weightDecay: wd,
  } as const;
  return declareState(owner, layout, {
    init: (params) => ({
      count: 0,
      expAvg: stateLike(owner, params),
      expAvgSq: stateLike(owner, params),
      gradSum: stateLike(owner, params),
      params0: treeMap((p) => tf.clone(p), params),
      estimLr: tf.scalar(estimLr0),
      numeratorWeighted: tf.scalar(0),
      learningRate: lr.at(0),
      weightDecay: wd.at(0),
    }),
    update: (updates, state, params) => {
      if (params === undefined) throw missingParams(owner);
      const k = state.count;
      const t = k + 1;
      const sched = state.learningRate;
      const decay = state.weightDecay;
      const selected = mask === undefined || decay === 0 ? null : maskLeaves(owner, mask, params);
      const [leaves, def] = flattenFloatTrees(
        owner,
        ['updates', 'params', 'state.expAvg', 'state.expAvgSq', 'state.gradSum', 'state.params0'],
        [updates, params, state.expAvg, state.expAvgSq, state.gradSum, state.params0],
      );
      const [gs, ps, ms, vs, ss, p0s] = leaves;
      return tidy(() => {
        const d = state.estimLr;
        const bc = Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
        const dlr = tf.mul(d, tf.scalar(sched * bc));
        const [b1s, c1, b2s, c2, b3s] = [b1, 1 - b1, b2, 1 - b2, beta3].map((x) => tf.scalar(x));
        const sumScale = tf.div(safeguardWarmup ? d : dlr, tf.scalar(estimLr0));
        let numeratorAcum: tf.Tensor = tf.scalar(0);
        let denominator: tf.Tensor = tf.scalar(0);
        const newM: tf.Tensor[] = [];
        const newV: tf.Tensor[] = [];
        const newS: tf.Tensor[] = [];
        for (let i = 0; i < gs.length; i++) {
          const s = new Scratch();
          // A leaf without elements adds nothing to the sums (tf.sum of one is not 0 on wasm).
          const empty = gs[i].size === 0;
          if (!empty) numeratorAcum = tf.add(numeratorAcum, tf.sum(tf.mul(gs[i], tf.sub(p0s[i], ps[i]))));
          const dg = s.keep(s.mul(d, gs[i]));
          newM.push(s.keep(s.add(s.mul(b1s, ms[i]), s.mul(c1, dg))));
          newV.push(s.keep(s.add(s.mul(b2s, vs[i]), s.mul(c2, s.mul(dg, dg)))));
          const s1 = s.add(s.mul(b3s, ss[i]), s.mul(sumScale, dg));
          newS.push(s1);
          if (!empty) denominator = tf.add(denominator, tf.sum(tf.abs(s1)));
        }
        const numeratorWeighted = tf.add(
          tf.mul(b3s, state.numeratorWeighted),
          tf.mul(tf.mul(tf.div(d, tf.scalar(estimLr0)), dlr), numeratorAcum),
        ) as tf.Scalar;
        const estimate = tf.div(tf.mul(tf.scalar(estimLrCoef), numeratorWeighted), denominator);
        const estimLr = tf.maximum(d, estimate) as tf.Scalar;
        const epsD = tf.mul(estimLr, tf.scalar(eps));
        const wdDlr = tf.mul(dlr, tf.scalar(decay));
        const out = gs.map((_, i) => {
          const s = new Scratch();
          const u = s.div(s.mul(s.op(tf.neg(dlr)), newM[i]), s.add(s.sqrt(newV[i]), epsD));
          if (decay === 0 || (selected !== null && !selected[i])) return u;
          return s.sub(u, s.mul(wdDlr, ps[i]));
        });
        const next: ProdigyState = {
          count: t,
          expAvg: def.unflatten(newM),
          expAvgSq: def.unflatten(newV),
          gradSum: def.unflatten(newS),
          params0: state.params0,
          estimLr,
          numeratorWeighted,
          learningRate: lr.next(sched, k),
          weightDecay: wd.next(decay, k),
        };
        return [def.unflatten(out), next];
      }) as [typeof updates, ProdigyState];
    },
  });
});
