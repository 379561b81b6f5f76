import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params } from '../types.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { householderQ, matMul64, symmetricEigen } from '../internal/linalg.js';
import { axisGram, factorLeaves, leafSuffixes, modeProduct } from '../internal/modes.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { declareState } from '../internal/state.js';
import { treeFlatten, treeMap } from '../tree/structure.js';
import { tidy } from '../tree/tidy.js';

/**
 * Options of {@link scaleBySoap}.
 * @group Transform options and states
 */
export interface ScaleBySoapOptions {
  /** Decay of the first moment (in the eigenbasis), in [0, 1). Default `0.95`. */
  b1?: number;
  /** Decay of the second moment (in the eigenbasis), in [0, 1). Default `0.95`. */
  b2?: number;
  /** Decay of the preconditioner matrices `L`, `R`, in [0, 1); a negative value (the default, `-1`) means `b2`. */
  shampooBeta?: number;
  /** Added to `sqrt(v)` before dividing, >= 0. Default `1e-8`. */
  eps?: number;
  /** Refresh the eigenbases every this many steps, a whole number >= 1. Default `10`. */
  precondFrequency?: number;
  /** An axis longer than this is left unpreconditioned, a whole number >= 1. Default `10000`. */
  maxPrecondDim?: number;
  /** Merge consecutive axes of a leaf of rank >= 2 while their product stays <= `maxPrecondDim`. Default `false`. */
  mergeDims?: boolean;
  /** Precondition vectors (rank 1) with a full `[n, n]` matrix. Default `false` (Adam for them). */
  precondition1d?: boolean;
  /** Divide each leaf's update by its RMS. Default `false`. */
  normalizeGrads?: boolean;
  /** Adam's bias correction, `sqrt(1 - b2^t) / (1 - b1^t)`. Default `true`. */
  correctBias?: boolean;
}

/**
 * State of {@link scaleBySoap}. The factor fields hold, at each leaf of the parameters, an array
 * with one entry per axis of the leaf's working shape (the leaf's shape, or its merged shape with
 * `mergeDims`; none for a scalar): a `[d, d]` matrix for an axis that is preconditioned and an
 * empty `[0]` tensor for one that is not.
 * @group Transform options and states
 */
export interface ScaleBySoapState {
  /** Updates done so far (the first one only sets up the preconditioner). */
  count: number;
  /** First moment of the gradients, in the current eigenbasis (the reference's `exp_avg`). */
  mu: Params;
  /** Second moment of the projected gradients (`exp_avg_sq`), >= 0. */
  nu: Params;
  /** The preconditioner matrices `L`, `R`, ...: moving averages of `G_(i) G_(i)^T` (the reference's `GG`). */
  gg: Params;
  /** Their eigenbases, orthogonal matrices (identity after `init`; the first update sets them with an eigendecomposition). */
  q: Params;
}

/** The working shape of a leaf and which of its axes get a preconditioner. */
interface Layout {
  shape: number[];
  pre: boolean[];
}

/**
 * The reference's `merge_dims`: consecutive axes are multiplied together while the product stays
 * `<= max`; an axis longer than `max` stays on its own.
 */
export function mergeSoapDims(shape: readonly number[], max: number): number[] {
  const out: number[] = [];
  let current = 1;
  for (const d of shape) {
    if (current * d > max) {
      if (current > 1) {
        out.push(current);
        current = d;
      } else {
        out.push(d);
        current = 1;
      }
    } else {
      current *= d;
    }
  }
  if (current > 1 || out.length === 0) out.push(current);
  return out;
}

const KEYS = ['b1', 'b2', 'shampooBeta', 'eps', 'precondFrequency', 'maxPrecondDim', 'mergeDims', 'precondition1d', 'normalizeGrads', 'correctBias'] as const;

/**
 * SOAP's direction (Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade 2024,
 * "SOAP: Improving and Stabilizing Shampoo using Adam", arXiv:2409.11321), as the authors'
 * reference implementation (github.com/nikhilvyas/SOAP, `soap.py`): Adam run in the eigenbasis
 * of Shampoo's preconditioner. For a matrix leaf `G` (`[m, n]`), with `sb = shampooBeta < 0 ? b2
 * : shampooBeta`:
 *
 *     first update:  L = (1 - sb) G G^T,  R = (1 - sb) G^T G,  QL, QR = eigenvectors (eigenvalues descending);
 *                    u = 0 (the reference skips the step, so the basis never sees the gradient it rotates)
 *     later (t = count, 1 on the second update):
 *       G' = QL^T G QR
 *       mu = b1 mu + (1 - b1) G';   nu = b2 nu + (1 - b2) G'^2
 *       N = QL (mu / (sqrt(nu) + eps)) QR^T
 *       N = N / (1e-30 + sqrt(mean(N^2)))                        (normalizeGrads)
 *       u = sqrt(1 - b2^t) / (1 - b1^t) * N                       (correctBias; else u = N)
 *       L = sb L + (1 - sb) G G^T,  R = sb R + (1 - sb) G^T G
 *       every precondFrequency steps (t % precondFrequency == 0), per factor: sort the columns of Q
 *       by diag(Q^T L Q) descending (and nu's rows the same way), then Q = qr(L Q).Q, one power
 *       iteration; mu is rotated into the new basis (QL_new^T QL_old mu QR_old^T QR_new).
 *
 * A leaf of any rank works the same way, one factor per axis (the projections are products
 * along each axis); an axis longer than `maxPrecondDim` keeps no factor (the identity), a vector
 * gets a factor only with `precondition1d`, a scalar none (Adam), and an empty leaf none.
 * `mergeDims` first merges the axes of a leaf of rank >= 2 as the reference does. The matrix
 * products of leaf size run as tf ops; the eigendecomposition (Jacobi), the QR (Householder),
 * `L Q` and `Q^T L Q` run in float64 JS on the factors read back from the backend, at the first
 * update and every `precondFrequency` steps only (tfjs has neither eigh nor a stable QR). The
 * reference runs those in float32 on the device; it also rotates `mu` out of the basis and back
 * at every step, which leaves it as it is up to rounding: here that is done only when the basis
 * changes. The sign of an eigenvector or a QR column does not change the updates.
 *
 * Defaults, as the reference: `b1 = 0.95, b2 = 0.95, shampooBeta = -1, eps = 1e-8,
 * precondFrequency = 10, maxPrecondDim = 10000, mergeDims = false, precondition1d = false,
 * normalizeGrads = false, correctBias = true`. Not offered: `data_format` (no channels-last
 * permutation). State: `{ count, mu, nu, gg, q }`.
 * @group Transforms
 */
export function scaleBySoap(options: ScaleBySoapOptions = {}): GradientTransformation<ScaleBySoapState> {
  const owner = ownerOr('scaleBySoap');
  checkOptions(owner, options, KEYS);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.95);
  const b2 = checkRate(owner, 'b2', options.b2 ?? 0.95);
  const shampooBeta = checkNumber(owner, 'shampooBeta', options.shampooBeta ?? -1, { max: 1, maxInclusive: false });
  const sb = shampooBeta >= 0 ? shampooBeta : b2;
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const frequency = checkInteger(owner, 'precondFrequency', options.precondFrequency ?? 10, 1);
  const maxDim = checkInteger(owner, 'maxPrecondDim', options.maxPrecondDim ?? 10000, 1);
  const mergeDims = checkBoolean(owner, 'mergeDims', options.mergeDims ?? false);
  const precondition1d = checkBoolean(owner, 'precondition1d', options.precondition1d ?? false);
  const normalizeGrads = checkBoolean(owner, 'normalizeGrads', options.normalizeGrads ?? false);
  const correctBias = checkBoolean(owner, 'correctBias', options.correctBias ?? true);

  const layoutOf = (shape: readonly number[]): Layout => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 0) return { shape: [], pre: [] };
    if (shape.length === 1) return { shape: [shape[0]], pre: [precondition1d && size > 0 && shape[0] <= maxDim] };
    const work = mergeDims && size > 0 ? mergeSoapDims(shape, maxDim) : [...shape];
    return { shape: work, pre: work.map((d) => size > 0 && d <= maxDim) };
  };
  const factorShapes = (l: Layout) => l.shape.map((d, i) => (l.pre[i] ? [d, d] : [0]));

  return declareState<ScaleBySoapState>(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree', gg: 'tree', q: 'tree' }, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return tidy(() => ({
        count: 0,
        mu: treeMap((p) => tf.zerosLike(p), params),
        nu: treeMap((p) => tf.zerosLike(p), params),
        gg: treeMap((p) => factorShapes(layoutOf(p.shape)).map((s) => tf.zeros(s)) as never, params),
        q: treeMap((p) => factorShapes(layoutOf(p.shape)).map((s) => (s.length === 2 ? tf.eye(s[0]) : tf.zeros(s))) as never, params),
      }));
    },
    update: (updates, state) => {
      checkFloatTrees(owner, ['updates', 'state.mu', 'state.nu'], [updates, state.mu, state.nu]);
      const [gs, def] = treeFlatten(updates);
      const paths = leafSuffixes(updates);
      const layouts = gs.map((g) => layoutOf(g.shape));
      const want = layouts.map(factorShapes);
      const ggs = factorLeaves(owner, 'state.gg', updates, paths, want, state.gg);
      const qs = factorLeaves(owner, 'state.q', updates, paths, want, state.q);
      const [mus, nus] = [treeFlatten(state.mu)[0], treeFlatten(state.nu)[0]];
      const first = state.count === 0;
      const t = state.count;
      const refresh = !first && t % frequency === 0;
      const stepScale = !first && correctBias ? Math.sqrt(1 - b2 ** t) / (1 - b1 ** t) : 1;
      return tidy(() => {
        const [b1S, c1S, b2S, c2S, epsS, sbS, csbS, scaleS] = [b1, 1 - b1, b2, 1 - b2, eps, sb, 1 - sb, stepScale].map((x) => tf.scalar(x));
        const outs: tf.Tensor[] = [];
        const newMu: tf.Tensor[] = [];
        const newNu: tf.Tensor[] = [];
        const newGg: tf.Tensor[][] = [];
        const newQ: tf.Tensor[][] = [];
        gs.forEach((leaf, j) => {
          const { shape, pre } = layouts[j];
          const g = tf.reshape(leaf, shape);
          // L_i = sb L_i + (1 - sb) G_(i) G_(i)^T (the reference's lerp; from zeros at the first update)
          const gg = ggs[j].map((old, i) => (pre[i] ? (first ? tf.mul(csbS, axisGram(g, i)) : tf.add(old, tf.mul(csbS, tf.sub(axisGram(g, i), old)))) : old));
          newGg.push(gg);
          if (first) {
            newQ.push(gg.map((m, i) => (pre[i] ? eigenbasis(m) : qs[j][i])));
            outs.push(tf.zerosLike(leaf));
            newMu.push(mus[j]);
            newNu.push(nus[j]);
            return;
          }
          const q = qs[j];
          const projected = project(g, q, pre);
          let mu = tf.add(tf.mul(b1S, tf.reshape(mus[j], shape)), tf.mul(c1S, projected));
          let nu = tf.add(tf.mul(b2S, tf.reshape(nus[j], shape)), tf.mul(c2S, tf.square(projected)));
          let n = projectBack(tf.div(mu, tf.add(tf.sqrt(nu), epsS)), q, pre);
          if (normalizeGrads) n = tf.div(n, tf.add(tf.scalar(1e-30), tf.sqrt(tf.mean(tf.square(n)))));
          outs.push(tf.reshape(tf.mul(scaleS, n), leaf.shape));
          if (refresh) {
            const refreshed = refreshBases(gg, q, pre, nu);
            nu = refreshed.nu;
            mu = project(projectBack(mu, q, pre), refreshed.q, pre);
            newQ.push(refreshed.q);
          } else {
            newQ.push(q);
          }
          newMu.push(tf.reshape(mu, leaf.shape));
          newNu.push(tf.reshape(nu, leaf.shape));
        });
        return [
          def.unflatten(outs),
          {
            count: state.count + 1,
            mu: def.unflatten(newMu),
            nu: def.unflatten(newNu),
            gg: def.unflatten(newGg as never),
            q: def.unflatten(newQ as never),
          },
        ];
      }) as [typeof updates, ScaleBySoapState];
    },
  });
}

/** `x` projected onto the eigenbases: `Q_i^T` applied along each preconditioned axis `i`. */
function project(x: tf.Tensor, q: readonly tf.Tensor[], pre: readonly boolean[]): tf.Tensor {
  return q.reduce((y, m, i) => (pre[i] ? modeProduct(y, m, i, true) : y), x);
}

/** `x` back from the eigenbases: `Q_i` applied along each preconditioned axis `i`. */
function projectBack(x: tf.Tensor, q: readonly tf.Tensor[], pre: readonly boolean[]): tf.Tensor {
  return q.reduce((y, m, i) => (pre[i] ? modeProduct(y, m, i, false) : y), x);
}

/** The `[n, n]` values of a square tensor in float64. */
function read64(m: tf.Tensor): Float64Array {
  return Float64Array.from(m.dataSync());
}

/** The eigenvectors of a symmetric factor as columns, eigenvalues descending (the reference's flipped `eigh`). */
function eigenbasis(m: tf.Tensor): tf.Tensor {
  const n = m.shape[0];
  return tf.tensor2d(Float32Array.from(symmetricEigen(read64(m), n).vectors), [n, n], 'float32');
}

/**
 * One refresh of the eigenbases, the reference's `get_orthogonal_matrix_QR`: per factor, the
 * estimated eigenvalues `diag(Q^T L Q)` sort `Q`'s columns and `nu` along that axis (descending),
 * then `Q = qr(L Q).Q`.
 */
function refreshBases(gg: readonly tf.Tensor[], q: readonly tf.Tensor[], pre: readonly boolean[], nu: tf.Tensor): { q: tf.Tensor[]; nu: tf.Tensor } {
  let sortedNu = nu;
  const out = q.map((old, i) => {
    if (!pre[i]) return old;
    const n = old.shape[0];
    const l = read64(gg[i]);
    const o = read64(old);
    const lo = matMul64(l, o, n, n, n);
    const est = Array.from({ length: n }, (_, c) => {
      let s = 0;
      for (let r = 0; r < n; r++) s += o[r * n + c] * lo[r * n + c];
      return s;
    });
    const order = Array.from({ length: n }, (_, c) => c).sort((a, b) => est[b] - est[a]);
    sortedNu = tf.gather(sortedNu, tf.tensor1d(order, 'int32'), i);
    const power = new Float64Array(n * n);
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) power[r * n + c] = lo[r * n + order[c]];
    return tf.tensor2d(Float32Array.from(householderQ(power, n)), [n, n], 'float32');
  });
  return { q: out, nu: sortedNu };
}
