import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, GradientTransformation, Params, StateOf, Updates } from '../types.js';
import { checkFloatTrees, flattenFloatTrees, mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkOptions, checkTransformation } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { declareState, subState } from '../internal/state.js';
import { treeL2Norm } from '../tree/math.js';
import { tidy } from '../tree/tidy.js';
import { describeNode } from '../tree/walk.js';

/**
 * Options of {@link mechanize}.
 * @group Wrappers and combinators
 */
export interface MechanizeOptions {
  /**
   * Mechanic's own weight decay, >= 0: `weightDecay * sum(s) * ||g|| / (||params|| + eps) * params`
   * is added to the gradient the scale is learned from (not to the base optimizer's). Default `1e-2`.
   */
  weightDecay?: number;
  /** Keeps the divisions finite, >= 0. Default `1e-8`. */
  eps?: number;
  /** The initial scale, spread over the betas (each starts at `sInit`, the wealth floor is `sInit / numBetas * m`), > 0. Default `1e-6`. */
  sInit?: number;
  /** How many averaging rates `beta_i = 1 - 0.1^i` (`i = 1..numBetas`) run side by side, a whole number >= 1. Default `6`. */
  numBetas?: number;
}

/**
 * State of {@link mechanize} (optax's `MechanicState`). The per-beta quantities are float32
 * tensors of shape `[numBetas]`, kept on the device as optax keeps them (no read-back per step).
 * @group Wrappers and combinators
 */
export interface MechanizeState<S = unknown> {
  /** Updates done so far. */
  count: number;
  /** The base optimizer's state. */
  baseOptimizerState: S;
  /** The reward of each beta (`r`). */
  r: tf.Tensor1D;
  /** The running maximum of `|h|` of each beta (`m`). */
  m: tf.Tensor1D;
  /** The discounted sum of `h^2` of each beta (`v`). */
  v: tf.Tensor1D;
  /** The scale of each beta (`s`); the step uses their sum. */
  s: tf.Tensor1D;
  /** The reference point: the parameters at the first update (copies). */
  x0: Params;
}

/** `<a, b>` over aligned leaves as a float32 scalar; leaves without elements add nothing. */
function treeDot(as: tf.Tensor[], bs: tf.Tensor[]): tf.Scalar {
  const terms = as.flatMap((a, i) => (a.size === 0 ? [] : [tf.sum(tf.mul(a, bs[i]))]));
  return (terms.length === 0 ? tf.scalar(0) : tf.addN(terms)) as tf.Scalar;
}

/**
 * Mechanic (Cutkosky, Defazio & Mehta 2023, "Mechanic: A Learning Rate Tuner",
 * arXiv:2306.00144), as optax contrib's `mechanize`: learns one scale `S` for the accumulated
 * updates of a base optimizer, so its learning rate need not be tuned (set it to 1, or keep a
 * schedule with a peak of 1):
 *
 *     const tx = mechanize(adam(1));
 *
 * The parameters move as `x = x0 + S * (sum of the base updates)`, with `x0` the parameters at
 * the first update. One update, with `u = base(g)`, `S = sum(s)` (of the state) and
 * `beta_i = 1 - 0.1^i`, `i = 1..numBetas` (float32), in optax's memory-efficient form:
 *
 *     g'    = g + weightDecay * S * ||g|| / (||x|| + eps) * x
 *     d     = (x0 - x) / (S + eps)              (the sum of the base updates so far)
 *     h     = <g', d>
 *     m     = max(beta m, |h| + eps)
 *     v     = beta^2 v + h^2
 *     r     = beta r + clamp(h, -m_old, m_old) * s
 *     s     = (sInit / numBetas * m + max(r, 0)) / (sqrt(v) + eps)
 *     x_new = x0 - sum(s) * (d - u)             update = x_new - x
 *
 * Norms and `h` are float32 scalars on the device (norms as `treeL2Norm`), the per-beta
 * quantities `[numBetas]` float32 tensors in the state. The base optimizer sees the raw gradient,
 * the params and `extra`, and runs its own way (a fused chain fused); Mechanic's arithmetic is tf
 * ops, composite on every backend. Needs `params`.
 *
 * Defaults: `weightDecay = 1e-2, eps = 1e-8, sInit = 1e-6, numBetas = 6` (optax's). State:
 * `{ count, baseOptimizerState, r, m, v, s, x0 }`; `x0` starts as copies of the params given to
 * `init` and is replaced by copies of the params at the first update (as optax, so that weights
 * loaded after `init` count).
 * @group Wrappers and combinators
 */
export function mechanize<T extends GradientTransformation<any>>(baseOptimizer: T, options: MechanizeOptions = {}): GradientTransformation<MechanizeState<StateOf<T>>> {
  const owner = 'mechanize';
  checkTransformation(owner, baseOptimizer, 'a base optimizer');
  checkOptions(owner, options, ['weightDecay', 'eps', 'sInit', 'numBetas']);
  const weightDecay = checkNumber(owner, 'weightDecay', options.weightDecay ?? 1e-2, { min: 0 });
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const sInit = checkNumber(owner, 'sInit', options.sInit ?? 1e-6, { min: 0, minInclusive: false });
  const numBetas = checkInteger(owner, 'numBetas', options.numBetas ?? 6, 1);
  const betas = Array.from({ length: numBetas }, (_, i) => 1 - 0.1 ** (i + 1));
  type State = MechanizeState<StateOf<T>>;
  const layout = { count: 'count', baseOptimizerState: subState(baseOptimizer), r: 'tree', m: 'nonNegativeTree', v: 'nonNegativeTree', s: 'nonNegativeTree', x0: 'tree' } as const;

  const copyOf = (params: Params) => tidy(() => mapFloatLeaves(owner, ['params'], [params], (p) => tf.clone(p)));
  const checkBetas = (state: State) => {
    for (const key of ['r', 'm', 'v', 's'] as const) {
      const t = state[key];
      if (t.rank !== 1 || t.shape[0] !== numBetas || t.dtype !== 'float32') {
        throw new Error(`${owner}: state.${key} must be a float32 tensor of shape [${numBetas}] (numBetas), got ${describeNode(t)}`);
      }
    }
  };

  return declareState<State>(owner, layout, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      const baseOptimizerState = baseOptimizer.init(params);
      const zeros = () => tf.zeros([numBetas]) as tf.Tensor1D;
      return { count: 0, baseOptimizerState, r: zeros(), m: zeros(), v: zeros(), s: tf.fill([numBetas], sInit) as tf.Tensor1D, x0: copyOf(params) };
    },
    update: <U extends Updates>(updates: U, state: State, params?: Params, extra?: ExtraArgs): [U, State] => {
      if (params === undefined || params === null) throw missingParams(owner);
      checkFloatTrees(owner, ['updates', 'params', 'state.x0'], [updates, params, state.x0]);
      checkBetas(state);
      return tidy(() => {
        const [base, baseOptimizerState] = baseOptimizer.update(updates, state.baseOptimizerState, params, extra);
        const x0 = state.count === 0 ? copyOf(params) : state.x0;
        const [[gs, xs, x0s, us], def] = flattenFloatTrees(owner, ['updates', 'params', 'state.x0', 'base optimizer updates'], [updates, params, x0, base]);
        const sSum = tf.sum(state.s);
        const epsS = tf.scalar(eps);
        // The gradient with Mechanic's weight decay, and the sum of the base updates so far.
        const decay = tf.div(tf.mul(tf.mul(tf.scalar(weightDecay), sSum), treeL2Norm(gs)), tf.add(treeL2Norm(xs), epsS));
        const gd = gs.map((g, i) => tf.add(g, tf.mul(decay, xs[i])));
        const denom = tf.add(sSum, epsS);
        const deltaPrev = xs.map((x, i) => tf.div(tf.sub(x0s[i], x), denom));
        const h = treeDot(gd, deltaPrev);
        // Per beta.
        const betaT = tf.tensor1d(betas);
        const clipped = tf.minimum(tf.maximum(h, tf.neg(state.m)), state.m);
        const m = tf.maximum(tf.mul(betaT, state.m), tf.add(tf.abs(h), epsS)) as tf.Tensor1D;
        const v = tf.add(tf.mul(tf.square(betaT), state.v), tf.square(h)) as tf.Tensor1D;
        const r = tf.add(tf.mul(betaT, state.r), tf.mul(clipped, state.s)) as tf.Tensor1D;
        const wealth = tf.add(tf.mul(tf.scalar(sInit / numBetas), m), tf.relu(r));
        const s = tf.div(wealth, tf.add(tf.sqrt(v), epsS)) as tf.Tensor1D;
        const scale = tf.sum(s);
        const out = xs.map((x, i) => {
          const t = new Scratch();
          const next = t.sub(x0s[i], t.mul(scale, t.sub(deltaPrev[i], us[i])));
          return t.sub(next, x);
        });
        const next: State = { count: state.count + 1, baseOptimizerState, r, m, v, s, x0 };
        return [def.unflatten(out) as U, next];
      });
    },
  });
}
