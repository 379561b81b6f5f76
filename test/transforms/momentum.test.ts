import { describe, it } from 'vitest';
import { trace } from '../../src/index.js';
import { expectAllClose, flat, gradValues32, makeGrads, makeParams, run } from '../helpers.js';

// References below are written per element in float64 straight from the formulas in the doc
// comments, independently of the tensor code; gradients are the float32 values fed in.

describe('trace (momentum)', () => {
  it('accumulates t = g + decay * t, two steps by hand', () => {
    const g = makeGrads(0);
    const tx = trace({ decay: 0.9 });
    const s0 = tx.init(makeParams());
    const [u1, s1] = tx.update(g, s0);
    const [u2, s2] = tx.update(g, s1);
    const g0 = gradValues32(0);
    expectAllClose(flat(u1), g0);
    expectAllClose(flat(u2), g0.map((x) => 1.9 * x));
    expectAllClose(flat(s2.trace), g0.map((x) => 1.9 * x));
  });

  it('nesterov returns g + decay * t over three steps', () => {
    const { updates } = run(trace({ decay: 0.5, nesterov: true }), 3);
    let t = new Array(10).fill(0);
    for (let k = 0; k < 3; k++) {
      const g = gradValues32(k);
      t = t.map((tk, i) => g[i] + 0.5 * tk);
      expectAllClose(updates[k], g.map((gi, i) => gi + 0.5 * t[i]));
    }
  });
});
