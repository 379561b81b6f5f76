import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, ScalarOrSchedule } from '../types.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { invertUpperTriangular } from '../internal/linalg.js';
import { axisGram, axisSumSquares, factorLeaves, leafSuffixes, modeProduct, scaleAlongAxis, upperTriangleMask } from '../internal/modes.js';
import { checkBoolean, checkChoice, checkInteger, checkNumber, checkOptions, checkRate, checkScalarOrSchedule, evaluateSchedule } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { treeFlatten, treeMap } from '../tree/structure.js';
import { tidy } from '../tree/tidy.js';
import { noiseSeed } from './noise.js';

/**
 * Options of {@link scaleByKron}.
 * @group Transform options and states
 */
export interface ScaleByKronOptions {
  /** Momentum decay, in [0, 1). Default `0.9`. */
  b1?: number;
  /**
   * How often the preconditioner is updated: a number in (0, 1] or a schedule of the step count.
   * The update happens when a counter of steps reaches `1 / p` (the reference's deterministic
   * rule). Default: `clamp(exp(-0.001 * (count - 500)), 0.03, 1)`, every step for 500 steps, then
   * annealed to every 34th step from step 4,007 on.
   */
  preconditionUpdateProbability?: ScalarOrSchedule;
  /** An axis longer than this gets a diagonal factor instead of a triangular one. Default `8192`. */
  maxSizeTriangular?: number;
  /** A leaf of lower rank (after merging) gets only diagonal factors. Default `2`. */
  minNdimTriangular?: number;
  /**
   * Diagonal factors to save memory: `null` (none, the default), `'smartOneDiag'` (the longest
   * axis, if strictly longer than the others), `'oneDiag'` (the longest axis), `'allDiag'`.
   */
  memorySaveMode?: 'smartOneDiag' | 'oneDiag' | 'allDiag' | null;
  /** Fit the preconditioner to the debiased momentum (`true`, the default) or to the raw gradient. */
  momentumIntoPrecondUpdate?: boolean;
  /** Step size of the preconditioner's own update, > 0. Default `0.1`. */
  precondLr?: number;
  /** Scale of the initial preconditioner (each of `r` factors starts at `scale^(1/r)` times the identity), > 0. Default `1`. */
  precondInitScale?: number;
  /** Reshape a leaf of rank > 2 to a matrix, as the reference. Default `true`. */
  mergeDims?: boolean;
  /** Seed of the random probe vectors and of the balancing draw, a whole number in [0, 2^32). Default `0`. */
  seed?: number;
}

/**
 * State of {@link scaleByKron}.
 * @group Transform options and states
 */
export interface ScaleByKronState {
  /** Updates done so far. */
  count: number;
  /** Steps since the preconditioner was last updated (the reference's `_update_counter`). */
  updateCounter: number;
  /** Momentum of the gradients, shaped as the params. */
  mu: Params;
  /**
   * The Kronecker factors of the preconditioner `P = Q^T Q`: at each leaf an array with one
   * factor per axis of the leaf's working shape (`[1]` for a scalar, a matrix for a merged leaf
   * of rank > 2, none for an empty leaf), an upper-triangular `[d, d]` matrix or a diagonal `[d]`.
   */
  q: Params;
}

/** The working shape of a leaf and which of its axes get a diagonal factor. */
interface Layout {
  shape: number[];
  diag: boolean[];
}

const MODES = ['smartOneDiag', 'oneDiag', 'allDiag'] as const;
const KEYS = [
  'b1', 'preconditionUpdateProbability', 'maxSizeTriangular', 'minNdimTriangular', 'memorySaveMode', 'momentumIntoPrecondUpdate',
  'precondLr', 'precondInitScale', 'mergeDims', 'seed',
] as const;

/** float32's machine epsilon and smallest normal number, as the reference takes them from torch.finfo. */
const EPS32 = 2 ** -23;
const TINY32 = 2 ** -126;

/** The reference's default update-probability schedule: 1 for 500 steps, then annealed to 0.03. */
export function kronUpdateProbability(count: number): number {
  return Math.min(1, Math.max(0.03, Math.exp(-0.001 * (count - 500))));
}

/** The uniform draw in [0, 1) that decides the balancing of the factors at step `t`. @internal */
export function kronBalanceDraw(seed: number, t: number): number {
  return noiseSeed(seed, t, 0x7fffffff) / 2 ** 32;
}

/** The seed of the probe `V` of the `j`-th non-empty leaf (flatten order, from 0) at step `t`. @internal */
export function kronProbeSeed(seed: number, t: number, j: number): number {
  return noiseSeed(seed, t, j);
}

/** The reference's merge of a rank > 2 shape to a matrix: `[prod(s[:-1]), s[-1]]` or `[s[0], prod(s[1:])]`. */
function mergeToMatrix(shape: readonly number[]): number[] {
  const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
  const a = [prod(shape.slice(0, -1)), shape[shape.length - 1]];
  const b = [shape[0], prod(shape.slice(1))];
  return a[1] - a[0] <= b[1] - b[0] ? a : b;
}

/**
 * PSGD Kron's direction (Li 2015, "Preconditioned Stochastic Gradient Descent",
 * arXiv:1512.04202; Li 2018, "Preconditioner on Matrix Lie Group for SGD", arXiv:1809.10232), as
 * the `kron_torch` reference (github.com/evanatyourservice/kron_torch, `kron.py`): momentum
 * preconditioned by `P = Q^T Q`, `Q` a Kronecker product of one factor per axis, each upper
 * triangular (or diagonal, for long axes), fitted by a step on the Lie group so that `P` whitens
 * the gradient noise. With `t = count + 1`:
 *
 *     mu = b1 mu + (1 - b1) g;   m = mu / (1 - b1^t)
 *     counter += 1; update = counter >= 1 / p(count)  (then counter = 0)
 *     balance = update and draw(seed, t) < 0.01: Q_i *= gmean_k(max|Q_k|) / max|Q_i|   (rank >= 2)
 *     if update:
 *       V ~ N(0, 1) (seeded);  G = (momentumIntoPrecondUpdate ? m : g) + sqrt(eps32) mean|G| V  (m becomes G)
 *       A = G x_i Q_i (along every axis);  B = V x_i Q_i^-T
 *       per axis: T1 = A_(i) A_(i)^T - B_(i) B_(i)^T,  T2 = A_(i) A_(i)^T + B_(i) B_(i)^T
 *         triangular: Q_i -= precondLr * triu(T1) / max(lb(T2), tiny) @ Q_i   (lb: a lower bound of ||T2||_2)
 *         diagonal:   Q_i -= precondLr * diag(T1) * Q_i / max(max|T2|, tiny)
 *     u = m x_i (Q_i^T Q_i);  u = u * min(1, 1.1 / (rms(u) + 1e-12))
 *
 * A leaf of rank > 2 is reshaped to a matrix (`mergeDims`), a scalar is a `[1]` vector; an
 * empty leaf gets a zero update. The leaf-sized products run as tf ops; the triangular factors'
 * inverses (tfjs has no triangular solve) are computed in float64 JS from the factors read back
 * from the backend, once per preconditioner update. `V` is `tf.randomNormal` with a seed mixed
 * from `seed`, `t` and the leaf's index among the non-empty leaves (an empty leaf changes no
 * other leaf's draw), and the balancing draw a hash of `seed` and `t`, so a
 * run is reproducible from `seed` (tfjs's generator is not torch's, so the draws differ from the
 * reference's).
 *
 * Defaults, as the reference: `b1 = 0.9`, `preconditionUpdateProbability` its annealing schedule
 * (see the option), `maxSizeTriangular = 8192, minNdimTriangular = 2, memorySaveMode = null,
 * momentumIntoPrecondUpdate = true, precondLr = 0.1, precondInitScale = 1, mergeDims = true,
 * seed = 0`. Not offered: `mu_dtype`, `precond_dtype` (float32 throughout). State:
 * `{ count, updateCounter, mu, q }`.
 * @group Transforms
 */
export function scaleByKron(options: ScaleByKronOptions = {}): GradientTransformation<ScaleByKronState> {
  const owner = ownerOr('scaleByKron');
  checkOptions(owner, options, KEYS);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.9);
  const probability = checkScalarOrSchedule(owner, 'preconditionUpdateProbability', options.preconditionUpdateProbability ?? kronUpdateProbability, { min: 0, max: 1, minInclusive: false });
  const maxTri = checkInteger(owner, 'maxSizeTriangular', options.maxSizeTriangular ?? 8192, 0);
  const minNdim = checkInteger(owner, 'minNdimTriangular', options.minNdimTriangular ?? 2, 0);
  const mode = options.memorySaveMode === undefined || options.memorySaveMode === null ? null : checkChoice(owner, 'memorySaveMode', options.memorySaveMode, MODES);
  const intoPrecond = checkBoolean(owner, 'momentumIntoPrecondUpdate', options.momentumIntoPrecondUpdate ?? true);
  const precondLr = checkNumber(owner, 'precondLr', options.precondLr ?? 0.1, { min: 0, minInclusive: false });
  const initScale = checkNumber(owner, 'precondInitScale', options.precondInitScale ?? 1, { min: 0, minInclusive: false });
  const mergeDims = checkBoolean(owner, 'mergeDims', options.mergeDims ?? true);
  const seed = checkInteger(owner, 'seed', options.seed ?? 0, 0);
  checkNumber(owner, 'seed', seed, { max: 2 ** 32 - 1 });

  const layoutOf = (shape: readonly number[]): Layout => {
    if (shape.some((d) => d === 0)) return { shape: [...shape], diag: [] };
    const work = shape.length === 0 ? [1] : shape.length > 2 && mergeDims ? mergeToMatrix(shape) : [...shape];
    const r = work.length;
    const largest = work.lastIndexOf(Math.max(...work));
    const sorted = [...work].sort((a, b) => a - b);
    const diag = work.map((d, i) =>
      d === 1 || d > maxTri || r < minNdim || mode === 'allDiag' || (mode === 'oneDiag' && i === largest) ||
      (mode === 'smartOneDiag' && r > 1 && sorted[r - 1] > sorted[r - 2] && i === largest));
    return { shape: work, diag };
  };
  const factorShapes = (l: Layout) => l.diag.map((isDiag, i) => (isDiag ? [l.shape[i]] : [l.shape[i], l.shape[i]]));
  const probabilityAt = (count: number): number => {
    if (typeof probability === 'number') return probability;
    const p = evaluateSchedule(owner, 'preconditionUpdateProbability', probability, count);
    if (!(p > 0 && p <= 1)) throw new RangeError(`${owner}: the 'preconditionUpdateProbability' schedule returned ${p} at count ${count}; a number in (0, 1] is required`);
    return p;
  };

  return declareState<ScaleByKronState>(owner, { count: 'count', updateCounter: 'count', mu: 'tree', q: 'tree' }, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return tidy(() => ({
        count: 0,
        updateCounter: 0,
        mu: treeMap((p) => tf.zerosLike(p), params),
        q: treeMap((p) => {
          const l = layoutOf(p.shape);
          const s = initScale ** (1 / l.shape.length);
          return factorShapes(l).map((f) => tf.mul(tf.scalar(s), f.length === 1 ? tf.ones(f) : tf.eye(f[0]))) as never;
        }, params),
      }));
    },
    update: (updates, state) => {
      checkFloatTrees(owner, ['updates', 'state.mu'], [updates, state.mu]);
      const [gs, def] = treeFlatten(updates);
      const layouts = gs.map((g) => layoutOf(g.shape));
      const qs = factorLeaves(owner, 'state.q', updates, leafSuffixes(updates), layouts.map(factorShapes), state.q);
      const mus = treeFlatten(state.mu)[0];
      const t = state.count + 1;
      const p = probabilityAt(state.count);
      let updateCounter = state.updateCounter + 1;
      const doUpdate = updateCounter >= 1 / p;
      if (doUpdate) updateCounter = 0;
      const balance = kronBalanceDraw(seed, t) < 0.01 && doUpdate;
      return tidy(() => {
        const [b1S, c1S, debias, lrS, tinyS] = [b1, 1 - b1, 1 / (1 - b1 ** t), precondLr, TINY32].map((x) => tf.scalar(x));
        const outs: tf.Tensor[] = [];
        const newMu: tf.Tensor[] = [];
        const newQ: tf.Tensor[][] = [];
        let drawn = 0; // the probe's leaf index counts the non-empty leaves only
        gs.forEach((leaf, j) => {
          const mu = tf.add(tf.mul(b1S, mus[j]), tf.mul(c1S, leaf));
          newMu.push(mu);
          const { shape, diag } = layouts[j];
          if (diag.length === 0) {
            outs.push(tf.zerosLike(leaf));
            newQ.push(qs[j]);
            return;
          }
          let m = tf.reshape(tf.mul(mu, debias), shape);
          let q = qs[j];
          if (balance && shape.length > 1) q = balanceFactors(q);
          if (doUpdate) {
            const v = tf.randomNormal(shape, 0, 1, 'float32', kronProbeSeed(seed, t, drawn++));
            const g0 = intoPrecond ? m : tf.reshape(leaf, shape);
            const g = tf.add(g0, tf.mul(tf.mul(tf.scalar(Math.sqrt(EPS32)), tf.mean(tf.abs(g0))), v));
            if (intoPrecond) m = g; // the reference adds the probe noise in place, to the momentum it then preconditions
            const a = q.reduce((x, f, i) => (diag[i] ? scaleAlongAxis(x, f, i) : modeProduct(x, f, i)), g);
            const b = q.reduce((x, f, i) => (diag[i] ? tf.div(x, tf.reshape(f, x.shape.map((d, k) => (k === i ? d : 1)))) : modeProduct(x, inverseOf(f), i, true)), v);
            q = q.map((f, i) => {
              const aa = diag[i] ? axisSumSquares(a, i) : axisGram(a, i);
              const bb = diag[i] ? axisSumSquares(b, i) : axisGram(b, i);
              const t1 = tf.mul(tf.sub(aa, bb), lrS);
              const t2 = tf.add(aa, bb);
              const norm = tf.max(tf.abs(t2));
              if (diag[i]) return tf.sub(f, tf.div(tf.mul(t1, f), tf.maximum(norm, tinyS)));
              const bound = tf.where(tf.greater(norm, 0), spectralLowerBound(t2 as tf.Tensor2D, norm), norm);
              return tf.sub(f, tf.matMul(tf.div(tf.mul(t1, upperTriangleMask(f.shape[0])), tf.maximum(bound, tinyS)), f as tf.Tensor2D));
            });
          }
          newQ.push(q);
          let pre = q.reduce((x, f, i) => (diag[i] ? scaleAlongAxis(x, tf.square(f), i) : modeProduct(modeProduct(x, f, i), f, i, true)), m);
          const rms = tf.sqrt(tf.mean(tf.square(pre)));
          pre = tf.mul(pre, tf.minimum(tf.scalar(1), tf.div(tf.scalar(1.1), tf.add(rms, tf.scalar(1e-12)))));
          outs.push(tf.reshape(pre, leaf.shape));
        });
        return [def.unflatten(outs), { count: t, updateCounter, mu: def.unflatten(newMu), q: def.unflatten(newQ as never) }];
      }) as [typeof updates, ScaleByKronState];
    },
  });
}

/** The factors scaled to a common max-abs, their geometric mean (the reference's `_balance_Q`). */
function balanceFactors(q: readonly tf.Tensor[]): tf.Tensor[] {
  const norms = q.map((f) => tf.max(tf.abs(f)));
  const mean = tf.exp(tf.mean(tf.log(tf.stack(norms))));
  return q.map((f, i) => tf.mul(f, tf.div(mean, norms[i])));
}

/** The inverse of an upper-triangular factor, in float64 JS (tfjs has no triangular solve). */
function inverseOf(f: tf.Tensor): tf.Tensor {
  const n = f.shape[0];
  return tf.tensor2d(Float32Array.from(invertUpperTriangular(Float64Array.from(f.dataSync()), n)), [n, n], 'float32');
}

/**
 * The reference's `_lb`: a cheap lower bound of the spectral norm of the symmetric `t`, one step
 * of power iteration from its column of largest norm (`norm` is `max|t|`, > 0 where it is used).
 */
function spectralLowerBound(t: tf.Tensor2D, norm: tf.Tensor): tf.Tensor {
  const a = tf.div(t, norm);
  const col = tf.argMax(tf.sum(tf.square(a), 0));
  let x = tf.reshape(tf.gather(a, col, 1), [1, -1]);
  x = tf.matMul(x, a);
  x = tf.div(x, tf.norm(x));
  x = tf.matMul(a, x, false, true);
  return tf.mul(tf.norm(x), norm);
}
