import * as tf from '@tensorflow/tfjs-core';
import { optimizerAlias } from '../internal/aliases.js';
import type { GradientTransformation, Params, ScalarOrSchedule, Updates } from '../types.js';
import { HyperRate } from '../internal/hyper.js';
import { flattenFloatTrees, missingParams, stateLike } from '../internal/leaves.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { checkMaskOption, maskLeaves, type Mask } from '../transforms/decay.js';

// D-Adaptation for AdamW, as optax.contrib.dadapt_adamw: one transformation, as in optax, because
// the estimated step size scales the first moment, the sum and the weight decay alike.

/**
 * Options of {@link dadaptAdamw}.
 * @group Optimizer options and states
 */
export interface DadaptAdamwOptions {
  /** `[b1, b2]` of the underlying AdamW, each in [0, 1). Default `[0.9, 0.999]`. */
  betas?: readonly [number, number];
  /** Added to `sqrt(v)` in the denominators, >= 0. Default `1e-8`. */
  eps?: number;
  /** Initial (under-)estimate of the step size, > 0. Default `1e-6`. */
  estimLr0?: number;
  /** AdamW-style decay (a number >= 0 or a schedule), times the estimated step. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link dadaptAdamw} (optax's `DAdaptAdamWState`, with the hyperparameters).
 * @group Optimizer options and states
 */
export interface DadaptAdamwState {
  /** Moving average of the step-scaled gradients `dlr * g`. */
  expAvg: Params;
  /** Moving average of the squared gradients. */
  expAvgSq: Params;
  /** Moving average of `dlr * g` (decay `sqrt(b2)`), whose L1 norm is the estimate's denominator. */
  gradSum: Params;
  /** The step-size estimate `d`, a float32 scalar tensor (it never decreases). */
  estimLr: tf.Scalar;
  /** The estimate's numerator, a float32 scalar tensor. */
  numeratorWeighted: tf.Scalar;
  /** Updates done so far. */
  count: number;
  /** The learning rate (the schedule multiplier) the next update uses. */
  learningRate: number;
  /** The weight-decay rate the next update uses. */
  weightDecay: number;
}

/**
 * D-Adaptation for AdamW (Defazio & Mishchenko 2023, "Learning-Rate-Free Learning by
 * D-Adaptation", ICML, arXiv:2301.07733), as optax contrib: AdamW whose step size `d` is
 * estimated on the fly from a lower bound on the distance to the solution. With `t = count + 1`,
 * `lr` the learning rate (a multiplier of the estimate, best a schedule from 1), `sb2 = sqrt(b2)`
 * and the sums over all leaves:
 *
 *     dlr = d * lr * sqrt(1 - b2^t) / (1 - b1^t)
 *     r = sb2 r + (1 - sb2) dlr <g, s / (sqrt(v) + eps)>     (s, v: before this update)
 *     m = b1 m + (1 - b1) dlr g;    v = b2 v + (1 - b2) g^2;    s = sb2 s + (1 - sb2) dlr g
 *     d = max(d, r / ((1 - sb2) ||s||_1))
 *     u = -weightDecay * dlr * p - m / (sqrt(v) + eps)     (decay on the masked leaves)
 *
 * `d` and `r` are data-dependent sums over the whole tree, so they stay float32 scalar tensors in
 * the state (no device read-back per step) and the update runs as tf ops on every backend. An
 * estimate that is not a number (all gradients zero: `0 / 0`) leaves `d` as it was, on every
 * backend (optax's `jnp.maximum` would make it NaN). Needs `params`. Defaults:
 * `learningRate = 1, betas = [0.9, 0.999], eps = 1e-8, estimLr0 = 1e-6, weightDecay = 0`.
 * @group Optimizers
 * @function
 */
export const dadaptAdamw = /* @__PURE__ */ optimizerAlias(function dadaptAdamw(learningRate: ScalarOrSchedule = 1, options: DadaptAdamwOptions = {}): GradientTransformation<DadaptAdamwState> {
  const owner = 'dadaptAdamw';
  checkOptions(owner, options, ['betas', 'eps', 'estimLr0', 'weightDecay', 'mask']);
  const betas = options.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2) {
    throw new TypeError(`${owner}: option 'betas' must be a pair [b1, b2], got ${JSON.stringify(betas)}`);
  }
  const b1 = checkRate(owner, 'betas', betas[0]);
  const b2 = checkRate(owner, 'betas', betas[1]);
  const sb2 = Math.sqrt(b2);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const estimLr0 = checkNumber(owner, 'estimLr0', options.estimLr0 ?? 1e-6, { min: 0, minInclusive: false });
  const lr = new HyperRate(owner, 'learningRate', learningRate);
  const wd = new HyperRate(owner, 'weightDecay', options.weightDecay ?? 0);
  const mask = options.mask;
  checkMaskOption(owner, mask);
  const layout = {
    expAvg: 'tree', expAvgSq: 'nonNegativeTree', gradSum: 'tree', estimLr: 'tree', numeratorWeighted: 'tree',
    count: 'count', learningRate: lr, weightDecay: wd,
  } as const;
  return declareState(owner, layout, {
    init: (params) => ({
      expAvg: stateLike(owner, params),
      expAvgSq: stateLike(owner, params),
      gradSum: stateLike(owner, params),
      estimLr: tf.scalar(estimLr0),
      numeratorWeighted: tf.scalar(0),
      count: 0,
      learningRate: lr.at(0),
      weightDecay: wd.at(0),
    }),
    update: <U extends Updates>(updates: U, state: DadaptAdamwState, params?: Params): [U, DadaptAdamwState] => {
      if (params === undefined) throw missingParams(owner);
      const k = state.count;
      const t = k + 1;
      const sched = state.learningRate;
      const decay = state.weightDecay;
      const learningRateNext = lr.next(sched, k);
      const weightDecayNext = wd.next(decay, k);
      const selected = mask === undefined || decay === 0 ? null : maskLeaves(owner, mask, params);
      const [[gs, ps, ms, vs, ss], def] = flattenFloatTrees(
        owner,
        ['updates', 'params', 'state.expAvg', 'state.expAvgSq', 'state.gradSum'],
        [updates, params, state.expAvg, state.expAvgSq, state.gradSum],
      );
      return tidy(() => {
        const d = state.estimLr;
        const bc = Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
        const dlr = tf.mul(d, tf.scalar(sched * bc));
        const [b1s, b2s, c2, sb2s, epsS] = [b1, b2, 1 - b2, sb2, eps].map((x) => tf.scalar(x));
        // (1 - b1) dlr and (1 - sb2) dlr, as optax groups them.
        const c1Dlr = tf.mul(tf.scalar(1 - b1), dlr);
        const cs2Dlr = tf.mul(tf.scalar(1 - sb2), dlr);
        const dots: tf.Tensor[] = [];
        const l1s: tf.Tensor[] = [];
        const newM: tf.Tensor[] = [];
        const newV: tf.Tensor[] = [];
        const newS: tf.Tensor[] = [];
        for (let i = 0; i < gs.length; i++) {
          const s = new Scratch();
          const g = gs[i];
          // A leaf without elements adds nothing to the sums (tf.sum of one is not 0 on wasm).
          if (g.size > 0) {
            const weighted = s.mul(g, s.div(ss[i], s.add(s.sqrt(vs[i]), epsS)));
            dots.push(s.op(tf.sum(weighted), weighted));
          }
          newM.push(s.keep(s.add(s.mul(b1s, ms[i]), s.mul(c1Dlr, g))));
          newV.push(s.keep(s.add(s.mul(b2s, vs[i]), s.mul(s.mul(c2, g), g))));
          const s1 = s.keep(s.add(s.mul(sb2s, ss[i]), s.mul(cs2Dlr, g)));
          newS.push(s1);
          if (g.size > 0) {
            const magnitudes = s.op(tf.abs(s1), s1);
            l1s.push(s.op(tf.sum(magnitudes), magnitudes));
          }
        }
        const total = (xs: tf.Tensor[]) => (xs.length === 0 ? tf.scalar(0) : xs.length === 1 ? xs[0] : tf.addN(xs));
        const numeratorWeighted = tf.add(tf.mul(sb2s, state.numeratorWeighted), tf.mul(cs2Dlr, total(dots))) as tf.Scalar;
        const estimate = tf.div(numeratorWeighted, tf.mul(tf.scalar(1 - sb2), total(l1s)));
        // max(d, estimate), with a NaN estimate leaving d (tf.maximum's NaN differs by backend).
        const estimLr = tf.where(tf.greater(estimate, d), estimate, d) as tf.Scalar;
        const decayDlr = tf.mul(tf.scalar(-decay), dlr);
        const out = gs.map((_, i) => {
          const s = new Scratch();
          const step = s.div(newM[i], s.add(s.sqrt(newV[i]), epsS));
          if (decay === 0 || (selected !== null && !selected[i])) return s.op(tf.neg(step), step);
          return s.sub(s.mul(decayDlr, ps[i]), step);
        });
        const next: DadaptAdamwState = {
          expAvg: def.unflatten(newM),
          expAvgSq: def.unflatten(newV),
          gradSum: def.unflatten(newS),
          estimLr,
          numeratorWeighted,
          count: t,
          learningRate: learningRateNext,
          weightDecay: weightDecayNext,
        };
        return [def.unflatten(out) as U, next];
      });
    },
  });
});
