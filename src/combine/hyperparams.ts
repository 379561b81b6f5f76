import { isOptimizer, type OptimizerAlias } from '../internal/aliases.js';
import { HyperRate } from '../internal/hyper.js';
import { checkOptions } from '../internal/options.js';
import { declareState, layoutOf, refreshHyperparams, subState, type FieldKind, type HyperField, type StateLayout } from '../internal/state.js';
import { fusedApply, runsFused } from '../kernels/fused.js';
import { withFusedWrapper } from '../internal/record.js';
import { findOne, replaceAt } from '../tree/lookup.js';
import { describeNode, formatPath, isPlainObject } from '../tree/walk.js';
import type { GradientTransformation, ScalarOrSchedule, Schedule, StateOf } from '../types.js';

/**
 * Reading and setting hyperparameters in a state. Every transformation whose option may be a
 * number or a schedule (a learning rate, a weight-decay rate) keeps in its state, under the
 * option's name, the value its **next** update will use; `injectHyperparams` does the same for
 * any numeric option of any optimizer.
 */

/** A step count is not a hyperparameter. */
const isHyperparam = (value: unknown, key: string | number): boolean => typeof value === 'number' && key !== 'count';

/**
 * The hyperparameter `name` in a state, wherever it is (chains, wrappers, `injectHyperparams`):
 * the value the next update will use.
 *
 *     getHyperparam(state, 'learningRate')        // adam(schedule) after k updates: schedule(k)
 *     getHyperparam(state, 'opt.learningRate')    // namedChain entry 'opt'
 *     getHyperparam(state, '1.weightDecay')       // position 1 of a chain
 *
 * A dotted path picks one place when a name is at several: its parts (keys, chain positions,
 * `namedChain` names, `partition` labels) must appear in that order on the way down. In an
 * `injectHyperparams` state, the injected value is found rather than the inner optimizer's copy
 * of it.
 *
 * @throws Error when the state has no such number (the message lists the names it has) or has
 * it at more than one place (the message lists the paths).
 * @group Hyperparameters
 */
export function getHyperparam(state: unknown, name: string): number {
  return findOne('getHyperparam', state, name, isHyperparam, 'hyperparameter').value as number;
}

/**
 * A new state whose next update uses `value` for the hyperparameter `name` (found as
 * {@link getHyperparam} finds it). Nothing is mutated: the result shares every tensor and every
 * untouched part with `state`. A value set for a constant option stays until set again; one set
 * for a scheduled option is used once, and the schedule gives the value after.
 *
 *     state = setHyperparam(state, 'learningRate', 1e-4);
 *
 * The value is checked here, before anything is made: it must be a number (`TypeError`) and
 * finite (`RangeError`), and a learning rate (a place named `learningRate`, injected or not) must
 * be `>= 0`, as every learning rate of this library is. A state does not say which
 * transformation made it, so the other bounds a hyperparameter has (a weight decay `>= 0`, `b1`
 * in `[0, 1)`, ...) are checked by the transformation at its next update, before it computes or
 * changes anything; an `OptaxOptimizer`'s `setHyperparam` (see `toTfOptimizer`), which knows
 * its transformation, checks them when the value is set.
 *
 * @throws TypeError or RangeError for a value outside these bounds (naming the hyperparameter,
 * its path in the state, the value and what was expected); the errors of {@link getHyperparam}
 * for a name that is missing or ambiguous.
 * @group Hyperparameters
 */
export function setHyperparam<S>(state: S, name: string, value: number): S {
  const owner = 'setHyperparam';
  const place = findHyperparam(owner, state, name);
  checkHyperparamValue(owner, name, place.path, value);
  return replaceAt(state, place.path, value) as S;
}

/** The place of the hyperparameter `query` in a state (see {@link getHyperparam}). @internal */
export function findHyperparam(owner: string, state: unknown, query: string): { path: Array<string | number>; value: number } {
  const place = findOne(owner, state, query, isHyperparam, 'hyperparameter');
  return { path: place.path, value: place.value as number };
}

/**
 * The lowest value a hyperparameter may take, by the name it has in a state, where every
 * transformation of this library that keeps one agrees (the state layouts' `HyperField.min`;
 * test/combine/hyperparams.test.ts checks this against every exported optimizer). An
 * `injectHyperparams` value of that name gets the same bound: it is passed to the option.
 */
const LOWEST_BY_NAME: ReadonlyMap<string, number> = new Map([['learningRate', 0]]);

/**
 * Checks a value about to be set for the hyperparameter at `path` of a state (`query` is what the
 * caller asked for): a number, finite, and at least the bound of its name and, when the
 * transformation's layout is known, of its `field`. Throws naming all of these; returns the value.
 * @internal
 */
export function checkHyperparamValue(
  owner: string,
  query: string,
  path: ReadonlyArray<string | number>,
  value: unknown,
  field?: HyperField,
): number {
  const key = String(path[path.length - 1]);
  const min = Math.max(field?.min ?? -Infinity, LOWEST_BY_NAME.get(key) ?? -Infinity);
  const expected = `a finite number${min > -Infinity ? ` >= ${min}` : ''}`;
  const where = `the value for '${query}' (${formatPath(path, 'state')})`;
  if (typeof value !== 'number') throw new TypeError(`${owner}: ${where} must be ${expected}, got ${describeNode(value)}; nothing was changed`);
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`${owner}: ${where} must be ${expected}, got ${value}; nothing was changed`);
  }
  return value;
}

/**
 * The `HyperField` a transformation's layout declares at `path` of its state, or `undefined`
 * where the layout says nothing (a user's own transformation, or a number that is not a declared
 * hyperparameter).
 * @internal
 */
export function hyperFieldAt(layout: StateLayout | null, path: ReadonlyArray<string | number>): HyperField | undefined {
  let current: StateLayout | null = layout;
  for (let i = 0; i < path.length; i++) {
    if (current === null) return undefined;
    if (Array.isArray(current)) {
      current = typeof path[i] === 'number' ? ((current as readonly (StateLayout | null)[])[path[i] as number] ?? null) : null;
      continue;
    }
    const fields = current as Readonly<Record<string, FieldKind>>;
    const key = String(path[i]);
    if (!Object.prototype.hasOwnProperty.call(fields, key)) return undefined;
    const kind = fields[key];
    if (typeof kind === 'string') return undefined;
    if (kind.kind === 'hyper') return i === path.length - 1 ? kind : undefined;
    current = kind.layout;
  }
  return undefined;
}

/**
 * State of {@link injectHyperparams}.
 * @group Hyperparameters
 */
export interface InjectHyperparamsState<S = unknown> {
  /** Updates done. */
  count: number;
  /** The value of each injected hyperparameter that the next update will use. */
  hyperparams: Record<string, number>;
  /** The state of the optimizer built from them. */
  inner: S;
}

/**
 * Options of {@link injectHyperparams}.
 * @group Hyperparameters
 */
export interface InjectHyperparamsOptions {
  /** Numeric options to pass as they are, not kept in the state (optax's `static_args`). */
  static?: readonly string[];
}

/**
 * An optimizer's options with every numeric one allowed to be a schedule too.
 * @inline
 */
type Injectable<O> = { [K in keyof O]?: number extends NonNullable<O[K]> ? O[K] | Schedule : O[K] };

/**
 * The hyperparameters for a factory of one object: its numbers may be schedules.
 * @inline
 */
type InjectableOf<H> = { [K in keyof H]: number extends H[K] ? H[K] | Schedule : H[K] };

/**
 * Makes an optimizer's numeric options part of its state, where they can be read and changed
 * between steps (optax's `inject_hyperparams`).
 *
 *     const tx = injectHyperparams(adamw)({ learningRate: warmupCosine, weightDecay: 1e-2, b1: 0.9 });
 *     let state = tx.init(params);
 *     state = setHyperparam(state, 'b1', 0.95);          // used from the next update on
 *     getHyperparam(state, 'learningRate');              // the rate the next update uses
 *
 *     injectHyperparams((h: { lr: number; maxDelta: number }) => chain(clip(h.maxDelta), sgd(h.lr)))({ lr: 0.1, maxDelta: 1 })
 *
 * `factory` is one of this library's optimizers, called as `factory(h.learningRate, rest)`, or a
 * function of one object. Each numeric field of the hyperparameters may be a number or a
 * schedule; booleans, masks (the `mask` option is never taken for a schedule), trees and the
 * names in `static` are passed through as given. Before every update the optimizer is built
 * from the current values (a JS call, no tensors; reused while the values stay the same) and
 * its state's own copies of them are reset to these values, so the inner optimizer must keep
 * the same state structure for every value.
 *
 * State: `{ count, hyperparams, inner }`: `hyperparams` holds, for each injected name, the value
 * the **next** update uses (a schedule's value at `count`; optax's state holds the value the
 * last update used, see optax #415). A value set with {@link setHyperparam} is used by the next
 * update; a constant keeps it, a schedule moves on from its next count. With every value equal,
 * the result equals the plain optimizer bit for bit, and it runs the same fused kernel
 * (`kernelPath` reports it).
 *
 * @typeParam F The optimizer's own type (`typeof adamw`): its options type gives the
 *   hyperparameters' names, and its state type the inner state's.
 * @group Hyperparameters
 */
export function injectHyperparams<F extends OptimizerAlias>(
  factory: F,
  options?: InjectHyperparamsOptions,
): (
  hyperparams: { learningRate: ScalarOrSchedule } & Injectable<NonNullable<Parameters<F>[1]>>,
) => GradientTransformation<InjectHyperparamsState<StateOf<ReturnType<F>>>>;
export function injectHyperparams<H, T extends GradientTransformation<any>>(
  factory: (hyperparams: H) => T,
  options?: InjectHyperparamsOptions,
): (hyperparams: InjectableOf<H>) => GradientTransformation<InjectHyperparamsState<StateOf<T>>>;
export function injectHyperparams(
  factory: (...args: any[]) => GradientTransformation<any>,
  options: InjectHyperparamsOptions = {},
): (hyperparams: Record<string, unknown>) => GradientTransformation<InjectHyperparamsState> {
  const owner = 'injectHyperparams';
  checkOptions(owner, options, ['static']);
  if (typeof factory !== 'function') {
    throw new TypeError(`${owner}: expected an optimizer or a function of the hyperparameters, got ${describeNode(factory)}`);
  }
  const statics = options.static ?? [];
  if (!Array.isArray(statics) || statics.some((s) => typeof s !== 'string')) {
    throw new TypeError(`${owner}: option 'static' must be an array of option names, got ${describeNode(statics)}`);
  }
  const alias = isOptimizer(factory);
  const name = alias && factory.name ? `${owner}(${factory.name})` : owner;
  return (hyperparams) => {
    if (!isPlainObject(hyperparams)) throw new TypeError(`${name}: expected an object of hyperparameters, got ${describeNode(hyperparams)}`);
    if (alias && hyperparams.learningRate === undefined) throw new TypeError(`${name}: 'learningRate' is required`);
    for (const s of statics) {
      if (!(s in hyperparams)) throw new TypeError(`${name}: option 'static' names '${s}', which the hyperparameters do not have`);
    }
    const rates: Record<string, HyperRate> = {};
    const fixed: Record<string, unknown> = {};
    for (const key of Object.keys(hyperparams)) {
      const value = hyperparams[key];
      const injected = !statics.includes(key) && key !== 'mask' && (typeof value === 'number' || typeof value === 'function');
      if (injected) rates[key] = new HyperRate(name, key, value, -Infinity);
      else fixed[key] = value;
    }
    const names = Object.keys(rates).sort();
    let cached: { key: string; tx: GradientTransformation<any> } | undefined;
    /** The optimizer for these values (the last one built, while they stay the same). */
    const build = (values: Record<string, number>): GradientTransformation<any> => {
      const key = names.map((n) => String(values[n])).join(',');
      if (cached?.key === key) return cached.tx;
      const h: Record<string, unknown> = { ...fixed, ...values };
      let tx: unknown;
      if (alias) {
        const { learningRate, ...rest } = h;
        tx = (factory as OptimizerAlias)(learningRate as number, rest);
      } else {
        tx = (factory as (h: unknown) => unknown)(h);
      }
      const t = tx as GradientTransformation<any> | null;
      if (t === null || typeof t !== 'object' || typeof t.init !== 'function' || typeof t.update !== 'function') {
        throw new TypeError(`${name}: the factory returned ${describeNode(tx)}, not a gradient transformation ({ init, update })`);
      }
      cached = { key, tx: t };
      return t;
    };
    const valuesAt = (count: number): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const n of names) out[n] = rates[n].at(count);
      return out;
    };
    const nextValues = (values: Record<string, number>, count: number): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const n of names) out[n] = rates[n].next(values[n], count);
      return out;
    };
    /** The inner optimizer for the state's values, and its state with its copies reset to them. */
    const innerFor = (state: InjectHyperparamsState): [GradientTransformation<any>, unknown] => {
      const inner = build(state.hyperparams);
      return [inner, refreshHyperparams(layoutOf(inner), state.inner, 'reset')];
    };
    // Built now, so that bad options fail at construction, as every optimizer's do.
    const first = build(valuesAt(0));
    const hyperLayout: Record<string, FieldKind> = {};
    for (const n of names) hyperLayout[n] = rates[n];
    const tx = declareState<InjectHyperparamsState>(
      name,
      { count: 'count', hyperparams: { kind: 'sub', layout: hyperLayout }, inner: subState(first) },
      {
        init: (params) => {
          const values = valuesAt(0);
          return { count: 0, hyperparams: values, inner: build(values).init(params) };
        },
        update: (updates, state, params, extra) => {
          const hyper = nextValues(state.hyperparams, state.count);
          const [inner, innerState] = innerFor(state);
          const [u, s] = inner.update(updates, innerState, params, extra);
          return [u, { count: state.count + 1, hyperparams: hyper, inner: s }];
        },
      },
    );
    return withFusedWrapper(tx, {
      fusable: (programsOnly) => runsFused(first, programsOnly),
      apply: (grads, state, params, inPlace, _sum, extra) => {
        const hyper = nextValues(state.hyperparams, state.count);
        const [inner, innerState] = innerFor(state);
        const out = fusedApply(inner, grads, innerState, params, inPlace, undefined, extra);
        return out && [out[0], { count: state.count + 1, hyperparams: hyper, inner: out[1] }];
      },
    });
  };
}
