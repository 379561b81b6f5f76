// Plain float64 matrix helpers for the test transcriptions of SOAP's and PSGD Kron's reference
// updates (test/optimizers/soap.test.ts, psgd-kron.test.ts). Written independently of src/:
// eigenvectors by power iteration with deflation, QR by modified Gram–Schmidt, triangular
// solves by substitution.

export type Matrix = number[][];

export const zeros = (n: number, m: number): Matrix => Array.from({ length: n }, () => new Array<number>(m).fill(0));
export const eye = (n: number, s = 1): Matrix => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? s : 0)));
export const mul = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
export const tr = (a: Matrix): Matrix => a[0].map((_, j) => a.map((row) => row[j]));
export const map2 = (a: Matrix, b: Matrix, f: (x: number, y: number) => number): Matrix => a.map((row, i) => row.map((x, j) => f(x, b[i][j])));
export const map1 = (a: Matrix, f: (x: number) => number): Matrix => a.map((row) => row.map(f));
export const flatOf = (a: Matrix): number[] => a.flat();
export const maxAbs = (a: Matrix): number => Math.max(...a.flat().map(Math.abs));
const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
const normalize = (x: number[]) => {
  const n = Math.sqrt(dot(x, x));
  return x.map((v) => v / n);
};

/**
 * Eigenvectors of a symmetric positive semi-definite matrix as columns, eigenvalues descending:
 * power iteration on each in turn, kept orthogonal to those found before (the last ones, in the
 * null space, come out of the orthogonalisation alone).
 */
export function eighDescending(a: Matrix): Matrix {
  const n = a.length;
  const found: number[][] = [];
  for (let k = 0; k < n; k++) {
    let x = Array.from({ length: n }, (_, i) => 1 + 0.1 * i + 0.01 * k * i * i);
    const orth = (v: number[]) => {
      let y = v;
      for (const f of found) {
        const d = dot(y, f);
        y = y.map((t, i) => t - d * f[i]);
      }
      return y;
    };
    x = normalize(orth(x));
    for (let it = 0; it < 3000; it++) {
      const y = orth(a.map((row) => dot(row, x)));
      const ny = Math.sqrt(dot(y, y));
      if (ny < 1e-280) break; // the rest of the space is null: keep x
      x = normalize(orth(y.map((v) => v / ny)));
    }
    found.push(x);
  }
  return tr(found);
}

/** Q of A = QR by modified Gram–Schmidt (A square and of full rank). */
export function gramSchmidtQ(a: Matrix): Matrix {
  const cols = tr(a);
  const q: number[][] = [];
  for (const c of cols) {
    let v = c.slice();
    for (const u of q) {
      const d = dot(v, u);
      v = v.map((t, i) => t - d * u[i]);
    }
    q.push(normalize(v));
  }
  return tr(q);
}

/** X A^{-1} for an upper-triangular A, row by row by forward substitution (torch's solve_triangular(A, X, upper, left=False)). */
export function solveRightUpper(x: Matrix, a: Matrix): Matrix {
  const n = a.length;
  return x.map((row) => {
    // y A = row: y_j = (row_j - sum_{k<j} y_k A_kj) / A_jj
    const y = new Array<number>(n).fill(0);
    for (let j = 0; j < n; j++) {
      let s = row[j];
      for (let k = 0; k < j; k++) s -= y[k] * a[k][j];
      y[j] = s / a[j][j];
    }
    return y;
  });
}
