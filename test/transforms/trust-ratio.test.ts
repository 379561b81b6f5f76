import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { disposeReplaced, scaleByTrustRatio } from '../../src/index.js';
import { expectSteps, flat, itThrowsRangeError, makeGrads, makeParams, thrown, trainWithoutLeak } from '../helpers.js';
import { perLeaf, trustRatio } from '../reference.js';

describe('scaleByTrustRatio', () => {
  it('scales each leaf by ||p|| / ||u||, one ratio per leaf (float64 reference, three steps)', () => {
    expectSteps(scaleByTrustRatio(), (g, p) => perLeaf((_j, gj, pj) => trustRatio(gj, pj), g, p), 3);
    expectSteps(
      scaleByTrustRatio({ minNorm: 2, trustCoefficient: 0.5, eps: 0.1 }),
      (g, p) => perLeaf((_j, gj, pj) => trustRatio(gj, pj, { minNorm: 2, tc: 0.5, eps: 0.1 }), g, p),
      3,
    );
  });

  it('leaves an update whose parameter or update is all zeros unscaled (ratio 1, as optax)', () => {
    const tx = scaleByTrustRatio({ trustCoefficient: 3 });
    const params = { a: tf.zeros([3]), b: tf.tensor1d([1, 2, 2]) };
    const grads = { a: tf.tensor1d([1, -2, 4]), b: tf.zeros([3]) };
    const [u] = tx.update(grads, tx.init(params), params);
    expect(flat(u)).toEqual([1, -2, 4, 0, 0, 0]);
    disposeReplaced([params, grads, u], []);
  });

  it('needs params', () => {
    const tx = scaleByTrustRatio();
    const grads = makeGrads(0);
    expect(thrown(() => tx.update(grads, tx.init(makeParams()))).message).toMatch(/scaleByTrustRatio: .*needs the current parameters/);
    disposeReplaced([grads], []);
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(scaleByTrustRatio({ minNorm: 1e-3 }), 100));
});

describe('bad hyperparameters: a RangeError naming the owner and the option', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['scaleByTrustRatio minNorm', () => scaleByTrustRatio({ minNorm: -1 }), /scaleByTrustRatio: option 'minNorm'/],
  ];
  itThrowsRangeError(cases, '%s');
});
