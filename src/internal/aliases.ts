import type { GradientTransformation, ScalarOrSchedule } from '../types.js';

/** One of the library's optimizers: `name(learningRate, options?)`. */
export type OptimizerAlias = (learningRate: ScalarOrSchedule, options?: any) => GradientTransformation<any>;

/**
 * The library's optimizers, so that `injectHyperparams` can tell `adam` (called as
 * `adam(h.learningRate, rest)`) from a user's factory of one object. A WeakSet filled by each
 * optimizer's module when it is loaded, so a bundle keeps only the optimizers it imports.
 */
const aliases = new WeakSet<object>();

/** Registers optimizers (see above). */
export function registerOptimizers(...fns: OptimizerAlias[]): void {
  for (const fn of fns) aliases.add(fn);
}

/** Whether `fn` is one of the library's optimizers. */
export function isOptimizer(fn: unknown): fn is OptimizerAlias {
  return typeof fn === 'function' && aliases.has(fn);
}
