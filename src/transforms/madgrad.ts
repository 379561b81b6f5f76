import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, ScalarOrSchedule, Updates } from '../types.js';
import { HyperRate } from '../internal/hyper.js';
import { mapFloatLeaves, mapFloatLeavesN, missingParams, stateLike } from '../internal/leaves.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { Scratch } from '../internal/scratch.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';

// MADGRAD, as optax.contrib.scale_by_madgrad. Element-wise, but a cube root is not among the
// element steps' operations (internal/ops.ts), so it runs as tf ops on every backend.

/**
 * Options of {@link scaleByMadgrad} (and of `madgrad`).
 * @group Transform options and states
 */
export interface ScaleByMadgradOptions {
  /** Weight of the current parameters against the dual-averaging point, in [0, 1). Default `0.9`. */
  momentum?: number;
  /** Added to the learning rate and to the cube root in the denominator, >= 0. Default `1e-6`. */
  eps?: number;
}

/**
 * State of {@link scaleByMadgrad} (optax's `MadgradState`, with the learning rate).
 * @group Transform options and states
 */
export interface ScaleByMadgradState {
  /** Updates done so far (a JS number, `0` after `init`). */
  count: number;
  /** The weighted sum of squared gradients, `G`. */
  gradSumSq: Params;
  /** The weighted sum of gradients, `s`. */
  s: Params;
  /** The parameters at `init`, `x0`. */
  x0: Params;
  /** The learning rate the next update uses (read with `getHyperparam`, set with `setHyperparam`). */
  learningRate: number;
}

const MADGRAD_KEYS = ['momentum', 'eps'];

/**
 * MADGRAD's step (Defazio & Jelassi 2021, "Adaptivity without Compromise: A Momentumized,
 * Adaptive, Dual Averaged Gradient Method for Stochastic Optimization", arXiv:2101.11075), as
 * optax contrib: dual averaging from the parameters at `init`, `x0`, with a cube-root
 * denominator, and momentum as an average of iterates. With `k = count`, `lr` the learning rate
 * of this update and `p` the current parameters:
 *
 *     lambda = (lr + eps) * sqrt(k + 1)          (float64, once per step)
 *     G = G + lambda * g^2
 *     s = s + lambda * g
 *     z = x0 - s / (cbrt(G) + eps)
 *     u = (1 - momentum) * z + momentum * p - p
 *
 * The update is the step to the new parameters itself: the learning rate is inside (it weights
 * the sums), and no sign flip follows. `eps` is added to the learning rate too, as optax and the
 * authors' PyTorch code do. The cube root is `tf.pow(G, 1/3)`, with `1/3` rounded to float32
 * (within a few ulps of optax's `cbrt`). Needs `params`, and the real parameters at `init`.
 * Composite on every backend (no fused kernel: the element steps have no cube root).
 * Defaults: `momentum = 0.9, eps = 1e-6`. State: `{ count, gradSumSq, s, x0, learningRate }`.
 * @group Transforms
 */
export function scaleByMadgrad(learningRate: ScalarOrSchedule, options: ScaleByMadgradOptions = {}): GradientTransformation<ScaleByMadgradState> {
  const owner = ownerOr('scaleByMadgrad');
  checkOptions(owner, options, MADGRAD_KEYS);
  const momentum = checkRate(owner, 'momentum', options.momentum ?? 0.9);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-6, { min: 0 });
  const lr = new HyperRate(owner, 'learningRate', learningRate);
  const layout = { count: 'count', gradSumSq: 'nonNegativeTree', s: 'tree', x0: 'tree', learningRate: lr } as const;
  return declareState<ScaleByMadgradState>(owner, layout, {
    init: (params) => ({
      count: 0,
      gradSumSq: stateLike(owner, params),
      s: stateLike(owner, params),
      x0: tidy(() => mapFloatLeaves(owner, ['params'], [params], (x) => tf.clone(x))),
      learningRate: lr.at(0),
    }),
    update: <U extends Updates>(updates: U, state: ScaleByMadgradState, params?: Params): [U, ScaleByMadgradState] => {
      if (params === undefined) throw missingParams(owner);
      const k = state.count;
      const learningRate = lr.next(state.learningRate, k);
      const lambda = (state.learningRate + eps) * Math.sqrt(k + 1);
      return tidy(() => {
        const [lambdaS, epsS, third, keepS, moveS] = [lambda, eps, 1 / 3, momentum, 1 - momentum].map((x) => tf.scalar(x));
        const [u, gradSumSq, s] = mapFloatLeavesN(
          owner,
          ['updates', 'state.gradSumSq', 'state.s', 'state.x0', 'params'],
          [updates, state.gradSumSq, state.s, state.x0, params],
          3,
          (g, gSq, sum, x0, p) => {
            const t = new Scratch();
            const gSq1 = t.keep(t.add(gSq, t.mul(lambdaS, t.square(g))));
            const sum1 = t.keep(t.add(sum, t.mul(lambdaS, g)));
            const sigma = t.add(t.op(tf.pow(gSq1, third), gSq1), epsS);
            const z = t.sub(x0, t.div(sum1, sigma));
            return [t.sub(t.add(t.mul(moveS, z), t.mul(keepS, p)), p), gSq1, sum1];
          },
        );
        return [u as U, { count: k + 1, gradSumSq: gradSumSq as Params, s: s as Params, x0: state.x0, learningRate }];
      });
    },
  });
}
