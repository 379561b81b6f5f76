import * as tf from '@tensorflow/tfjs-core';
import { checkFloatTrees, flattenFloatTrees, mapFloatLeaves, missingParams, stateLike } from '../internal/leaves.js';
import { checkBoolean, checkInteger, checkRate, checkRequired, checkTransformation } from '../internal/options.js';
import { declareState, subState } from '../internal/state.js';
import { withFusedWrapper } from '../internal/record.js';
import { findStatesWithFields, type FoundState } from '../internal/find-state.js';
import { fusedApply, runsFused } from '../kernels/fused.js';
import { fusedAdd, fusedAxpby } from '../kernels/tree-ops.js';
import { tidy } from '../tree/tidy.js';
import { describeNode, formatPath } from '../tree/walk.js';
import type { GradientTransformation, Params, StateOf } from '../types.js';

/**
 * State of {@link averageParams}.
 * @group Wrappers and combinators
 */
export interface AverageParamsState<S = unknown> {
  /** The inner transformation's state. */
  inner: S;
  /** Updates done so far (the next update is number `count`, counting from 0). */
  count: number;
  /**
   * The average so far, a tree like the params: for `'ema'` the moving average (bias-corrected
   * already with `debias`, see {@link averageParams}), for `'swa'` the mean of the `n` params
   * averaged. Read it with {@link averagedParams}.
   */
  averaged: Params;
  /** Params averaged so far: the updates that changed `averaged`. */
  n: number;
}

/**
 * Options of {@link averageParams}.
 * @group Wrappers and combinators
 */
export interface AverageParamsOptions {
  /** `'ema'`: an exponential moving average; `'swa'`: the plain mean (stochastic weight averaging). */
  kind: 'ema' | 'swa';
  /** The moving average's decay, in [0, 1); `'ema'` only. Default `0.999`. */
  decay?: number;
  /** The first update whose params are averaged (counting from 0), a whole number >= 0. Default `0`. */
  start?: number;
  /** Average the params after every `every`-th update from `start` on, a whole number >= 1. Default `1`. */
  every?: number;
  /** Start the moving average at zero and divide it by `1 - decay^n`, as optax's `ema`; `'ema'` only. Default `false`. */
  debias?: boolean;
}

/** What one update does to the average: whether it averages, and `a = alpha * a + beta * p`. */
interface Plan {
  average: boolean;
  alpha: number;
  beta: number;
}

/**
 * Keeps an average of the parameters beside any optimizer: an exponential moving average
 * (`kind: 'ema'`, Keras's `use_ema`, timm's `ModelEma`) or the plain mean of the parameters
 * along the run (`kind: 'swa'`, stochastic weight averaging, Izmailov et al. 2018, as PyTorch's
 * `torch.optim.swa_utils.AveragedModel`). The updates are `inner`'s, unchanged: the average is
 * for evaluating, predicting and saving (read it with {@link averagedParams}, or evaluate a
 * layers model with it through {@link withAveragedWeights}).
 *
 *     averageParams(adamw(1e-3), { kind: 'ema', decay: 0.999 })
 *     averageParams(sgd(0.05), { kind: 'swa', start: 1000, every: 100 })
 *
 * After update number `k` (counting from 0), with `p = params + updates` the new parameters,
 * the updates `k = start, start + every, start + 2 every, ...` average `p`:
 *
 *     ema:                a = decay * a + (1 - decay) * p       a starts as the params given to init
 *     ema, debias: true:  z = decay * z + (1 - decay) * p       z starts at 0; the average is z / (1 - decay^n)
 *     swa:                a = (n * a + p) / (n + 1)             the mean of the n params averaged
 *
 * (`n` counts the averaging updates; the params given to `init` are not among those `'swa'`
 * averages.) Every form is computed as `a = alpha * a + beta * p` with `alpha` and `beta` JS
 * numbers computed per update in float64 (`'swa'`: `n / (n + 1)` and `1 / (n + 1)`), the
 * float32 operations of `tf.add(tf.mul(a, alpha), tf.mul(p, beta))`. With `debias`, the state
 * keeps the bias-corrected average `a = z / (1 - decay^n)` itself, updated with
 * `alpha = decay (1 - decay^(n-1)) / (1 - decay^n)` and `beta = (1 - decay) / (1 - decay^n)`:
 * the same numbers as optax's, and {@link averagedParams} needs nothing but the state to read it.
 *
 * `update` needs `params`. Put `averageParams` around the whole optimizer (outermost, or inside
 * wrappers that call it only for real updates, such as `multiSteps` and `applyIfFinite`): it
 * averages `params + ` its inner transformation's updates, which are the new parameters only
 * when nothing after it changes them. Only the trainable parameters are averaged; a model's
 * non-trainable statistics (batch normalization's moving mean and variance) are not, so
 * recompute them with the averaged weights where they matter (PyTorch's `update_bn`).
 *
 * Where the inner optimizer runs a fused kernel, so does the wrapper (`kernelPath` reports the
 * inner's): under `trainStep`, the inner kernel writes the new parameters and its state, then one
 * more kernel pass updates the average, in place where nothing else holds its buffers.
 *
 * Defaults: `decay = 0.999`, `start = 0`, `every = 1`, `debias = false`. `decay` and `debias`
 * apply to `'ema'` only, and giving them with `'swa'` is an error.
 * State: `{ inner, count, averaged, n }`; checkpoints save it as any other.
 * @group Wrappers and combinators
 */
export function averageParams<T extends GradientTransformation<any>>(
  inner: T,
  options: AverageParamsOptions,
): GradientTransformation<AverageParamsState<StateOf<T>>> {
  const owner = 'averageParams';
  checkTransformation(owner, inner);
  checkRequired(owner, options, ['kind'], ['kind', 'decay', 'start', 'every', 'debias']);
  const kind = checkKind(owner, options.kind);
  const decay = checkRate(owner, 'decay', options.decay ?? 0.999);
  const start = checkInteger(owner, 'start', options.start ?? 0, 0);
  const every = checkInteger(owner, 'every', options.every ?? 1, 1);
  const debias = checkBoolean(owner, 'debias', options.debias ?? false);
  if (kind === 'swa') {
    for (const name of ['decay', 'debias'] as const) {
      if (options[name] !== undefined) {
        throw new TypeError(`${owner}: option '${name}' applies to kind 'ema' only (kind 'swa' averages with equal weights), got ${describeNode(options[name])}`);
      }
    }
  }
  type S = AverageParamsState<StateOf<T>>;

  /** What update number `count` does, with `n` params averaged before it. */
  const planAt = (count: number, n: number): Plan => {
    if (count < start || (count - start) % every !== 0) return { average: false, alpha: 1, beta: 0 };
    if (kind === 'swa') return { average: true, alpha: n / (n + 1), beta: 1 / (n + 1) };
    if (!debias) return { average: true, alpha: decay, beta: 1 - decay };
    const before = oneMinusPow(decay, n);
    const after = oneMinusPow(decay, n + 1);
    return { average: true, alpha: (decay * before) / after, beta: (1 - decay) / after };
  };

  /** `a * alpha + p * beta` per leaf, fused where a kernel exists (in place with `inPlace`). */
  const average = (acc: readonly tf.Tensor[], p: readonly tf.Tensor[], { alpha, beta }: Plan, inPlace: boolean): tf.Tensor[] =>
    fusedAxpby(owner, acc, p, alpha, beta, inPlace) ??
    tf.tidy(() => {
      const a = tf.scalar(alpha);
      const b = tf.scalar(beta);
      return acc.map((x, j) => tf.add(tf.mul(x, a), tf.mul(p[j], b)));
    });

  /** The averaged leaves and the structure, checked against `params` before anything is made. */
  const leavesOf = (params: Params, state: S) => {
    const [[, acc], def] = flattenFloatTrees(owner, ['params', 'state.averaged'], [params, state.averaged]);
    return { acc, def };
  };

  const tx = declareState<S>(
    owner,
    { inner: subState(inner), count: 'count', averaged: 'tree', n: 'count' },
    {
      init: (params) => {
        checkFloatTrees(owner, ['params'], [params]);
        const innerState = inner.init(params);
        const averaged =
          kind === 'ema' && !debias ? tidy(() => mapFloatLeaves(owner, ['params'], [params], (p) => tf.clone(p)) as Params) : stateLike(owner, params);
        return { inner: innerState, count: 0, averaged, n: 0 };
      },
      update: (updates, state, params, extra) => {
        if (params === undefined || params === null) throw missingParams(owner);
        const plan = planAt(state.count, state.n);
        const { acc, def } = leavesOf(params, state);
        return tidy(() => {
          const [u, innerState] = inner.update(updates, state.inner, params, extra);
          const count = state.count + 1;
          if (!plan.average) return [u, { inner: innerState, count, averaged: state.averaged, n: state.n }];
          const [[p0, du]] = flattenFloatTrees(owner, ['params', `updates of ${owner}'s inner transformation`], [params, u]);
          const p = fusedAdd(p0, du) ?? p0.map((x, j) => tf.add(x, du[j]));
          const averaged = def.unflatten(average(acc, p, plan, false)) as Params;
          return [u, { inner: innerState, count, averaged, n: state.n + 1 }];
        }) as [typeof updates, S];
      },
    },
  );
  return withFusedWrapper(tx, {
    fusable: (programsOnly) => runsFused(inner, programsOnly),
    apply: (grads, state, params, inPlace, _sum, extra) => {
      // Every check and scalar before the inner kernel writes anything.
      const plan = planAt(state.count, state.n);
      const { acc, def } = leavesOf(params, state);
      const out = fusedApply(inner, grads, state.inner, params, inPlace, undefined, extra);
      if (out === undefined) return undefined;
      const count = state.count + 1;
      if (!plan.average) return [out[0], { inner: out[1], count, averaged: state.averaged, n: state.n }];
      const [[p]] = flattenFloatTrees(owner, ['params'], [out[0]]);
      const averaged = def.unflatten(average(acc, p, plan, inPlace)) as Params;
      return [out[0], { inner: out[1], count, averaged, n: state.n + 1 }];
    },
  });
}

function checkKind(owner: string, kind: unknown): 'ema' | 'swa' {
  if (kind === 'ema' || kind === 'swa') return kind;
  const message = `${owner}: option 'kind' must be 'ema' or 'swa', got ${typeof kind === 'string' ? JSON.stringify(kind) : describeNode(kind)}`;
  throw typeof kind === 'string' ? new RangeError(message) : new TypeError(message);
}

/** `1 - decay^n` in float64, accurate also where `decay^n` is close to 1. */
function oneMinusPow(decay: number, n: number): number {
  if (n === 0) return 0;
  if (decay === 0) return 1;
  return -Math.expm1(n * Math.log(decay));
}

const FIELDS = ['averaged', 'count', 'inner', 'n'];

/**
 * The one {@link averageParams} state in `state` (itself or nested in a chain or another
 * wrapper's state) and its path, after checking that it has averaged something: `n >= 1`.
 * @internal
 */
export function findAveraged(owner: string, state: unknown): FoundState {
  const found = findStatesWithFields(state, FIELDS);
  if (found.length === 0) {
    throw new TypeError(`${owner}: expected the state of averageParams ({${FIELDS.join(', ')}}) or a state holding one, got ${describeNode(state)}`);
  }
  if (found.length > 1) {
    throw new TypeError(
      `${owner}: the state holds ${found.length} averageParams states, at ${found.map(([, p]) => formatPath(p, 'state')).join(', ')}; pass the one you mean`,
    );
  }
  const [avg, path] = found[0];
  const n = avg.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new TypeError(`${owner}: ${formatPath([...path, 'n'], 'state')} must be a whole number >= 0 (the params averaged), got ${describeNode(n)}`);
  }
  if (n === 0) {
    throw new Error(
      `${owner}: nothing has been averaged yet (${formatPath([...path, 'n'], 'state')} is 0): ` +
        `the first average is taken after update number 'start' (0 by default); step the optimizer first`,
    );
  }
  return found[0];
}

/**
 * The averaged parameters of an {@link averageParams} state: the moving average (`'ema'`,
 * divided by `1 - decay^n` with `debias`) or the mean (`'swa'`) of the parameters after the
 * averaged updates. `state` is the state of `averageParams` or a state holding exactly one
 * (inside `applyIfFinite`, `multiSteps`, `injectHyperparams`, a chain, an `OptaxOptimizer`'s
 * `currentState`). Returns new tensors: nothing is shared with the state, so they can be disposed
 * (or trained further) freely.
 *
 * @throws TypeError when `state` holds no averageParams state, or more than one.
 * @throws Error before the first average is taken (`n` is 0: no update numbered `start` or after
 * has run yet). For `'swa'` there is nothing to return then; for `'ema'` the average would be
 * the params given to `init`, which the caller already has.
 * @group Wrappers and combinators
 */
export function averagedParams(state: unknown): Params {
  const owner = 'averagedParams';
  const [found, path] = findAveraged(owner, state);
  const name = formatPath([...path, 'averaged'], 'state');
  return tidy(() => mapFloatLeaves(owner, [name], [found.averaged as Params], (a) => tf.clone(a)) as Params);
}
