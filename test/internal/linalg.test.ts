import { describe, expect, it } from 'vitest';
import { householderQ, identity64, invertUpperTriangular, matMul64, symmetricEigen } from '../../src/internal/linalg.js';

// The float64 factorisations behind SOAP and PSGD Kron: checked by their defining identities on
// known and random matrices, with the accuracy the doc comments state.

/** mulberry32, for reproducible random matrices. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

const random = (n: number, m: number, seed: number) => Float64Array.from({ length: n * m }, rng(seed));
const transpose = (a: Float64Array, n: number, m: number) => Float64Array.from({ length: n * m }, (_, k) => a[(k % n) * m + Math.floor(k / n)]);
const frob = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));
const minus = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (x, i) => x - b[i]);
/** A random symmetric n x n matrix (B + B^T) / 2. */
function symmetric(n: number, seed: number): Float64Array {
  const b = random(n, n, seed);
  return Float64Array.from(b, (x, k) => (x + b[(k % n) * n + Math.floor(k / n)]) / 2);
}

describe('symmetricEigen', () => {
  it('finds the eigenpairs of [[2, 1], [1, 2]]: 3 and 1, vectors (1, 1) and (1, -1) over sqrt 2', () => {
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(3, 14);
    expect(values[1]).toBeCloseTo(1, 14);
    const s = Math.SQRT1_2;
    expect(Math.abs(vectors[0])).toBeCloseTo(s, 14);
    expect(vectors[2] / vectors[0]).toBeCloseTo(1, 14); // column 0 ~ (1, 1)
    expect(vectors[3] / vectors[1]).toBeCloseTo(-1, 14); // column 1 ~ (1, -1)
  });

  it.each([3, 8, 30])('decomposes a random symmetric %i x %i matrix: ||AV - V diag(w)|| <= 1e-13 ||A||, V orthogonal to 1e-13, w descending', (n) => {
    const a = symmetric(n, n);
    const { values, vectors } = symmetricEigen(a, n);
    const av = matMul64(a, vectors, n, n, n);
    const vw = Float64Array.from(vectors, (x, k) => x * values[k % n]);
    expect(frob(minus(av, vw))).toBeLessThan(1e-13 * frob(a));
    expect(frob(minus(matMul64(transpose(vectors, n, n), vectors, n, n, n), identity64(n)))).toBeLessThan(1e-13);
    for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    // The trace is the sum of the eigenvalues.
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i];
    expect(values.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 12);
  });

  it('handles a rank-1 Gram matrix g g^T (a zero eigenvalue of multiplicity 2) and a diagonal one', () => {
    const g = [1, -2, 0.5];
    const a = Float64Array.from({ length: 9 }, (_, k) => g[Math.floor(k / 3)] * g[k % 3]);
    const { values, vectors } = symmetricEigen(a, 3);
    expect(values[0]).toBeCloseTo(5.25, 13);
    expect(Math.abs(values[1]) + Math.abs(values[2])).toBeLessThan(1e-14);
    const top = [vectors[0], vectors[3], vectors[6]];
    const sign = Math.sign(top[0]);
    top.forEach((x, i) => expect(sign * x).toBeCloseTo(g[i] / Math.sqrt(5.25), 14));
    const d = symmetricEigen(Float64Array.from([1, 0, 0, 0, 3, 0, 0, 0, 2]), 3);
    expect(Array.from(d.values)).toEqual([3, 2, 1]);
    expect(Array.from(d.vectors)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });
});

describe('householderQ', () => {
  it.each([2, 5, 30])('gives an orthogonal Q with Q^T A upper triangular for a random %i x %i matrix (to 1e-13)', (n) => {
    const a = random(n, n, 100 + n);
    const q = householderQ(a, n);
    expect(frob(minus(matMul64(transpose(q, n, n), q, n, n, n), identity64(n)))).toBeLessThan(1e-13);
    const r = matMul64(transpose(q, n, n), a, n, n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(Math.abs(r[i * n + j])).toBeLessThan(1e-13 * frob(a));
  });

  it('keeps the span of the first column: Q e1 = -sign(a11) a1 / ||a1||, and leaves a zero matrix alone', () => {
    const a = Float64Array.from([3, 1, 4, 2]);
    const q = householderQ(a, 2);
    expect(q[0]).toBeCloseTo(-3 / 5, 15);
    expect(q[2]).toBeCloseTo(-4 / 5, 15);
    expect(Array.from(householderQ(new Float64Array(4), 2))).toEqual([1, 0, 0, 1]);
  });
});

describe('invertUpperTriangular', () => {
  it('inverts [[2, 1], [0, 4]] exactly and a random 20 x 20 upper-triangular matrix to 1e-12', () => {
    expect(Array.from(invertUpperTriangular(Float64Array.from([2, 1, 0, 4]), 2))).toEqual([0.5, -0.125, 0, 0.25]);
    const n = 20;
    const u = random(n, n, 7).map((x, k) => (k % n < Math.floor(k / n) ? 0 : k % n === Math.floor(k / n) ? 1 + Math.abs(x) : x));
    const inv = invertUpperTriangular(u, n);
    expect(frob(minus(matMul64(u, inv, n, n, n), identity64(n)))).toBeLessThan(1e-12);
  });
});
