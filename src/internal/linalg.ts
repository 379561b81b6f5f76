// Small dense linear algebra in float64 JS, for preconditioner-sized matrices (SOAP's
// eigenbases, PSGD's triangular factors). tfjs-core has no eigendecomposition and no triangular
// solve. Matrices are row-major `Float64Array`s of an `n x n` (or `n x m`) matrix.

/** `a (n x k) @ b (k x m)`, row-major, in float64. */
export function matMul64(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      const bRow = p * m;
      for (let j = 0; j < m; j++) out[row + j] += aip * b[bRow + j];
    }
  }
  return out;
}

/** The `n x n` identity. */
export function identity64(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** Eigenvalues in descending order and the matching unit eigenvectors as the columns of `vectors`. */
export interface SymmetricEigen {
  values: Float64Array;
  /** Row-major `n x n`; column `j` is the eigenvector of `values[j]`. */
  vectors: Float64Array;
}

/**
 * The eigendecomposition of a symmetric `n x n` matrix by cyclic Jacobi rotations (Golub & Van
 * Loan, "Matrix Computations", 4th ed., section 8.5), in float64. Only the upper triangle is read
 * (the matrix is taken as symmetric). Sweeps rotate every off-diagonal pair until the
 * off-diagonal Frobenius norm is at most `1e-15` times the matrix's (at most 60 sweeps; a handful
 * for the sizes used here). Eigenvalues come out sorted in descending order (a stable sort, so
 * equal ones keep Jacobi's order), the eigenvectors as columns, orthonormal to about
 * `n * 1e-16`; the residual `||A V - V diag(values)||_F` is about `1e-15 ||A||_F` (see
 * test/internal/linalg.test.ts). Deterministic: the same input gives the same bits. The basis of
 * a repeated eigenvalue is whichever Jacobi lands on, as with any eigensolver.
 */
export function symmetricEigen(matrix: Float64Array, n: number): SymmetricEigen {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      a[i * n + j] = matrix[i * n + j];
      a[j * n + i] = matrix[i * n + j];
    }
  }
  const v = identity64(n);
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] * a[i];
  const tol = 1e-30 * total; // (1e-15 ||A||_F)^2
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += 2 * a[i * n + j] * a[i * n + j];
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // The rotation that zeroes a[p][q]: t = tan(angle), the smaller root (|angle| <= pi/4).
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p and q of A
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // rows p and q of A
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const diag = order.map((i) => a[i * n + i]);
  order.sort((x, y) => diag[y] - diag[x]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    values[to] = diag[from];
    for (let k = 0; k < n; k++) vectors[k * n + to] = v[k * n + from];
  });
  return { values, vectors };
}

/**
 * The orthogonal factor `Q` of `A = Q R` for a square `n x n` matrix, by Householder reflections
 * (Golub & Van Loan, section 5.2), in float64. The reflection of column `k` maps it to
 * `-sign(a_kk) ||a_k:|| e_k`, LAPACK's convention, so `R`'s diagonal may be negative (as
 * `torch.linalg.qr`'s). A zero column is left as it is (its reflection is the identity). `Q` is
 * orthogonal to about `n * 1e-16` whatever `A` is; for a full-rank `A`, `Q`'s columns span the
 * same nested subspaces as `A`'s.
 */
export function householderQ(matrix: Float64Array, n: number): Float64Array {
  const r = Float64Array.from(matrix);
  const q = identity64(n);
  const v = new Float64Array(n);
  for (let k = 0; k < n - 1; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += r[i * n + k] * r[i * n + k];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = r[k * n + k] >= 0 ? -norm : norm;
    let vNorm = 0;
    for (let i = k; i < n; i++) {
      v[i] = r[i * n + k] - (i === k ? alpha : 0);
      vNorm += v[i] * v[i];
    }
    if (vNorm === 0) continue;
    const beta = 2 / vNorm;
    // R <- (I - beta v v^T) R on rows k..n-1
    for (let j = k; j < n; j++) {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i] * r[i * n + j];
      dot *= beta;
      for (let i = k; i < n; i++) r[i * n + j] -= dot * v[i];
    }
    // Q <- Q (I - beta v v^T) on columns k..n-1
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = k; j < n; j++) dot += q[i * n + j] * v[j];
      dot *= beta;
      for (let j = k; j < n; j++) q[i * n + j] -= dot * v[j];
    }
  }
  return q;
}

/**
 * The inverse of an upper-triangular `n x n` matrix (only the upper triangle is read), by back
 * substitution in float64: exact up to rounding, relative error about `cond(U) * 1e-16`. A zero
 * on the diagonal gives infinities (as a solve with a singular triangular matrix does).
 */
export function invertUpperTriangular(u: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let j = n - 1; j >= 0; j--) {
    inv[j * n + j] = 1 / u[j * n + j];
    for (let i = j - 1; i >= 0; i--) {
      let sum = 0;
      for (let k = i + 1; k <= j; k++) sum += u[i * n + k] * inv[k * n + j];
      inv[i * n + j] = -sum / u[i * n + i];
    }
  }
  return inv;
}
