import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, GradientTransformation, Params, StateOf, Updates } from '../types.js';
import { checkFloatTrees, flattenFloatTrees, mapFloatLeaves, missingParams } from '../internal/leaves.js';
import { checkBoolean, checkInteger, checkOptions, checkTransformation } from '../internal/options.js';
import { Scratch } from '../internal/scratch.js';
import { declareState, subState } from '../internal/state.js';
import { withGradientsRegistered } from '../tree/grad.js';
import { tidy } from '../tree/tidy.js';
import { describeNode } from '../tree/walk.js';
import { lossTensor, requireValueFn } from '../transforms/line-evaluation.js';

/**
 * Options of {@link sam}.
 * @group Wrappers and combinators
 */
export interface SamOptions {
  /** Steps per outer update: `syncPeriod - 1` adversarial steps, then one of the outer optimizer; a whole number >= 1. Default `2`. */
  syncPeriod?: number;
  /** Restart the adversarial optimizer's state (its `init`) at each outer update. Default `true`. */
  resetState?: boolean;
  /**
   * Run the adversarial steps inside each `update`, with gradients of `extra.valueFn`, so that
   * every update is an outer one (see {@link sam}). Default `false`.
   */
  opaqueMode?: boolean;
}

/**
 * State of {@link sam} (optax's `SAMState`).
 * @group Wrappers and combinators
 */
export interface SamState<O = unknown, A = unknown> {
  /** Updates done so far (optax's `steps_since_sync` is `count % syncPeriod`; always 0 in the opaque mode). */
  count: number;
  /** The outer optimizer's state. */
  optState: O;
  /** The adversarial optimizer's state. */
  advState: A;
  /** The parameters at the start of the current sync period, where the outer update starts from (copies); `null` in the opaque mode. */
  cache: Params | null;
}

/** A copy of the parameters (the state keeps them; the caller may free or overwrite theirs). */
function copyOf(owner: string, params: Params): Params {
  return tidy(() => mapFloatLeaves(owner, ['params'], [params], (p) => tf.clone(p)));
}

/**
 * SAM, sharpness-aware minimisation (Foret et al. 2021, "Sharpness-Aware Minimization for
 * Efficiently Improving Generalization", arXiv:2010.01412), as optax contrib's `sam`: steps of an
 * adversarial optimizer climb the loss away from the current parameters, and the outer optimizer
 * then steps from where they started with the gradient found up there. The paper's SAM is
 *
 *     sam(sgd(lr), chain(normalizeByUpdateNorm({ eps: 0 }), sgd(rho)))
 *
 * (`normalizeByUpdateNorm({ eps: 0 })` is optax contrib's `normalize()`: `g / ||g||`).
 *
 * In the default (transparent) mode each `update` is one step of one of the two, and the caller
 * takes every gradient, at the parameters the last update made. With `w` the parameters at the
 * start of a sync period (`cache`) and `k = count % syncPeriod`:
 *
 *     k < syncPeriod - 1:  u = -adv(g)                            (an adversarial step, uphill)
 *     k = syncPeriod - 1:  u = w + opt(g; params w) - params      (the outer step from w)
 *
 * `cache` becomes the parameters at each `k = 0`. The adversarial state is restarted (`init` at
 * the params) after the outer step with `resetState`, otherwise kept as it was before it. The
 * optimizer not stepping is not called (optax computes both and keeps one: the same numbers).
 *
 * With `opaqueMode: true` every `update` is a whole sync period: from the params `x` and the
 * gradient `g` given, `syncPeriod - 1` adversarial steps are taken inside, each followed by the
 * gradient of `extra.valueFn` at the point reached, and the outer optimizer steps from `x` with
 * the last gradient:
 *
 *     repeat syncPeriod - 1 times:  x' = x' - adv(g'),  g' = grad valueFn(x')     (x' = x, g' = g first)
 *     u = opt(g'; params x)
 *
 * so nothing outside sees the adversarial points (optax's opaque mode; needed when something
 * else changes at each update, such as batch-norm statistics). `update(grads, state, params,
 * { valueFn: (p) => loss(p, batch) })` (optax's `grad_fn`, here the loss, differentiated with
 * tfjs: it must compute a scalar tensor with tf ops from its argument, and gradients must be
 * registered, see `valueAndGrad`).
 *
 * Defaults: `syncPeriod = 2, resetState = true, opaqueMode = false`. State: `{ count, optState,
 * advState, cache }` (`cache`: copies of the params, `null` in the opaque mode). Needs `params`.
 * `extra` reaches both optimizers unchanged. Each inner optimizer runs its own way (a fused
 * chain fused); the wrapper's own arithmetic (`w - params + u`) is tf ops.
 *
 * Where this differs from optax: no `batchAxisName` (tfjs has no `pmean`); `count` is the total
 * number of updates, as everywhere in this library; optax's `grad_fn(params, i)` is `valueFn`,
 * a loss, called with the params only (close over the batch to vary it).
 * @group Wrappers and combinators
 */
export function sam<O extends GradientTransformation<any>, A extends GradientTransformation<any>>(
  optimizer: O,
  advOptimizer: A,
  options: SamOptions = {},
): GradientTransformation<SamState<StateOf<O>, StateOf<A>>> {
  const owner = 'sam';
  checkTransformation(owner, optimizer, 'an outer optimizer');
  checkTransformation(owner, advOptimizer, 'an adversarial optimizer');
  checkOptions(owner, options, ['syncPeriod', 'resetState', 'opaqueMode']);
  const syncPeriod = checkInteger(owner, 'syncPeriod', options.syncPeriod ?? 2, 1);
  const resetState = checkBoolean(owner, 'resetState', options.resetState ?? true);
  const opaque = checkBoolean(owner, 'opaqueMode', options.opaqueMode ?? false);
  type State = SamState<StateOf<O>, StateOf<A>>;
  const layout = { count: 'count', optState: subState(optimizer), advState: subState(advOptimizer), cache: 'any' } as const;

  const transparent = <U extends Updates>(updates: U, state: State, params: Params, extra?: ExtraArgs): [U, State] => {
    const cache = state.cache;
    if (cache === null || cache === undefined) throw new Error(`${owner}: state.cache is ${describeNode(cache)}; this state was made in the opaque mode`);
    checkFloatTrees(owner, ['updates', 'params', 'state.cache'], [updates, params, cache]);
    const k = state.count % syncPeriod;
    const count = state.count + 1;
    return tidy(() => {
      // The cache of this period: the params at its first step (copies, kept by the state).
      const start = k === 0 ? copyOf(owner, params) : cache;
      if (k < syncPeriod - 1) {
        const [adv, advState] = advOptimizer.update(updates, state.advState, params, extra);
        const u = mapFloatLeaves(owner, ['updates'], [adv], (x) => tf.neg(x));
        return [u as U, { count, optState: state.optState, advState, cache: start }];
      }
      const [outer, optState] = optimizer.update(updates, state.optState, start, extra);
      const u = mapFloatLeaves(owner, ['state.cache', 'params', 'updates'], [start, params, outer], (w, p, x) => {
        const s = new Scratch();
        return s.add(s.sub(w, p), x);
      });
      const advState = resetState ? advOptimizer.init(params) : state.advState;
      return [u as U, { count, optState, advState, cache: start }];
    });
  };

  const opaqueUpdate = <U extends Updates>(updates: U, state: State, params: Params, extra?: ExtraArgs): [U, State] => {
    checkFloatTrees(owner, ['updates', 'params'], [updates, params]);
    const valueFn = syncPeriod > 1 ? requireValueFn(owner, extra, 'whose gradient is taken at each adversarial point', `${owner}: opaqueMode`) : undefined;
    return tidy(() => {
      let point = params;
      let grads: Updates = updates;
      let advState = state.advState;
      for (let i = 0; i < syncPeriod - 1; i++) {
        const [adv, next] = advOptimizer.update(grads, advState, point, extra);
        advState = next;
        point = mapFloatLeaves(owner, ['params', 'updates'], [point, adv], (p, x) => tf.sub(p, x));
        grads = gradientAt(owner, valueFn!, point);
      }
      if (resetState) advState = advOptimizer.init(params);
      const [u, optState] = optimizer.update(grads, state.optState, params, extra);
      return [u as U, { count: state.count + 1, optState, advState, cache: null }];
    });
  };

  return declareState<State>(owner, layout, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return { count: 0, optState: optimizer.init(params), advState: advOptimizer.init(params), cache: opaque ? null : copyOf(owner, params) };
    },
    update: (updates, state, params, extra) => {
      if (params === undefined || params === null) throw missingParams(owner);
      return opaque ? opaqueUpdate(updates, state, params, extra) : transparent(updates, state, params, extra);
    },
  });
}

/** The gradient of `valueFn` at `params`, a tree like them (new tensors). */
function gradientAt(owner: string, valueFn: (params: Params) => tf.Scalar | number, params: Params): Updates {
  const [[leaves], def] = flattenFloatTrees(owner, ['params'], [params]);
  if (leaves.length === 0) return params;
  const grads = withGradientsRegistered(owner, () =>
    tf.grads((...xs: tf.Tensor[]) => lossTensor(owner, valueFn(def.unflatten(xs) as Params)))(leaves),
  );
  return def.unflatten(grads) as Updates;
}
