import * as tf from '@tensorflow/tfjs-core';
import type { EmptyState, ExtraArgs, GradientTransformation, Params, PyTree, TensorTree, Updates } from '../types.js';
import { checkOptions, checkTransformation } from '../internal/options.js';
import { declareState, layoutOf } from '../internal/state.js';
import { asOwner } from '../internal/owner.js';
import { withRecord } from '../internal/record.js';
import type { StepObserver } from '../internal/element-step.js';
import { tidy } from '../tree/tidy.js';
import { treeMap } from '../tree/structure.js';
import { treeL2Norm } from '../tree/math.js';
import { findOne } from '../tree/lookup.js';
import { describeNode, forEachLeaf, isPlainObject, isTensor } from '../tree/walk.js';
import { disposeReplaced } from '../tree/memory.js';
import { ema, type EmaState } from '../transforms/ema.js';
import { chain } from './chain.js';

/**
 * A measurement of the updates: a tensor or a tree of tensors computed from them (a norm, a
 * count of clipped elements, the updates themselves). It must not keep or dispose its input.
 * @group Telemetry
 */
export type Measure = (updates: Updates) => tf.Tensor | TensorTree<Updates>;

/**
 * State of {@link snapshot}: the last measurement, under its name.
 * @group Telemetry
 */
export interface SnapshotState {
  /** `{ [name]: measurement }`: the measure of the last updates (of the params after `init`). */
  measurement: Record<string, tf.Tensor | PyTree>;
}

/**
 * State of {@link monitor}: the last measurement of each measure (NaN before the first update),
 * and the states of the measures that are transformations, in the order given.
 * @group Telemetry
 */
export interface MonitorState {
  /**
   * The measurement of the last updates by name; before the first update, NaN in the shape a
   * measurement will have (optax starts with `{}`; a state that keeps its structure saves, loads
   * and steps under `toTfOptimizer` as any other).
   */
  measurements: Record<string, tf.Tensor | PyTree>;
  /** Each measure's own state, in the order the measures were given (`{}` for a function). */
  measureStates: unknown[];
}

/** Checks a measurement's name (non-empty, no dots: dots separate the parts of a path). */
function checkName(owner: string, name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new TypeError(`${owner}: a measurement's name must be a non-empty string without dots, got ${describeNode(name)}`);
  }
  return name;
}

/**
 * `measure(updates)` inside a tidy: what it returns is kept, its temporaries freed. A tensor of
 * the updates returned as it is (an identity measure) is copied: the state must not hold the
 * caller's gradients, which the next step would free with the old state.
 */
function measureOf(owner: string, name: string, measure: Measure, updates: Updates): tf.Tensor | PyTree {
  const given = new Set<tf.Tensor>();
  forEachLeaf(updates as PyTree, (t) => void given.add(t), { others: 'skip', sorted: false });
  const out = tidy(() => {
    const m = measure(updates) as PyTree;
    return (isTensor(m) ? (given.has(m) ? tf.clone(m) : m) : treeMap((t: tf.Tensor) => (given.has(t) ? tf.clone(t) : t), m)) as tf.TensorContainer;
  });
  let tensors = 0;
  forEachLeaf(out as PyTree, () => void tensors++, { owner, name: `measurement '${name}'`, others: 'skip', sorted: false });
  if (!isTensor(out) && tensors === 0) {
    throw new TypeError(`${owner}: the measure '${name}' must return a tensor or a tree of tensors, got ${describeNode(out)}`);
  }
  return out as tf.Tensor | PyTree;
}

/**
 * Stores a measurement of the updates in the state under `name` and passes the updates on
 * unchanged (optax's `snapshot`): `chain(sgd(0.1), snapshot('normBeforeClip', globalNorm),
 * clipByGlobalNorm(1))` records the norm the clip sees. As optax, `init` measures the params.
 * The measurement stays on the device; read it with {@link getMeasurement}.
 * @group Telemetry
 */
export function snapshot(name: string, measure: Measure): GradientTransformation<SnapshotState> {
  const owner = 'snapshot';
  checkName(owner, name);
  if (typeof measure !== 'function') throw new TypeError(`${owner}: measure must be a function of the updates, got ${describeNode(measure)}`);
  const measured = (updates: Updates, sumOfSquares?: number): SnapshotState => ({
    measurement: { [name]: measureOrNorm(owner, name, measure, updates, sumOfSquares) },
  });
  const tx = declareState<SnapshotState>(owner, { measurement: 'any' }, {
    init: (params) => ({ measurement: { [name]: measureOf(owner, name, measure, params) } }),
    update: (updates) => [updates, measured(updates)],
  });
  return asObserver(tx, { usesSumOfSquares: measure === globalNorm, observe: (updates, _, __, ___, sum) => measured(updates, sum) });
}

/**
 * `measure(updates)`, or for {@link globalNorm} where the fused path has the updates' sum of
 * squares in float64, its square root (the norm to float32 rounding, as `treeL2Norm`'s is).
 */
function measureOrNorm(owner: string, name: string, measure: Measure, updates: Updates, sumOfSquares: number | undefined): tf.Tensor | PyTree {
  return measure === globalNorm && sumOfSquares !== undefined ? tf.scalar(Math.sqrt(sumOfSquares)) : measureOf(owner, name, measure, updates);
}

/**
 * Records `tx` as an observer: at the head of a fused chain its measurements are taken before
 * the kernel runs the rest (see StepParts.observers).
 */
function asObserver<S>(tx: GradientTransformation<S>, observer: StepObserver<S>): GradientTransformation<S> {
  return withRecord(tx, { steps: { parts: [], observers: [{ observer: observer as StepObserver<unknown>, get: (s) => s, set: (_, inner) => inner as S }] } });
}

/** A measure as a transformation: its "updates" out are the measurement (optax's convention). */
function measureTransformation(owner: string, name: string, measure: Measure): GradientTransformation<EmptyState> {
  return {
    init: () => ({}),
    update: (updates) => [measureOf(owner, name, measure, updates) as unknown as typeof updates, {}],
  };
}

/**
 * Records several measurements of the updates and passes the updates on unchanged (optax's
 * `monitor`). Each entry is a {@link Measure} (stateless), or a transformation whose output is
 * the measurement (stateful: {@link measureWithEma}). The state is `{ measurements,
 * measureStates }`; before the first update each measurement is NaN (optax's is absent).
 *
 *     chain(monitor({ gradNorm: globalNorm }), clipByGlobalNorm(1), adamw(1e-3))
 *
 * At the head of a fused chain, a `globalNorm` measure of the gradients reuses the sum of squares
 * the kernel computes for the clip: it costs no extra pass.
 * @group Telemetry
 */
export function monitor(measures: Record<string, Measure | GradientTransformation<any>>): GradientTransformation<MonitorState> {
  const owner = 'monitor';
  if (!isPlainObject(measures)) throw new TypeError(`${owner}: expected an object of named measures, got ${describeNode(measures)}`);
  const names = Object.keys(measures);
  const transforms = names.map((name) => {
    checkName(owner, name);
    const m = measures[name];
    if (typeof m === 'function') return measureTransformation(owner, name, m as Measure);
    checkTransformation(owner, m, `a measure (a function of the updates) or a gradient transformation for '${name}'`);
    return m as GradientTransformation<any>;
  });
  const layouts = transforms.map(layoutOf);
  // A globalNorm measure can take the norm from the fused path's sum of squares.
  const norms = names.map((name) => measures[name] === globalNorm);
  const measured = (updates: Updates, state: MonitorState, params: Params | undefined, extra: ExtraArgs | undefined, sumOfSquares?: number): MonitorState => {
    const measurements: Record<string, tf.Tensor | PyTree> = {};
    const measureStates: unknown[] = [];
    try {
      names.forEach((name, i) => {
        if (norms[i] && sumOfSquares !== undefined) {
          measurements[name] = tf.scalar(Math.sqrt(sumOfSquares));
          measureStates.push(state.measureStates[i]);
          return;
        }
        const [m, s] = transforms[i].update(updates, state.measureStates[i], params, extra);
        measurements[name] = m as tf.Tensor | PyTree;
        measureStates.push(s);
      });
    } catch (err) {
      // A step that throws changes nothing: what the measures made so far is freed.
      disposeReplaced([measurements, measureStates], [updates, state, params ?? null]);
      throw err;
    }
    return { measurements, measureStates };
  };
  const tx = declareState<MonitorState>(owner, { measurements: 'any', measureStates: { kind: 'sub', layout: layouts } }, {
    init: (params) => {
      const measureStates = transforms.map((t) => t.init(params));
      const measurements: Record<string, tf.Tensor | PyTree> = {};
      try {
        names.forEach((name, i) => (measurements[name] = notYetMeasured(transforms[i], measureStates[i], params)));
      } catch (err) {
        disposeReplaced([measurements, measureStates], params);
        throw err;
      }
      return { measurements, measureStates };
    },
    update: (updates, state, params, extra) => [updates, measured(updates, state, params, extra)],
  });
  return asObserver(tx, { usesSumOfSquares: norms.some(Boolean), observe: measured });
}

/**
 * A measurement's placeholder before the first update, in the shape and dtype the measure gives
 * (found by measuring the params; what that made, and the measure's state it moved, are freed):
 * NaN for a float measurement, 0 (false) for an int or bool one. A measure that cannot measure
 * the params (one that reads `extra`, say) gets a float32 NaN scalar.
 */
function notYetMeasured(measure: GradientTransformation<any>, state: unknown, params: Params): tf.Tensor | PyTree {
  let made: [unknown, unknown];
  try {
    made = measure.update(params, state, params);
  } catch {
    return tf.scalar(NaN);
  }
  const [out, moved] = made;
  try {
    const placeholder = (t: tf.Tensor) => (t.dtype === 'float32' ? tf.fill(t.shape, NaN) : tf.zeros(t.shape, t.dtype));
    return treeMap(placeholder, out as PyTree) as tf.Tensor | PyTree;
  } finally {
    disposeReplaced([out, moved], [state, params]);
  }
}

/**
 * Options of {@link measureWithEma}.
 * @group Telemetry
 */
export interface MeasureWithEmaOptions {
  /** Weight of the old average, in [0, 1). Required. */
  decay: number;
  /** Divide the average by `1 - decay^t` (optax's default). Default `true`. */
  debias?: boolean;
}

/**
 * A measure recorded as its exponential moving average (optax's `measure_with_ema`): a
 * transformation for {@link monitor}, whose output is `ema(measure(updates))`.
 *
 *     monitor({ clippedEma: measureWithEma((u) => tf.greater(globalNorm(u), 1), { decay: 0.9 }) })
 *
 * The average starts at zero in the shape of `measure(params)`; its state is `ema`'s.
 * @group Telemetry
 */
export function measureWithEma(measure: Measure, options: MeasureWithEmaOptions): GradientTransformation<[EmptyState, EmaState]> {
  const owner = 'measureWithEma';
  if (typeof measure !== 'function') throw new TypeError(`${owner}: measure must be a function of the updates, got ${describeNode(measure)}`);
  checkOptions(owner, options ?? {}, ['decay', 'debias']);
  const average = asOwner(owner, () => ema(options));
  // The average is of float32 values, leaf by leaf (a count or a flag averages as a fraction).
  const asFloat = (m: tf.Tensor | TensorTree<Updates>) => treeMap((t: tf.Tensor) => tf.cast(t, 'float32'), m as PyTree);
  const measured = measureTransformation(owner, 'measure', (u) => asFloat(measure(u)) as tf.Tensor);
  const chained = chain(measured, average);
  return {
    ...chained,
    init: (params) => {
      const shape = measureOf(owner, 'measure', (p) => asFloat(measure(p)) as tf.Tensor, params);
      try {
        return [{}, average.init(shape as never)];
      } finally {
        tf.dispose(shape as tf.TensorContainer);
      }
    },
  };
}

/**
 * The L2 norm of a tree of updates as one scalar tensor (the norm `clipByGlobalNorm` uses): a
 * {@link Measure}. The same as {@link treeL2Norm}.
 * @group Telemetry
 */
export function globalNorm(updates: Updates): tf.Scalar {
  return treeL2Norm(updates);
}

/**
 * Reads a measurement of {@link snapshot} or {@link monitor} back from the device: a number for
 * a one-element tensor, an array for a larger one or a tree (its leaves' values, flattened in
 * tree order); booleans read as 0 and 1. `name` is the measurement's name, or a dotted path
 * picking one when several monitors share it (`'0.gradNorm'`), as {@link getHyperparam} finds
 * hyperparameters. Reading waits for the device (`dataSync`). Before a `monitor`'s first update
 * its measurements read NaN (0 for an int or bool measure).
 * @throws Error when no measurement or several have that name (listing those there are).
 * @group Telemetry
 */
export function getMeasurement(state: unknown, name: string): number | number[] {
  const owner = 'getMeasurement';
  const inMeasurements = (path: ReadonlyArray<string | number>) => {
    const parent = path[path.length - 2];
    return parent === 'measurements' || parent === 'measurement';
  };
  const { value } = findOne(owner, state, name, (_, __, path) => inMeasurements(path), 'measurement', 'state');
  const values: number[] = [];
  let count = 0;
  forEachLeaf(value as PyTree, (t) => {
    count++;
    for (const x of (t as tf.Tensor).dataSync()) values.push(Number(x));
  }, { owner, name: `measurement '${name}'`, others: 'skip', sorted: true });
  return count === 1 && isTensor(value) && value.size === 1 ? values[0] : values;
}
