import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, GradientTransformation, Params, PyTree, Updates } from '../types.js';
import { checkFloatTrees, flattenFloatTrees } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkOptions, checkTransformation } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState, subState } from '../internal/state.js';
import { svd } from '../internal/svd.js';
import { collectTensors, treeDispose } from '../tree/memory.js';
import { treeFlatten, treePaths, type TreeDef } from '../tree/structure.js';
import { tidy } from '../tree/tidy.js';
import { describeNode, forEachLeaf, formatPath, isPlainObject } from '../tree/walk.js';
import { scaleByAdam } from './adaptive.js';

// GaLore, as optax.contrib.scale_by_galore (optax 0.2.8): gradients of matrices projected onto
// the leading singular vectors of a gradient, the base optimizer run in that low-rank space, its
// updates projected back. tfjs has no SVD: the projectors come from internal/svd.ts (float64
// one-sided Jacobi on the host), so a refresh reads the gradient back (a sync).

/**
 * Which axes of a leaf form the rows ("reduction", the input side) and the columns ("output") of
 * the matrix GaLore projects (optax's `GaLoreDimensionNumbers`). Every axis must be in exactly
 * one of the two; negative axes count from the end.
 * @group Transform options and states
 */
export interface GaloreDimensionNumbers {
  /** The axis or axes of the rows. Default `0`. */
  reductionAxis?: number | readonly number[];
  /** The axis or axes of the columns. Default `1`. */
  outputAxis?: number | readonly number[];
}

/**
 * Dimension numbers per leaf (`null`: not projected), as a tree with the params' structure.
 * @group Transform options and states
 */
export type GaloreDimensionTree = PyTree<GaloreDimensionNumbers | null>;

/**
 * Options of {@link scaleByGalore} (and of `galore`).
 * @group Transform options and states
 */
export interface ScaleByGaloreOptions {
  /** The rank of the projection (capped at each matrix's smaller side), a whole number >= 1. Default `128`. */
  rank?: number;
  /** Steps between refreshes of the projectors (from the SVD of the gradient, at counts 0, gap, 2 gap, ...), a whole number >= 1. Default `200`. */
  updateProjGap?: number;
  /** Multiplies the updates of the projected leaves (not the others, as optax). Default `1`. */
  scale?: number;
  /**
   * The transformation run in the low-rank space (and on the leaves not projected), which must
   * not need `params` (`scaleByAdam`, `scaleByLion`, `scaleByRms`, ...; put weight decay in
   * `galore`'s `weightDecay`). Default `scaleByAdam()`.
   */
  baseOptimizer?: GradientTransformation<any>;
  /**
   * Which leaves are projected, and how they are read as matrices: absent, the rank-2 leaves as
   * they are; one {@link GaloreDimensionNumbers}, every leaf of rank >= 2 by it; a tree of them
   * (`null`: not projected) with the params' structure; or a function of the params (the updates,
   * at each update) returning such a tree.
   */
  weightDimensionNumbers?: GaloreDimensionNumbers | GaloreDimensionTree | ((params: Params) => GaloreDimensionTree);
}

/**
 * State of {@link scaleByGalore} (optax's `GaLoreState`).
 * @group Transform options and states
 */
export interface ScaleByGaloreState {
  /** Updates done so far. */
  count: number;
  /** The base optimizer's state, over the low-rank shapes (and the full shapes of the leaves not projected). */
  baseOptimizerState: unknown;
  /** Per leaf, the projector: `[m, r]` (left, when `m >= n`) or `[n, r]` (right); `[0, 0]` for a leaf not projected. */
  projector: Params;
}

/** How one leaf is read as an `m x n` matrix: a transpose, then a reshape. */
interface MatrixView {
  perm: number[];
  /** The transposed shape, to reshape back to. */
  transposed: number[];
  m: number;
  n: number;
  /** Project from the left (`P^T G`, `m >= n`) or the right (`G P`). */
  left: boolean;
  r: number;
}

const SPEC_KEYS = ['reductionAxis', 'outputAxis'];
const isSpec = (x: unknown): x is GaloreDimensionNumbers =>
  isPlainObject(x) && Object.keys(x).length > 0 && Object.keys(x).every((k) => SPEC_KEYS.includes(k));

/**
 * The dimension numbers of each leaf of `tree` (flatten order) from a tree of them: looked up at
 * each leaf's path, so `null` there means "not projected" while an empty subtree of the params
 * needs nothing. A missing entry, or another value, is an error naming the path.
 */
function specsAt(owner: string, name: string, tree: PyTree, specTree: unknown): (GaloreDimensionNumbers | null)[] {
  const out: (GaloreDimensionNumbers | null)[] = [];
  forEachLeaf(tree, (_leaf, path) => {
    let node: unknown = specTree;
    for (const key of path) {
      if (!(isPlainObject(node) || Array.isArray(node)) || isSpec(node) || !(key in (node as object))) {
        node = undefined;
        break;
      }
      node = (node as Record<string | number, unknown>)[key];
    }
    if (node !== null && !isSpec(node)) {
      throw new TypeError(
        `${owner}: option 'weightDimensionNumbers' must give dimension numbers or null for ${formatPath(path, name)}, got ${describeNode(node)}`,
      );
    }
    out.push(node);
  });
  return out;
}

/** The matrix view of a leaf of `shape` by `spec`, after checking the axes (errors name the path). */
function matrixView(owner: string, whereOf: () => string, shape: readonly number[], spec: GaloreDimensionNumbers, rank: number): MatrixView {
  const rankOf = shape.length;
  const where = whereOf();
  if (rankOf < 2) throw new Error(`${owner}: GaLore projects leaves of rank >= 2, but ${where} has shape [${shape.join(', ')}]`);
  const axes = (value: unknown, name: string): number[] => {
    const list = typeof value === 'number' ? [value] : Array.isArray(value) ? value : null;
    if (list === null || list.length === 0 || list.some((a) => !Number.isInteger(a) || a < -rankOf || a >= rankOf)) {
      throw new RangeError(`${owner}: ${name} of ${where} must be an axis or a non-empty list of axes of a rank-${rankOf} leaf, got ${JSON.stringify(value)}`);
    }
    return list.map((a: number) => (a + rankOf) % rankOf);
  };
  const rows = axes(spec.reductionAxis ?? 0, 'reductionAxis');
  const cols = axes(spec.outputAxis ?? 1, 'outputAxis');
  const all = [...rows, ...cols];
  if (new Set(all).size !== all.length || all.length !== rankOf) {
    throw new RangeError(
      `${owner}: the reductionAxis [${rows}] and outputAxis [${cols}] of ${where} must name each of its ${rankOf} axes exactly once`,
    );
  }
  const m = rows.reduce((p, a) => p * shape[a], 1);
  const n = cols.reduce((p, a) => p * shape[a], 1);
  return { perm: all, transposed: all.map((a) => shape[a]), m, n, left: m >= n, r: Math.min(rank, m, n) };
}

/** A leaf as its `m x n` matrix, and back. */
const toMatrix = (x: tf.Tensor, v: MatrixView) => tf.reshape(isIdentity(v.perm) ? x : tf.transpose(x, v.perm), [v.m, v.n]);
function fromMatrix(x: tf.Tensor, v: MatrixView): tf.Tensor {
  const inverse = v.perm.map((_, i) => v.perm.indexOf(i));
  const back = tf.reshape(x, v.transposed);
  return isIdentity(v.perm) ? back : tf.transpose(back, inverse);
}
const isIdentity = (perm: number[]) => perm.every((a, i) => a === i);

/** The left singular vectors (`m >= n`) or right ones, first `r` columns, of a matrix read back, as float32 values. */
function projectorValues(values: ArrayLike<number>, v: MatrixView): Float32Array {
  const long = v.left ? v.m : v.n;
  if (!Array.prototype.every.call(values, Number.isFinite)) return new Float32Array(long * v.r).fill(NaN);
  const d = svd(values, v.m, v.n, v.r);
  return Float32Array.from(v.left ? d.u : d.v);
}

/**
 * Rescales updates by GaLore, gradient low-rank projection (Zhao, Zhang, Chen, Wang, Anandkumar &
 * Tian 2024, "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection",
 * arXiv:2403.03507), as optax 0.2.8's contrib. Each projected leaf, read as an `m x n` matrix `G`
 * (see `weightDimensionNumbers`), with `r = min(rank, m, n)`:
 *
 *     every updateProjGap steps (count 0, gap, 2 gap, ...): P = the first r left singular
 *       vectors of G ([m, r], when m >= n) or right ones ([n, r], when m < n)
 *     R = P^T G  (or G P)                     the low-rank gradient, [r, n] (or [m, r])
 *     N = baseOptimizer(R)                     its state lives in the low-rank shapes
 *     u = scale * P N  (or scale * N P^T)
 *
 * Leaves not projected go through `baseOptimizer` whole (and `scale` leaves them alone, as optax).
 * The SVD is a float64 one-sided Jacobi on the host (tfjs has none): residual and orthogonality
 * about 1e-14 relative before the projector is rounded to float32; singular vectors with equal
 * singular values (a rank-deficient gradient) are completed deterministically, and each vector's
 * sign is fixed (its largest entry positive), so a run is reproducible but the vectors' signs
 * need not be LAPACK's. A refresh reads each projected gradient back (a sync) and costs
 * `O(m n min(m, n))` per matrix on the CPU: measured about 0.01 s for 64 x 64, 0.1 s for
 * 100 x 100, 0.6 s for 784 x 128, 1 to 1.5 s for 256 x 256 and 10 s for 512 x 512 (Node, one
 * core); between refreshes a step is two matrix products per leaf on the device. A non-finite gradient at a refresh gives a
 * NaN projector (as optax's SVD would), so `applyIfFinite` can skip the step. `extra` is passed
 * to the base optimizer; `params` are not (optax passes none), but where given, their shapes are
 * checked against the updates'. Defaults, as optax:
 * `rank = 128, updateProjGap = 200, scale = 1, baseOptimizer = scaleByAdam()`, rank-2 leaves
 * projected. State: `{ count, baseOptimizerState, projector }`. Composite on every backend.
 * @group Transforms
 */
export function scaleByGalore(options: ScaleByGaloreOptions = {}): GradientTransformation<ScaleByGaloreState> {
  const owner = ownerOr('scaleByGalore');
  checkOptions(owner, options, ['rank', 'updateProjGap', 'scale', 'baseOptimizer', 'weightDimensionNumbers']);
  const rank = checkInteger(owner, 'rank', options.rank ?? 128, 1);
  const gap = checkInteger(owner, 'updateProjGap', options.updateProjGap ?? 200, 1);
  const scale = checkNumber(owner, 'scale', options.scale ?? 1);
  const base = options.baseOptimizer ?? scaleByAdam();
  checkTransformation(owner, base, "option 'baseOptimizer' to be a gradient transformation");
  const dims = options.weightDimensionNumbers;
  if (dims !== undefined && typeof dims !== 'function' && !isPlainObject(dims) && !Array.isArray(dims)) {
    throw new TypeError(`${owner}: option 'weightDimensionNumbers' must be dimension numbers, a tree of them or a function, got ${describeNode(dims)}`);
  }

  /** The matrix view of each leaf of `tree` (`null`: not projected), and the tree's structure. */
  const views = (tree: Params, name: string): [(MatrixView | null)[], tf.Tensor[], TreeDef] => {
    const [[leaves], def] = flattenFloatTrees(owner, [name], [tree]);
    let specs: (GaloreDimensionNumbers | null | undefined)[];
    if (dims === undefined) specs = leaves.map((x) => (x.rank === 2 ? {} : null));
    else if (isSpec(dims)) specs = leaves.map((x) => (x.rank >= 2 ? dims : null));
    else {
      specs = specsAt(owner, name, tree, typeof dims === 'function' ? dims(tree) : dims);
    }
    const where = (i: number) => () => {
      const path = treePaths(tree)[i];
      return path === '' || path.startsWith('[') ? `${name}${path}` : `${name}.${path}`;
    };
    return [
      leaves.map((x, i) => (specs[i] == null ? null : matrixView(owner, where(i), x.shape, specs[i]!, rank))),
      leaves,
      def,
    ];
  };

  return declareState<ScaleByGaloreState>(owner, { count: 'count', baseOptimizerState: subState(base), projector: 'tree' }, {
    init: (params) => {
      const [vs, leaves, def] = views(params, 'params');
      const projector = def.unflatten(vs.map((v) => (v === null ? tf.zeros([0, 0]) : tf.zeros([v.left ? v.m : v.n, v.r])))) as Params;
      const proxies = def.unflatten(leaves.map((x, i) => {
        const v = vs[i];
        return v === null ? tf.zerosLike(x) : tf.zeros(v.left ? [v.r, v.n] : [v.m, v.r]);
      })) as Params;
      let baseOptimizerState: unknown;
      try {
        baseOptimizerState = base.init(proxies);
      } catch (error) {
        treeDispose([projector, proxies]);
        throw error;
      }
      const kept = collectTensors(baseOptimizerState);
      for (const t of collectTensors(proxies)) if (!kept.has(t)) t.dispose();
      return { count: 0, baseOptimizerState, projector };
    },
    update: <U extends Updates>(updates: U, state: ScaleByGaloreState, params?: Params, extra?: ExtraArgs): [U, ScaleByGaloreState] => {
      if (params !== undefined) checkFloatTrees(owner, ['updates', 'params'], [updates, params]);
      const [vs, gs, def] = views(updates, 'updates');
      const [ps, projDef] = treeFlatten(state.projector);
      if (!projDef.equals(def)) throw new Error(`${owner}: state.projector has the structure ${projDef}, the updates ${def}`);
      vs.forEach((v, i) => {
        const expected = v === null ? [0, 0] : [v.left ? v.m : v.n, v.r];
        if (ps[i].shape.length !== 2 || ps[i].shape[0] !== expected[0] || ps[i].shape[1] !== expected[1]) {
          const path = treePaths(updates)[i];
          throw new Error(
            `${owner}: state.projector${path === '' || path.startsWith('[') ? path : `.${path}`} has shape [${ps[i].shape}], ` +
              `expected [${expected}] for updates of shape [${gs[i].shape}]`,
          );
        }
      });
      const refresh = state.count % gap === 0;
      return tidy(() => {
        const matrices = gs.map((g, i) => (vs[i] === null ? null : toMatrix(g, vs[i]!)));
        const projectors = ps.map((p, i) => {
          const v = vs[i];
          if (v === null || !refresh) return p;
          return tf.tensor2d(projectorValues(matrices[i]!.dataSync(), v), [v.left ? v.m : v.n, v.r]);
        });
        const lowRank = gs.map((g, i) => {
          const v = vs[i];
          if (v === null) return g;
          return v.left ? tf.matMul(projectors[i], matrices[i]!, true, false) : tf.matMul(matrices[i]!, projectors[i]);
        });
        const [low, baseOptimizerState] = base.update(def.unflatten(lowRank) as Params, state.baseOptimizerState, undefined, extra);
        const [lowLeaves] = treeFlatten(low);
        const scaleS = tf.scalar(scale);
        const out = lowLeaves.map((n, i) => {
          const v = vs[i];
          if (v === null) return n;
          const full = fromMatrix(v.left ? tf.matMul(projectors[i], n) : tf.matMul(n, projectors[i], false, true), v);
          return scale === 1 ? full : tf.mul(scaleS, full);
        });
        return [def.unflatten(out) as U, { count: state.count + 1, baseOptimizerState, projector: def.unflatten(projectors) as Params }];
      });
    },
  });
}
