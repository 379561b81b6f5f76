import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import type { GradientTransformation, Params } from '../types.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { treeFlatten, treeLeaves, treeMap } from '../tree/structure.js';
import { checkTrees, formatPath, type TreePath } from '../tree/walk.js';

/**
 * Options of {@link scaleByFactoredRms} (optax's names, in camelCase).
 * @group Transform options and states
 */
export interface ScaleByFactoredRmsOptions {
  /** Factor the second moment of leaves of rank >= 2. Default `true`. */
  factored?: boolean;
  /** Exponent of the decay schedule `1 - t^(-decayRate)`, >= 0. Default `0.8`. */
  decayRate?: number;
  /** Subtracted from the step count before the decay schedule (for fine-tuning), a whole number >= 0. Default `0`. */
  stepOffset?: number;
  /** Factor only when the second-largest dimension is at least this, a whole number >= 1. Default `128`. */
  minDimSizeToFactor?: number;
  /** Added to the squared gradients, >= 0. Default `1e-30`. */
  epsilon?: number;
  /** The decay at step `t` (0 on the first update, minus `stepOffset`) given `decayRate`. Default `1 - (t + 1)^(-decayRate)`. */
  decayRateFn?: (step: number, decayRate: number) => number;
}

/**
 * State of {@link scaleByFactoredRms} (optax's `FactoredState`, in camelCase). Each tree has
 * the structure of the parameters. A factored leaf of shape `s` keeps `vRow` (shape `s`
 * without its largest axis `d0`) and `vCol` (shape `s` without its second-largest axis `d1`),
 * and an empty `v` (shape `[0]`); any other leaf keeps a full `v` and empty `vRow`, `vCol`. For
 * an `[r, c]` matrix with `c >= r` that is a row vector of `r` and a column vector of `c`
 * numbers. (optax fills the unused slots with one-element zeros; empty ones hold no number, so
 * a state's values are only the statistics.)
 * @group Transform options and states
 */
export interface ScaleByFactoredRmsState {
  /** Updates done so far. */
  count: number;
  /**
   * Per factored leaf, the moving average of `g^2 + epsilon` averaged over the largest axis `d0`
   * (shape `s` without `d0`; the per-row statistics of a wide matrix); shape `[0]` for a leaf
   * that is not factored. Zeros after `init`.
   */
  vRow: Params;
  /**
   * Per factored leaf, the moving average of `g^2 + epsilon` averaged over the second-largest
   * axis `d1` (shape `s` without `d1`); shape `[0]` for a leaf that is not factored. Zeros after
   * `init`.
   */
  vCol: Params;
  /**
   * Per leaf that is not factored (rank below 2, a small second-largest dimension, or
   * `factored: false`), the full moving average of `g^2 + epsilon`, shaped as the leaf; shape
   * `[0]` for a factored leaf. Zeros after `init`.
   */
  v: Params;
}

/** The two largest axes `[d1, d0]` (`d0` the largest; ties go to the later axis), or `null` if not factored. */
function factoredDims(shape: readonly number[], factored: boolean, minDimSizeToFactor: number): [number, number] | null {
  if (!factored || shape.length < 2) return null;
  const order = shape.map((_, i) => i).sort((a, b) => shape[a] - shape[b] || a - b);
  const d0 = order[order.length - 1];
  const d1 = order[order.length - 2];
  return shape[d1] < minDimSizeToFactor ? null : [d1, d0];
}

function without(shape: readonly number[], axis: number): number[] {
  return shape.filter((_, i) => i !== axis);
}

const defaultDecayRateFn = (step: number, decayRate: number): number => 1 - (step + 1) ** -decayRate;

/**
 * Rescales updates by a factored estimate of their root mean square, Adafactor's direction
 * (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost",
 * arXiv:1804.04235). With `beta = decayRateFn(count - stepOffset, decayRate)` (by default
 * `1 - (count - stepOffset + 1)^(-decayRate)`, so 0 on the first update) and `G = g^2 + epsilon`:
 *
 *   a leaf of rank >= 2 whose second-largest dimension is >= minDimSizeToFactor, with `d0` its
 *   largest axis and `d1` the second largest:
 *     vRow = beta * vRow + (1 - beta) * mean(G, axis d0)
 *     vCol = beta * vCol + (1 - beta) * mean(G, axis d1)
 *     u = g * rsqrt(vRow / mean(vRow over d1))[expanded at d0] * rsqrt(vCol)[expanded at d1]
 *   any other leaf:
 *     v = beta * v + (1 - beta) * G;  u = g * rsqrt(v)
 *
 * so a factored `[r, c]` matrix keeps `r + c` numbers instead of `r * c`. Defaults, as optax:
 * `factored = true, decayRate = 0.8, stepOffset = 0, minDimSizeToFactor = 128,
 * epsilon = 1e-30`. The decay is computed in float64. Unlike optax, the update does not need
 * `params` (optax reads only their shapes, which are the gradients').
 * @group Transforms
 */
export function scaleByFactoredRms(options: ScaleByFactoredRmsOptions = {}): GradientTransformation<ScaleByFactoredRmsState> {
  const owner = ownerOr('scaleByFactoredRms');
  checkOptions(owner, options, ['factored', 'decayRate', 'stepOffset', 'minDimSizeToFactor', 'epsilon', 'decayRateFn']);
  const factored = checkBoolean(owner, 'factored', options.factored ?? true);
  const decayRate = checkNumber(owner, 'decayRate', options.decayRate ?? 0.8, { min: 0 });
  const stepOffset = checkInteger(owner, 'stepOffset', options.stepOffset ?? 0, 0);
  const minDimSizeToFactor = checkInteger(owner, 'minDimSizeToFactor', options.minDimSizeToFactor ?? 128, 1);
  const epsilon = checkNumber(owner, 'epsilon', options.epsilon ?? 1e-30, { min: 0 });
  const decayRateFn = options.decayRateFn ?? defaultDecayRateFn;
  if (typeof decayRateFn !== 'function') {
    throw new TypeError(`${owner}: option 'decayRateFn' must be a function (step, decayRate) => number, got ${String(decayRateFn)}`);
  }
  const dimsOf = (shape: readonly number[]) => factoredDims(shape, factored, minDimSizeToFactor);
  /** The shapes [vRow, vCol, v] of a leaf of shape `shape`. */
  const stateShapes = (shape: readonly number[]): [number[], number[], number[]] => {
    const dims = dimsOf(shape);
    return dims === null ? [[0], [0], [...shape]] : [without(shape, dims[1]), without(shape, dims[0]), [0]];
  };
  const names = ['updates', 'state.vRow', 'state.vCol', 'state.v'];
  const checkLeaf = (leaves: readonly unknown[], path: TreePath): void => {
    const g = leaves[0] as tf.Tensor;
    const expected = stateShapes(g.shape);
    leaves.forEach((x, i) => {
      const t = x as tf.Tensor;
      const want = i === 0 ? g.shape : expected[i - 1];
      if (t.isDisposed || t.dtype !== 'float32' || t.shape.length !== want.length || t.shape.some((d, k) => d !== want[k])) {
        throw new Error(
          `${owner}: ${formatPath(path, names[i])} must be a live float32 tensor of shape [${want.join(', ')}], ` +
            `got ${t.isDisposed ? 'a disposed tensor' : `${t.dtype} of shape [${t.shape.join(', ')}]`}`,
        );
      }
    });
  };

  return declareState<ScaleByFactoredRmsState>(owner, { count: 'count', vRow: 'tree', vCol: 'tree', v: 'tree' }, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return tidy(() => ({
        count: 0,
        vRow: treeMap((p) => tf.zeros(stateShapes(p.shape)[0]), params),
        vCol: treeMap((p) => tf.zeros(stateShapes(p.shape)[1]), params),
        v: treeMap((p) => tf.zeros(stateShapes(p.shape)[2]), params),
      }));
    },
    update: (updates, state) => {
      checkTrees([updates, state.vRow, state.vCol, state.v], { names, owner, checkLeaf });
      const beta = decayRateFn(state.count - stepOffset, decayRate);
      if (typeof beta !== 'number' || !Number.isFinite(beta)) {
        throw new RangeError(`${owner}: 'decayRateFn' returned ${String(beta)} at step ${state.count - stepOffset}; a finite number is required`);
      }
      return tidy(() => {
        const [gs, def] = treeFlatten(updates);
        const [vRows, vCols, vs] = [state.vRow, state.vCol, state.v].map((t) => treeLeaves(t));
        const betaS = tf.scalar(beta);
        const oneMinus = tf.scalar(1 - beta);
        const epsS = tf.scalar(epsilon);
        const out: tf.Tensor[][] = gs.map((g, j) => {
          const sq = tf.add(tf.square(g), epsS);
          const dims = dimsOf(g.shape);
          if (dims === null) {
            const v1 = tf.add(tf.mul(betaS, vs[j]), tf.mul(oneMinus, sq));
            return [tf.mul(g, tf.rsqrt(v1)), vRows[j], vCols[j], v1];
          }
          const [d1, d0] = dims;
          const row = tf.add(tf.mul(betaS, vRows[j]), tf.mul(oneMinus, tf.mean(sq, d0)));
          const col = tf.add(tf.mul(betaS, vCols[j]), tf.mul(oneMinus, tf.mean(sq, d1)));
          const reducedD1 = d1 > d0 ? d1 - 1 : d1;
          const rowFactor = tf.rsqrt(tf.div(row, tf.mean(row, reducedD1, true)));
          const colFactor = tf.rsqrt(col);
          const u = tf.mul(tf.mul(g, tf.expandDims(rowFactor, d0)), tf.expandDims(colFactor, d1));
          return [u, row, col, vs[j]];
        });
        const tree = (k: number) => def.unflatten(out.map((o) => o[k]));
        return [tree(0), { count: state.count + 1, vRow: tree(1), vCol: tree(2), v: tree(3) }];
      }) as [typeof updates, ScaleByFactoredRmsState];
    },
  });
}
