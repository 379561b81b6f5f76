import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import type { Params } from '../../src/index.js';

// Random parameter trees for the property suites: a tree *spec* (structure and leaf shapes, what
// fast-check generates and shrinks) and deterministic values for it (from a seed, a step and the
// leaf's position), so that a counterexample prints as a short spec and two seeds.

/** A leaf's shape, a list, an object, or an empty subtree (`null`). */
export type Spec = { shape: number[] } | Spec[] | { [key: string]: Spec } | null;

function isLeaf(spec: Spec): spec is { shape: number[] } {
  return spec !== null && !Array.isArray(spec) && Array.isArray((spec as { shape?: unknown }).shape) && Object.keys(spec).length === 1;
}

/** The leaves' shapes in flatten order (arrays by index, objects by sorted key). */
export function leafShapes(spec: Spec): number[][] {
  if (spec === null) return [];
  if (isLeaf(spec)) return [spec.shape];
  if (Array.isArray(spec)) return spec.flatMap(leafShapes);
  return Object.keys(spec).sort().flatMap((k) => leafShapes(spec[k]));
}

/** `{a: f32[2,3], b: [f32[], null]}`: how a spec prints in a counterexample. */
export function showSpec(spec: Spec): string {
  if (spec === null) return 'null';
  if (isLeaf(spec)) return `f32[${spec.shape.join(',')}]`;
  if (Array.isArray(spec)) return `[${spec.map(showSpec).join(', ')}]`;
  return `{${Object.keys(spec).map((k) => `${k}: ${showSpec(spec[k])}`).join(', ')}}`;
}

/** A small 32-bit PRNG (mulberry32): the same numbers on every run and platform. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` float32 values for (seed, step, leaf): about one in eight exactly 0, the rest of either sign
 * with magnitudes spread log-uniformly over [1e-3, 10], so that clipping thresholds, norms and
 * sign changes all come into play. No subnormals, NaN or infinities: those are edge cases of
 * their own (test/kernels/fused.test.ts), not of the properties here.
 */
export function leafValues(n: number, seed: number, step: number, leaf: number): Float32Array {
  const next = mulberry32(Math.imul(seed, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(leaf + 1, 0xc2b2ae35));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.125) continue;
    const magnitude = 10 ** (-3 + 4 * next());
    out[i] = next() < 0.5 ? -magnitude : magnitude;
  }
  return out;
}

/**
 * A tree of new tensors for `spec`, with {@link leafValues} at (seed, step); `make` turns each
 * leaf's values into its tensor (`tf.tensor` by default).
 */
export function buildTree(
  spec: Spec,
  seed: number,
  step: number,
  make: (values: Float32Array, shape: number[]) => tf.Tensor = (values, shape) => tf.tensor(values, shape, 'float32'),
): Params {
  let leaf = 0;
  const build = (s: Spec): Params => {
    if (s === null) return null;
    if (isLeaf(s)) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      return make(leafValues(n, seed, step, leaf++), s.shape);
    }
    if (Array.isArray(s)) return s.map(build);
    // Built in sorted-key order so that leaf numbers follow the flatten order.
    const out: Record<string, Params> = {};
    for (const k of Object.keys(s).sort()) out[k] = build(s[k]);
    return out;
  };
  return build(spec);
}

/** A leaf: a scalar, a vector (empty, short, or a few SIMD vectors and a remainder long), a matrix or a 3-tensor, any of them possibly empty. */
const shapeArb: fc.Arbitrary<number[]> = fc.oneof(
  { arbitrary: fc.constant<number[]>([]), weight: 2 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 9 })).map((t) => [...t]), weight: 4 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 5 })).map((t) => [...t]), weight: 4 },
  { arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 4 })).map((t) => [...t]), weight: 1 },
  { arbitrary: fc.tuple(fc.integer({ min: 10, max: 70 })).map((t) => [...t]), weight: 1 },
);

const keyArb = fc.constantFrom('a', 'b', 'bias', 'kernel', 'w', 'z', 'layers', 'scale');

/**
 * Random trees: nested objects and arrays (fast-check's 'small' depth), scalars, empty leaves and
 * empty subtrees, mixed shapes, and now and then a wide list of 12 to 40 leaves.
 */
export const specArb: fc.Arbitrary<Spec> = fc.letrec<{ node: Spec; leaf: Spec; list: Spec; dict: Spec; empty: Spec }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('dict'), tie('list'), tie('empty')),
  leaf: shapeArb.map((shape) => ({ shape })),
  empty: fc.constantFrom(null, [] as Spec, {} as Spec),
  list: fc.oneof(
    { arbitrary: fc.array(tie('node'), { minLength: 1, maxLength: 3 }), weight: 6 },
    { arbitrary: fc.array(tie('leaf'), { minLength: 12, maxLength: 40 }), weight: 1 },
  ),
  dict: fc.dictionary(keyArb, tie('node'), { minKeys: 1, maxKeys: 4 }),
})).node;

/** A generated tree: its spec, printed compactly in counterexamples. */
export class Tree {
  constructor(readonly spec: Spec) {}
  /** The leaves' shapes in flatten order. */
  get shapes(): number[][] {
    return leafShapes(this.spec);
  }
  build(seed: number, step: number): Params {
    return buildTree(this.spec, seed, step);
  }
  [fc.toStringMethod](): string {
    return showSpec(this.spec);
  }
}

/**
 * Random trees whose root is an object holding at least one leaf with elements (`p`) beside a
 * random subtree (`q`); counterexamples shrink towards a scalar or short `p` and a one-leaf `q`.
 */
export const treeArb: fc.Arbitrary<Tree> = fc
  .tuple(shapeArb, specArb)
  .map(([first, rest]) => new Tree({ p: { shape: first.includes(0) ? [1] : first }, q: rest }));
