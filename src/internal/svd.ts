// A thin singular value decomposition in float64 JS, for GaLore's projectors (tfjs has no SVD).
//
// One-sided Jacobi (Hestenes 1958; Demmel & Veselic 1992): plane rotations applied to the columns
// of the matrix (the tall orientation, so the columns are the shorter side) until every pair is
// orthogonal to working precision. The columns are then `U * S`, and the accumulated rotations
// `V`. It never forms `A^T A`, so the singular values come out with small relative error (and
// the vectors of well-separated singular values to about 1e-15 relative to the gap), for a cost
// of about `6 m n^2` flops per sweep, typically 6 to 10 sweeps. Deterministic: the same input
// gives the same bits (a fixed pair order, no randomness), with the singular values sorted
// descending and each left vector's largest-magnitude entry made positive.

/** A thin SVD `A = U diag(s) V^T` of an `m x n` matrix, `p = min(m, n)`. */
export interface Svd {
  /** `m x p`, row-major, orthonormal columns. */
  u: Float64Array;
  /** The `p` singular values, descending, >= 0. */
  s: Float64Array;
  /** `n x p`, row-major, orthonormal columns. */
  v: Float64Array;
}

const EPS = 2 ** -52;
const MAX_SWEEPS = 60;

/** `sum a[i] b[i]` over two columns. */
function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Orthonormal columns completing `cols` (some entries `null`): each missing column is the first
 * standard basis vector, in order, that keeps a component after two Gram-Schmidt passes against
 * the columns present. Deterministic.
 */
function complete(cols: (Float64Array | null)[], m: number): Float64Array[] {
  const out = cols.slice();
  let candidate = 0;
  for (let j = 0; j < out.length; j++) {
    if (out[j] !== null) continue;
    for (; candidate < m; candidate++) {
      const e = new Float64Array(m);
      e[candidate] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const c of out) {
          if (c === null) continue;
          const d = dot(c, e);
          for (let i = 0; i < m; i++) e[i] -= d * c[i];
        }
      }
      const norm = Math.sqrt(dot(e, e));
      if (norm > 0.5) {
        for (let i = 0; i < m; i++) e[i] /= norm;
        out[j] = e;
        candidate++;
        break;
      }
    }
  }
  return out as Float64Array[];
}

/**
 * The SVD of a tall matrix given as its `n` columns (each of length `m >= n`), its first `k`
 * singular triplets; the columns are overwritten.
 */
function tallSvd(cols: Float64Array[], m: number, k: number): { u: Float64Array[]; s: number[]; v: Float64Array[] } {
  const n = cols.length;
  const v = Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return e;
  });
  // Columns below this squared norm are rounding noise of the whole matrix (they come out as zero
  // singular values and are completed): rotating them against each other would never converge.
  const negligible = (EPS * Math.sqrt(cols.reduce((s, c) => s + dot(c, c), 0))) ** 2;
  const norms = new Float64Array(n);
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    // Squared column norms, recomputed each sweep and updated exactly enough by each rotation.
    for (let j = 0; j < n; j++) norms[j] = dot(cols[j], cols[j]);
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const ap = cols[p];
        const aq = cols[q];
        const alpha = norms[p];
        const beta = norms[q];
        const gamma = dot(ap, aq);
        if (gamma === 0 || alpha <= negligible || beta <= negligible || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // The rotation that zeroes the pair's inner product (Rutishauser's stable form).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = ap[i];
          const y = aq[i];
          ap[i] = c * x - s * y;
          aq[i] = s * x + c * y;
        }
        norms[p] = alpha - t * gamma;
        norms[q] = beta + t * gamma;
        const vp = v[p];
        const vq = v[q];
        for (let i = 0; i < n; i++) {
          const x = vp[i];
          const y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = cols.map((c) => Math.sqrt(dot(c, c)));
  const order = sigma.map((_, j) => j).sort((a, b) => sigma[b] - sigma[a] || a - b).slice(0, k);
  const top = sigma[order[0]] ?? 0;
  // Singular values at rounding level of the largest have no meaningful direction: complete instead.
  const tiny = top * Math.max(m, n) * EPS;
  const u = complete(order.map((j) => (sigma[j] > tiny ? cols[j].map((x) => x / sigma[j]) : null)), m);
  const vs = order.map((j) => v[j]);
  for (let j = 0; j < k; j++) {
    // Sign: the largest-magnitude entry of each left vector positive (the first such, on ties).
    let at = 0;
    for (let i = 1; i < m; i++) if (Math.abs(u[j][i]) > Math.abs(u[j][at])) at = i;
    if (u[j][at] < 0) {
      for (let i = 0; i < m; i++) u[j][i] = -u[j][i];
      for (let i = 0; i < n; i++) vs[j][i] = -vs[j][i];
    }
  }
  return { u, s: order.map((j) => (sigma[j] > tiny ? sigma[j] : 0)), v: vs };
}

/** Columns (as arrays) of a row-major `rows x cols` matrix, or of its transpose. */
function columnsOf(a: ArrayLike<number>, rows: number, cols: number, transpose: boolean): Float64Array[] {
  if (!transpose) return Array.from({ length: cols }, (_, j) => Float64Array.from({ length: rows }, (_, i) => a[i * cols + j]));
  return Array.from({ length: rows }, (_, i) => Float64Array.from({ length: cols }, (_, j) => a[i * cols + j]));
}

/** Row-major `len x p` from `p` columns of length `len`. */
function rowMajor(columns: Float64Array[], len: number): Float64Array {
  const p = columns.length;
  const out = new Float64Array(len * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < len; i++) out[i * p + j] = columns[j][i];
  return out;
}

/**
 * The thin SVD of the row-major `m x n` matrix `a`, in float64 (see the comment at the top of
 * this file for the method and its accuracy), truncated to its `k` largest singular values
 * (default all, `min(m, n)`; `u` is then `m x k`, `v` is `n x k`). For `m < n` it decomposes
 * `a^T` and swaps the factors. Non-finite entries are refused. @internal
 */
export function svd(a: ArrayLike<number>, m: number, n: number, k = Math.min(m, n)): Svd {
  if (a.length !== m * n) throw new Error(`svd: expected ${m} x ${n} = ${m * n} values, got ${a.length}`);
  if (!Number.isInteger(k) || k < 0 || k > Math.min(m, n)) throw new Error(`svd: k must be a whole number in [0, ${Math.min(m, n)}], got ${k}`);
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`svd: the matrix holds a non-finite value (${a[i]}) at index ${i}`);
  if (m >= n) {
    const r = tallSvd(columnsOf(a, m, n, false), m, k);
    return { u: rowMajor(r.u, m), s: Float64Array.from(r.s), v: rowMajor(r.v, n) };
  }
  const r = tallSvd(columnsOf(a, m, n, true), n, k);
  // a^T = U' S V'^T, so a = V' S U'^T. The sign rule then holds for the right vectors here.
  return { u: rowMajor(r.v, m), s: Float64Array.from(r.s), v: rowMajor(r.u, n) };
}
