import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  adam,
  amsgrad,
  applyUpdates,
  chain,
  disposeReplaced,
  scaleByAmsgrad,
  scaleByLearningRate,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { flat } from '../helpers.js';
import { amsgradRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

type AnyTx = GradientTransformation<any>;

const CASES: OptimizerCase[] = [
  {
    name: 'amsgrad',
    make: (lr) => amsgrad(lr),
    chain: (lr) => chain(scaleByAmsgrad(), scaleByLearningRate(lr)),
    reference: (lr) => amsgradRef(lr),
    converge: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
  {
    name: 'amsgrad without bias corrections (the paper)',
    make: (lr) => amsgrad(lr, { biasCorrectionMu: false, biasCorrectionNu: false }),
    chain: (lr) => chain(scaleByAmsgrad({ biasCorrectionMu: false, biasCorrectionNu: false }), scaleByLearningRate(lr)),
    reference: (lr) => amsgradRef(lr, { biasCorrectionMu: false, biasCorrectionNu: false }),
    converge: { parabola: 1e-1, rosenbrock: 1e-1, quadratic: 1e-2 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('defining behaviour', () => {
  it('amsgrad: the denominator keeps the largest second moment, so a big gradient slows later steps', () => {
    const run = (tx: AnyTx) => {
      let params: Params = { x: tf.tensor1d([0]) };
      let state = tx.init(params);
      let last = 0;
      for (const g of [10, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]) {
        const grads: Params = { x: tf.tensor1d([g]) };
        const [u, s]: [Params, unknown] = tx.update(grads, state, params);
        last = flat(u)[0];
        const next: Params = applyUpdates(params, u);
        disposeReplaced([params, state, u], [next, s]);
        params = next;
        state = s;
      }
      const nuMax = 'nuMax' in (state as any)[0] ? flat((state as any)[0].nuMax)[0] : null;
      disposeReplaced([params, state], []);
      return { last, nuMax };
    };
    const ams = run(amsgrad(0.1));
    const plain = run(adam(0.1));
    expect(Math.abs(ams.last)).toBeLessThan(Math.abs(plain.last));
    // nuMax is the bias-corrected second moment of the first step, (1 - b2) g^2 / (1 - b2) = 100.
    expect(ams.nuMax).toBeCloseTo(100, 3);
  });
});
