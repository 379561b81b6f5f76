import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  applyUpdates,
  chain,
  disposeReplaced,
  radam,
  scaleByLearningRate,
  scaleByRadam,
  type GradientTransformation,
  type Params,
} from '../../src/index.js';
import { expectAllClose, flat } from '../helpers.js';
import { radamRef } from '../reference.js';
import { describeOptimizer, type OptimizerCase } from './suite.js';

type AnyTx = GradientTransformation<any>;

const CASES: OptimizerCase[] = [
  {
    name: 'radam',
    make: (lr) => radam(lr),
    chain: (lr) => chain(scaleByRadam(), scaleByLearningRate(lr)),
    reference: (lr) => radamRef(lr),
    converge: { parabola: 5e-3, rosenbrock: 5e-3, quadratic: 5e-3 },
  },
];

for (const c of CASES) describeOptimizer(c);

describe('defining behaviour', () => {
  const f = Math.fround;
  it('radam: bias-corrected momentum for 5 steps, then the rectified Adam step (b2 = 0.999, threshold 5)', () => {
    const lr = 0.01;
    const tx: AnyTx = radam(lr);
    const ref = radamRef(lr);
    let params: Params = { x: tf.tensor1d([0.3, -1.2, 2]) };
    let state = tx.init(params);
    for (let k = 0; k < 8; k++) {
      const g = [Math.sin(k + 1), Math.cos(k * 0.7) * 2, 0.1 * (k - 3)];
      const grads: Params = { x: tf.tensor1d(g) };
      const [u, s]: [Params, unknown] = tx.update(grads, state, params);
      const got = flat(u);
      expectAllClose(got, ref(g.map(f), flat(params)), 1e-5, 1e-9);
      if (k < 5) {
        // Unrectified: exactly -lr * mu / (1 - b1^t), no second moment involved.
        const mu = flat((s as any)[0].mu);
        mu.forEach((m, i) => expect(got[i]).toBeCloseTo((-lr * m) / (1 - 0.9 ** (k + 1)), 7));
      }
      const next: Params = applyUpdates(params, u);
      disposeReplaced([params, state, u], [next, s]);
      params = next;
      state = s;
    }
    disposeReplaced([params, state], []);
  });
});
