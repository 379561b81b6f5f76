import * as tf from '@tensorflow/tfjs-core';
import { findAveraged } from '../combine/average-params.js';
import { formatPath, isPlainObject, isTensor } from '../tree/walk.js';
import { modelParams, type LayersModelLike } from './layers.js';
import { OptaxOptimizer } from './optimizer-class.js';

/**
 * Runs `fn` with a tfjs-layers model's trainable weights set to their averages, kept by
 * {@link averageParams}, then puts the model's own weights back exactly (bit for bit): to
 * evaluate, predict with or save the averaged model without a second copy of it.
 *
 * ```ts
 * model.compile({ optimizer: toTfOptimizer(averageParams(adamw(1e-3), { kind: 'ema' })), loss: 'meanSquaredError' });
 * await model.fit(xs, ys, { epochs: 10 });
 * const loss = await withAveragedWeights(model, model.optimizer as OptaxOptimizer, () => model.evaluate(xt, yt));
 * ```
 *
 * `stateOrOptimizer` is either the {@link OptaxOptimizer} training the model (from
 * {@link toTfOptimizer}; its current state is read) or a state of `averageParams` over
 * `modelParams(model)`; in both, the averageParams state may sit inside a chain or another
 * wrapper's state (`applyIfFinite(averageParams(...))`), and there must be exactly one. Its
 * averaged tree is keyed by variable name, as both of those are, and must hold every trainable
 * weight of the model (entries for other variables are ignored).
 *
 * `fn` may be asynchronous: its promise is returned, settling after the weights are restored.
 * The weights are restored also when `fn` throws or its promise rejects (the error is passed
 * on). While `fn` runs, the model holds the averaged weights: do not train it then. The averages
 * are copies, so `fn` cannot change the optimizer's state through the model. Non-trainable
 * weights (batch normalization's moving statistics) are left as they are.
 *
 * @throws TypeError when `stateOrOptimizer` holds no averageParams state, or more than one; Error
 * before the optimizer's first step, before the first average is taken (see
 * {@link averagedParams}), or when the averages lack one of the model's weights or have another
 * shape. The model is unchanged then, and `fn` is not called.
 * @group tfjs interop
 */
export function withAveragedWeights<R>(model: LayersModelLike, stateOrOptimizer: unknown, fn: () => R): R {
  const owner = 'withAveragedWeights';
  if (typeof fn !== 'function') throw new TypeError(`${owner}: expected a function to run as the third argument, got ${typeof fn}`);
  const variables = modelParams(model);
  const state = stateOf(owner, stateOrOptimizer);
  const [found, path] = findAveraged(owner, state);
  const averages = averagesFor(owner, found.averaged, formatPath([...path, 'averaged'], 'state'), variables);

  // The model's own values (tf.clone: copies on wasm, a counted share of the buffer on cpu),
  // then the averages, each a new tensor the variable takes over.
  const names = Object.keys(variables);
  const saved = names.map((name) => tf.keep(tf.clone(variables[name])));
  for (const [i, name] of names.entries()) {
    const copy = tf.clone(averages[i]);
    variables[name].assign(copy);
    copy.dispose();
  }
  const restore = (): void => {
    for (const [i, name] of names.entries()) {
      const v = variables[name];
      if (!v.isDisposed) v.assign(saved[i]);
      saved[i].dispose();
    }
  };

  let result: R;
  try {
    result = fn();
  } catch (err) {
    restore();
    throw err;
  }
  if (!isThenable(result)) {
    restore();
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      restore();
      return value;
    },
    (err: unknown) => {
      restore();
      throw err;
    },
  ) as R;
}

/** The state to look in: an OptaxOptimizer's current state, or the value given. */
function stateOf(owner: string, stateOrOptimizer: unknown): unknown {
  if (!(stateOrOptimizer instanceof OptaxOptimizer)) return stateOrOptimizer;
  const state = stateOrOptimizer.currentState;
  if (state === undefined) {
    throw new Error(
      `${owner}: the optimizer '${stateOrOptimizer.name}' has no state yet (it has not stepped since it was made or loaded), so nothing is averaged; train first`,
    );
  }
  return state;
}

/** The averaged tensor of each variable, in the order of `variables`, checked before any is used. */
function averagesFor(owner: string, averaged: unknown, where: string, variables: Record<string, tf.Variable>): tf.Tensor[] {
  if (!isPlainObject(averaged)) {
    throw new TypeError(`${owner}: ${where} must be keyed by variable name (average modelParams(model), or use the model's OptaxOptimizer)`);
  }
  return Object.keys(variables).map((name) => {
    const v = variables[name];
    const a = Object.prototype.hasOwnProperty.call(averaged, name) ? averaged[name] : undefined;
    if (!isTensor(a)) {
      const keys = Object.keys(averaged);
      const shown = keys.slice(0, 6).map((k) => `'${k}'`).join(', ') + (keys.length > 6 ? ', ...' : '');
      throw new Error(
        `${owner}: ${where} has no average of the model's weight '${name}' (it has ${shown || 'none'}); ` +
          `average this model's params (modelParams(model)), or pass the optimizer that trains it`,
      );
    }
    if (a.isDisposed) throw new Error(`${owner}: ${formatPath([name], where)} was disposed`);
    if (a.dtype !== v.dtype || a.shape.length !== v.shape.length || a.shape.some((d, i) => d !== v.shape[i])) {
      throw new Error(
        `${owner}: ${formatPath([name], where)} is a ${a.dtype} tensor of shape [${a.shape.join(', ')}], ` +
          `but the model's weight '${name}' is ${v.dtype} of shape [${v.shape.join(', ')}]`,
      );
    }
    return a;
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
