import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adaptiveGradClip,
  clipByBlockRms,
  disposeReplaced,
  normalizeByUpdateNorm,
  scaleByParamBlockNorm,
  scaleByParamBlockRms,
  type GradientTransformation,
} from '../../src/index.js';
import { expectAllClose, expectSteps, flat, gradValues32, itThrowsRangeError, run, thrown, trainWithoutLeak } from '../helpers.js';
import { norm, perLeaf, type Stepper } from '../reference.js';

// The per-block norm transforms, against float64 references on the test tree of helpers.ts
// (one block per leaf).

type AnyTx = GradientTransformation<any>;

describe('per-block norm transforms', () => {
  it('normalizeByUpdateNorm divides by (||g|| + eps) / scaleFactor over the whole tree', () => {
    const ref: Stepper = (g) => {
      const d = (norm(g) + 1e-6) / -2;
      return g.map((x) => x / d);
    };
    expectSteps(normalizeByUpdateNorm({ scaleFactor: -2 }), ref, 2);
    const { updates, state, params } = run(normalizeByUpdateNorm(), 1);
    expect(norm(updates[0])).toBeCloseTo(1, 5);
    disposeReplaced([state, params], []);
  });

  it('clipByBlockRms divides each leaf by max(1, rms / threshold)', () => {
    const ref: Stepper = (g) => perLeaf((_j, gj) => gj.map((x) => x / Math.max(1, norm(gj) / Math.sqrt(gj.length) / 1.2)), g);
    // The kernel's rms (1.34) is above 1.2, the bias's (1.18) and the scalar's (0.54) below: both branches run.
    const rms = perLeaf((_j, gj) => [norm(gj) / Math.sqrt(gj.length)], gradValues32(0));
    expect(rms.map((r) => r > 1.2)).toEqual([false, true, false]);
    expectSteps(clipByBlockRms(1.2), ref, 1);
  });

  it('scaleByParamBlockNorm and scaleByParamBlockRms multiply by the parameter block norm or rms, floored', () => {
    expectSteps(scaleByParamBlockNorm(), (g, p) => perLeaf((_j, gj, pj) => gj.map((x) => x * Math.max(norm(pj), 1e-3)), g, p), 2);
    expectSteps(
      scaleByParamBlockRms({ minScale: 0.9 }),
      (g, p) => perLeaf((_j, gj, pj) => gj.map((x) => x * Math.max(norm(pj) / Math.sqrt(pj.length), 0.9)), g, p),
      2,
    );
    // A zero parameter block scales by minScale.
    const tx = scaleByParamBlockNorm({ minScale: 0.25 });
    const params = { w: tf.zeros([2]) };
    const grads = { w: tf.tensor1d([4, -8]) };
    const [u] = tx.update(grads, tx.init(params), params);
    expect(flat(u)).toEqual([1, -2]);
    disposeReplaced([params, grads, u], []);
  });

  it('adaptiveGradClip clips each unit (matrix column) to clipping * max(||p_unit||, eps)', () => {
    const clipping = 0.8;
    // Units: the bias (whole vector), each of the kernel's 3 columns (axis 0 of a [2, 3] matrix), the scalar.
    const units = [[0, 1, 2], [3, 6], [4, 7], [5, 8], [9]];
    const clippedUnits: boolean[] = [];
    const ref: Stepper = (g, p) => {
      const out = g.slice();
      for (const unit of units) {
        const gn = norm(unit.map((i) => g[i]));
        const maxNorm = clipping * Math.max(norm(unit.map((i) => p[i])), 1e-3);
        clippedUnits.push(gn >= maxNorm);
        if (gn >= maxNorm) for (const i of unit) out[i] = g[i] * (maxNorm / Math.max(gn, 1e-6));
      }
      return out;
    };
    expectSteps(adaptiveGradClip(clipping), ref, 1);
    expect(clippedUnits).toContain(true);
    expect(clippedUnits).toContain(false);
  });

  it('adaptiveGradClip takes the unit axes from the axis option, and needs it above rank 5', () => {
    const params = { w: tf.tensor2d([[3, 4], [0, 1]]) };
    const grads = { w: tf.tensor2d([[30, 40], [0, 0.5]]) };
    const tx = adaptiveGradClip(1, { axis: 1 });
    const [u] = tx.update(grads, tx.init(params), params);
    // Row 0: ||g|| = 50 > 1 * 5, scaled by 5 / 50; row 1: ||g|| = 0.5 < 1, kept.
    expectAllClose(flat(u), [3, 4, 0, 0.5]);
    const big = { w: tf.zeros([2, 1, 2, 1, 2, 2]) };
    const noAxis = adaptiveGradClip(1);
    expect(thrown(() => noAxis.update(big, noAxis.init(big), big)).message).toMatch(/adaptiveGradClip: no default unit axes for updates\.w \(shape \[2, 1, 2, 1, 2, 2\]\)/);
    disposeReplaced([params, grads, u, big], []);
  });
});

describe('no leak over 100 trainSteps', () => {
  const cases: Array<[string, () => AnyTx]> = [
    ['normalizeByUpdateNorm', () => normalizeByUpdateNorm()],
    ['clipByBlockRms', () => clipByBlockRms(0.5)],
    ['adaptiveGradClip', () => adaptiveGradClip(0.1)],
    ['scaleByParamBlockNorm', () => scaleByParamBlockNorm()],
    ['scaleByParamBlockRms', () => scaleByParamBlockRms()],
  ];
  it.each(cases)('%s', (_name, make) => trainWithoutLeak(make(), 100));
});

describe('bad hyperparameters: a RangeError naming the owner and the option', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['normalizeByUpdateNorm scaleFactor', () => normalizeByUpdateNorm({ scaleFactor: 0 }), /normalizeByUpdateNorm: option 'scaleFactor'/],
    ['normalizeByUpdateNorm eps', () => normalizeByUpdateNorm({ eps: -1 }), /normalizeByUpdateNorm: option 'eps'/],
    ['clipByBlockRms threshold', () => clipByBlockRms(0), /clipByBlockRms: option 'threshold'/],
    ['adaptiveGradClip clipping', () => adaptiveGradClip(-1), /adaptiveGradClip: option 'clipping'/],
    ['adaptiveGradClip eps', () => adaptiveGradClip(0.1, { eps: -1 }), /adaptiveGradClip: option 'eps'/],
    ['adaptiveGradClip axis', () => adaptiveGradClip(0.1, { axis: [0, 0.5] }), /adaptiveGradClip: option 'axis\[1\]'/],
    ['scaleByParamBlockNorm minScale', () => scaleByParamBlockNorm({ minScale: NaN }), /scaleByParamBlockNorm: option 'minScale'/],
    ['scaleByParamBlockRms minScale', () => scaleByParamBlockRms({ minScale: -1 }), /scaleByParamBlockRms: option 'minScale'/],
  ];
  itThrowsRangeError(cases, '%s');
});
