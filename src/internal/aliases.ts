import type { GradientTransformation, ScalarOrSchedule } from '../types.js';

/**
 * One of the library's optimizers: `name(learningRate, options?)`.
 * @inline
 */
export type OptimizerAlias = (learningRate: ScalarOrSchedule, options?: any) => GradientTransformation<any>;

/**
 * The library's optimizers, so that `injectHyperparams` can tell `adam` (called as
 * `adam(h.learningRate, rest)`) from a user's factory of one object.
 */
const aliases = new WeakSet<object>();

/**
 * Marks `fn` as one of the library's optimizers and returns it. Each optimizer is declared as
 * `export const adam = /* @__PURE__ *\/ optimizerAlias(function adam(...) {...})`: the annotation
 * lets a bundler drop the call, and with it the optimizer, from a bundle that does not use it (a
 * bare top-level registration call would keep every optimizer in every bundle).
 */
export function optimizerAlias<F extends OptimizerAlias>(fn: F): F {
  aliases.add(fn);
  return fn;
}

/** Whether `fn` is one of the library's optimizers. */
export function isOptimizer(fn: unknown): fn is OptimizerAlias {
  return typeof fn === 'function' && aliases.has(fn);
}
