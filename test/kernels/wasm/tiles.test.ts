// Generated programs on the cpu backend through the SIMD tiles (src/kernels/wasm/tiles.ts)
// against the same programs through the typed-array loops (src/kernels/cpu/compile.ts), bit for
// bit: leaves longer than a tile, more small leaves than a tile holds pieces, zero-size leaves,
// partial vectors, per-leaf scalars, variants per leaf, flat slots, the clip scale, the in-place
// step and the plain update, and NaN, infinite and subnormal gradients.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adan,
  chain,
  clipByGlobalNorm,
  disposeReplaced,
  flatten,
  kernelPath,
  lamb,
  lion,
  novograd,
  scaleByLearningRate,
  scaleByRms,
  trainStep,
  yogi,
  type GradientTransformation,
  type Params,
} from '../../../src/index.js';
import { setCpuTiles } from '../../../src/kernels/cpu/backend.js';
import { runProgramLoops } from '../../../src/kernels/cpu/compile.js';
import type { FusedAttrs } from '../../../src/kernels/layout.js';
import { ProgramBuilder } from '../../../src/kernels/program.js';
import { ProgramTiles } from '../../../src/kernels/wasm/tiles.js';
import { stateValues } from '../../helpers.js';
import { A, B, compute, SCALARS } from '../../program-values.js';

const previous = tf.getBackend();
afterAll(async () => {
  setCpuTiles(true);
  await tf.setBackend(previous);
});

// 1,040 leaves of 0 to 4 elements (1,029 of them not empty) overflow the 1,024 pieces one tile
// holds; 20,003 elements span three 8,192-element tiles and end in a partial vector.
const SHAPES: number[][] = [[3, 5], ...Array.from({ length: 1040 }, (_, j) => [j % 100 === 0 ? 0 : 1 + (j % 4)]), [20003], [0], [7]];
const SPECIAL = [NaN, Infinity, -Infinity, 1e-40, -1e-40, 0, -0];

function tree(seed: number, special: boolean): tf.Tensor[] {
  return SHAPES.map((shape, j) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, (_, i) => Math.sin(seed + j * 0.37 + i * 0.013) * (1 + (i % 3)));
    if (special && j === 0) SPECIAL.forEach((x, i) => (values[i] = x));
    return tf.tensor(values, shape);
  });
}

/** Decay on every other leaf: two program variants. */
const everyOther = (p: Params) => (p as tf.Tensor[]).map((_, j) => j % 2 === 0);

const CASES: Array<[string, () => GradientTransformation<any>]> = [
  ['lion, decay masked on every other leaf (variants)', () => lion(0.01, { weightDecay: 0.1, mask: everyOther })],
  ['adan (a state slot keeping the gradient)', () => adan(0.01, { weightDecay: 0.01 })],
  ['yogi (max and min)', () => yogi(0.01)],
  ['scaleByRms + scaleByLearningRate (rsqrt)', () => chain(scaleByRms(), scaleByLearningRate(0.01))],
  ['lamb (per-leaf scalars)', () => lamb(0.01, { weightDecay: 0.01 })],
  ['novograd (per-leaf state)', () => novograd(0.01)],
  ['clipByGlobalNorm + lion (the clip scale)', () => chain(clipByGlobalNorm(0.5), lion(0.01))],
  ['flatten(lion) (flat slots)', () => flatten(lion(0.01))],
];

/**
 * Two steps (the second with special gradients) with `tiles` on or off, by trainStep (in place;
 * the parameters and state after) or by update (each update, and the state after).
 */
function run(make: () => GradientTransformation<any>, tiles: boolean, how: 'trainStep' | 'update'): number[] {
  setCpuTiles(tiles);
  const tx = make();
  let params: Params = tree(0, false);
  let state = tx.init(params);
  const values: number[] = [];
  for (let k = 1; k <= 2; k++) {
    const grads = tree(k, k === 2);
    if (how === 'trainStep') {
      ({ params, state } = trainStep(tx, params, state, grads));
    } else {
      const [u, s] = tx.update(grads, state, params);
      values.push(...stateValues(u));
      disposeReplaced([u, state, grads], [params, s]);
      state = s;
    }
  }
  values.push(...stateValues(params), ...stateValues(state));
  disposeReplaced([params, state], []);
  return values;
}

function expectSameBits(got: number[], want: number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    if (!Object.is(got[i], want[i])) throw new Error(`value ${i}: tiles ${got[i]}, loops ${want[i]}`);
  }
}

describe('generated programs on the cpu backend, through the tiles and through the loops', () => {
  // Every operation over every pair of special values (program-values.ts), in leaves of 0 to 283
  // elements with a per-leaf scalar each; then in place, with an output that copies an input
  // into another input's array while a computed output overwrites that input's.
  const SIZES = [0, 1, 5, 0, 283];
  const leaves = (x: Float32Array) => SIZES.map((n, j) => x.slice(SIZES.slice(0, j).reduce((a, b) => a + b, 0)).subarray(0, n));
  const attrsOf = (program: FusedAttrs['programs'] & object): FusedAttrs => ({
    scalars: [SCALARS[0]],
    clipNorm: 0,
    leaves: SIZES.length,
    hasParams: false,
    slotCount: 0,
    programs: program,
    variants: [],
    leafScalars: SIZES.map((_, j) => SCALARS[1] * (j + 1)),
  });

  it('every operation on special values, into new arrays and in place', () => {
    const tiles = ProgramTiles.get()!;
    const b = new ProgramBuilder();
    const [a, x] = [b.input(), b.input()];
    const outputs = compute(b, a, x, b.scalar(), b.scalar());
    const all = attrsOf([b.build(outputs)]);
    const fresh = () => outputs.map(() => SIZES.map((n) => new Float32Array(n)));
    const [got, want] = [fresh(), fresh()];
    const ins = [leaves(A), leaves(B)];
    expect(tiles.run(all, { sizes: SIZES, inputs: ins, outputs: got }, all.scalars)).toBe(true);
    runProgramLoops(all, { sizes: SIZES, inputs: ins, outputs: want }, all.scalars);
    got.forEach((list, k) => list.forEach((leaf, j) => expectSameBits(Array.from(leaf), Array.from(want[k][j]))));

    const inPlace = attrsOf([b.build([outputs[0], a])]);
    const [mine, loops] = [[leaves(A), leaves(B)], [leaves(A), leaves(B)]];
    expect(tiles.run(inPlace, { sizes: SIZES, inputs: mine, outputs: mine }, inPlace.scalars)).toBe(true);
    runProgramLoops(inPlace, { sizes: SIZES, inputs: loops, outputs: loops }, inPlace.scalars);
    mine.forEach((list, k) => list.forEach((leaf, j) => expectSameBits(Array.from(leaf), Array.from(loops[k][j]))));
    expect(Array.from(mine[1][4])).toEqual(Array.from(leaves(A)[4]));
  });

  it.each(CASES)('%s: the same bits, by trainStep and by update', async (_, make) => {
    await tf.setBackend('cpu');
    expect(kernelPath(make())).toBe('cpu');
    for (const how of ['trainStep', 'update'] as const) {
      const before = tf.memory().numTensors;
      expectSameBits(run(make, true, how), run(make, false, how));
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
