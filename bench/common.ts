// What the Node benchmarks share: the trees of parameters and the interleaved timing.
import * as tf from '@tensorflow/tfjs-core';

/** `--quick`: fewer repetitions and a shorter warm-up. */
export const QUICK = process.argv.includes('--quick');
export const REPS = QUICK ? 5 : 9;
const WARMUP_MS = QUICK ? 100 : 300;

// ---------------------------------------------------------------------------------------------
// Trees

export type Shapes = number[][];

function transformerShapes(): Shapes {
  const d = 256;
  const vocab = 4000;
  const layers = 6;
  const shapes: Shapes = [[vocab, d], [128, d]];
  for (let l = 0; l < layers; l++) {
    for (let k = 0; k < 4; k++) shapes.push([d, d], [d]); // query, key, value, output
    shapes.push([d, 4 * d], [4 * d], [4 * d, d], [d]); // MLP
    shapes.push([d], [d], [d], [d]); // two layer norms
  }
  shapes.push([d], [d]); // final layer norm
  return shapes;
}

export const TREES: Record<string, { label: string; shapes: Shapes }> = {
  a: { label: '(a) 1 leaf of 1M', shapes: [[1000, 1000]] },
  b: { label: '(b) 100 leaves of 10k', shapes: Array.from({ length: 100 }, () => [100, 100]) },
  c: { label: '(c) 200 leaves of 64', shapes: Array.from({ length: 200 }, () => [64]) },
  d: { label: '(d) small transformer', shapes: transformerShapes() },
};

export function paramCount(shapes: Shapes): number {
  return shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
}

export function randomTree(shapes: Shapes, seed: number): tf.Tensor[] {
  return shapes.map((s, i) => tf.randomNormal(s, 0, 0.1, 'float32', seed * 1000 + i));
}

// ---------------------------------------------------------------------------------------------
// Timing

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * How many calls of `step` last about 20 ms, after a warm-up of at least 3 calls and 300 ms: the
 * JavaScript around a kernel call reaches V8's optimising tier only after some hundreds of calls
 * (a plain Adam step on tree (c) measured 1.3 ms after 3 warm-up calls, 0.65 ms after 300 ms).
 */
function callsFor(step: () => void): number {
  const warm = performance.now();
  for (let i = 0; i < 3 || performance.now() - warm < WARMUP_MS; i++) step();
  const t0 = performance.now();
  step();
  const once = Math.max(performance.now() - t0, 0.01);
  return Math.max(1, Math.min(200, Math.round(20 / once)));
}

/** ms per call of `step` over `calls` calls. */
export function timeBlock(step: () => void, calls: number): number {
  const start = performance.now();
  for (let i = 0; i < calls; i++) step();
  return (performance.now() - start) / calls;
}

/** Median ms per call of `step`, after warm-up. */
export function timeSteps(step: () => void): number {
  const calls = callsFor(step);
  return median(Array.from({ length: REPS }, () => timeBlock(step, calls)));
}

/**
 * Times several steps interleaved: each repetition runs a block of every step in turn, so a
 * slow spell of the shared machine hits them all alike. Returns each step's median ms per call
 * and, for ratios, the per-repetition samples.
 */
export function timeInterleaved<K extends string>(steps: Record<K, () => void>): Record<K, number[]> {
  const keys = Object.keys(steps) as K[];
  const calls = Object.fromEntries(keys.map((k) => [k, callsFor(steps[k])])) as Record<K, number>;
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < REPS; r++) for (const k of keys) samples[k].push(timeBlock(steps[k], calls[k]));
  return samples;
}

/** The median over repetitions of `a[r] / b[r]`. */
export function medianRatio(a: number[], b: number[]): number {
  return median(a.map((x, r) => x / b[r]));
}

