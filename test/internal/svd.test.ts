import { describe, expect, it } from 'vitest';
import { svd } from '../../src/internal/svd.js';

// The float64 one-sided Jacobi SVD GaLore projects with: exact on hand-checkable matrices,
// residuals and orthogonality at float64 rounding on random ones, singular values of constructed
// matrices to ~1e-14, deterministic, and the documented sign and completion rules.

/** A deterministic pseudo-random stream in [-1, 1) (an LCG, so the matrices are the same every run). */
function stream(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 31 - 1;
  };
}

const random = (m: number, n: number, seed: number) => {
  const r = stream(seed);
  return Float64Array.from({ length: m * n }, r);
};

/** max |A - U S V^T| and the largest deviation of U^T U and V^T V from I. */
function errors(a: Float64Array, m: number, n: number) {
  const { u, s, v } = svd(a, m, n);
  const p = Math.min(m, n);
  let residual = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let k = 0; k < p; k++) x += u[i * p + k] * s[k] * v[j * p + k];
      residual = Math.max(residual, Math.abs(x - a[i * n + j]));
    }
  }
  const ortho = (w: Float64Array, rows: number) => {
    let worst = 0;
    for (let k = 0; k < p; k++) {
      for (let l = 0; l < p; l++) {
        let x = 0;
        for (let i = 0; i < rows; i++) x += w[i * p + k] * w[i * p + l];
        worst = Math.max(worst, Math.abs(x - (k === l ? 1 : 0)));
      }
    }
    return worst;
  };
  return { residual, u: ortho(u, m), v: ortho(v, n), s };
}

/** An orthogonal n x n matrix (row-major): a product of Householder reflections of random vectors. */
function orthogonal(n: number, seed: number): Float64Array {
  const q = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  const r = stream(seed);
  for (let h = 0; h < 3; h++) {
    const w = Float64Array.from({ length: n }, r);
    const norm2 = w.reduce((s, x) => s + x * x, 0);
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += q[i * n + k] * w[k];
      for (let k = 0; k < n; k++) q[i * n + k] -= (2 * d * w[k]) / norm2;
    }
  }
  return q;
}

describe('svd (one-sided Jacobi, float64)', () => {
  it('decomposes hand-checkable matrices exactly: diag(3, 2), [[3, 4]] and a rank-1 block of 2s', () => {
    const d = svd([2, 0, 0, 3], 2, 2);
    expect(Array.from(d.s)).toEqual([3, 2]);
    expect(Array.from(d.u)).toEqual([0, 1, 1, 0]);
    const row = svd([3, 4], 1, 2);
    expect(Array.from(row.s)).toEqual([5]);
    expect(Array.from(row.u)).toEqual([1]);
    expect(Array.from(row.v)).toEqual([0.6, 0.8]);
    // 2 * ones(4, 3): sigma = 2 sqrt(12), u = ones / 2; the other singular values are 0 and their
    // left vectors are the completion (Gram-Schmidt of e1, e2, ...), orthonormal.
    const ones = svd(new Array(12).fill(2), 4, 3);
    expect(ones.s[0]).toBeCloseTo(2 * Math.sqrt(12), 13);
    expect(Array.from(ones.s.slice(1))).toEqual([0, 0]);
    for (let i = 0; i < 4; i++) expect(ones.u[i * 3]).toBeCloseTo(0.5, 15);
    expect(errors(Float64Array.from(new Array(12).fill(2)), 4, 3).u).toBeLessThan(1e-15);
  });

  it.each([[8, 5, 1], [5, 8, 2], [64, 32, 3], [16, 16, 4], [1, 6, 5], [6, 1, 6]])(
    'A = U S V^T to 1e-14 and orthonormal U, V to 1e-14 on a random %i x %i matrix (seed %i)',
    (m, n, seed) => {
      const a = random(m, n, seed);
      const e = errors(a, m, n);
      expect(e.residual).toBeLessThan(1e-14 * Math.sqrt(m * n));
      expect(e.u).toBeLessThan(1e-14);
      expect(e.v).toBeLessThan(1e-14);
      for (let k = 1; k < e.s.length; k++) expect(e.s[k]).toBeLessThanOrEqual(e.s[k - 1]);
    },
  );

  it('finds constructed singular values 1e0 ... 1e-6 to 1e-14 relative, and their vectors to 1e-12', () => {
    const n = 7;
    const sigma = Array.from({ length: n }, (_, k) => 10 ** -k);
    const [q1, q2] = [orthogonal(n, 11), orthogonal(n, 12)];
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += q1[i * n + k] * sigma[k] * q2[j * n + k];
    const { s, u } = svd(a, n, n);
    sigma.forEach((x, k) => expect(Math.abs(s[k] - x) / x).toBeLessThan(1e-14 * 10 ** k));
    // Left vectors equal Q1's columns up to sign (the gaps are a factor 10 apart).
    for (let k = 0; k < 4; k++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += u[i * n + k] * q1[i * n + k];
      expect(Math.abs(Math.abs(d) - 1)).toBeLessThan(1e-12);
    }
  });

  it('truncated to k triplets, gives the leading columns of the full decomposition', () => {
    const a = random(9, 14, 8);
    const [full, top] = [svd(a, 9, 14), svd(a, 9, 14, 3)];
    expect(top.s).toEqual(full.s.slice(0, 3));
    for (let i = 0; i < 9; i++) expect(Array.from(top.u.slice(i * 3, i * 3 + 3))).toEqual(Array.from(full.u.slice(i * 9, i * 9 + 3)));
    for (let i = 0; i < 14; i++) expect(Array.from(top.v.slice(i * 3, i * 3 + 3))).toEqual(Array.from(full.v.slice(i * 9, i * 9 + 3)));
    expect(() => svd(a, 9, 14, 10)).toThrow(/k must be a whole number in \[0, 9\], got 10/);
  });

  it('is deterministic, with each left vector\'s largest entry positive', () => {
    const a = random(12, 9, 7);
    const [x, y] = [svd(a, 12, 9), svd(a, 12, 9)];
    expect(x).toEqual(y);
    for (let k = 0; k < 9; k++) {
      const col = Array.from({ length: 12 }, (_, i) => x.u[i * 9 + k]);
      const big = col.reduce((b, c) => (Math.abs(c) > Math.abs(b) ? c : b), 0);
      expect(big).toBeGreaterThan(0);
    }
  });

  it('decomposes the zero matrix (singular values 0, an orthonormal completion) and refuses non-finite values', () => {
    const z = svd(new Float64Array(6), 3, 2);
    expect(Array.from(z.s)).toEqual([0, 0]);
    expect(Array.from(z.u)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(() => svd([1, NaN], 1, 2)).toThrow(/svd: the matrix holds a non-finite value \(NaN\) at index 1/);
    expect(() => svd([1, 2, 3], 2, 2)).toThrow(/expected 2 x 2 = 4 values, got 3/);
  });
});
