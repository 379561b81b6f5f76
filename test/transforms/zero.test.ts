import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { applyUpdates, setToZero, treeDispose } from '../../src/index.js';
import { expectBitwiseEqual, flat, makeGrads, makeParams, noLeak, PARAM_VALUES } from '../helpers.js';


describe('setToZero', () => {
  it('every update becomes new zeros of its shape; state {}', () => {
    const tx = setToZero();
    const params = makeParams();
    const grads = makeGrads(2);
    const state = tx.init(params);
    expect(state).toEqual({});
    const [u, next] = tx.update(grads, state, params);
    expect(next).toEqual({});
    expect(flat(u)).toEqual(new Array(10).fill(0));
    expect(u.layer.kernel.shape).toEqual([2, 3]);
    expect(u.scale.shape).toEqual([]);
    expect(u.layer.bias).not.toBe(grads.layer.bias);
    // Applied, the parameters do not move.
    const moved = applyUpdates(params, u);
    expectBitwiseEqual(moved, PARAM_VALUES);
    treeDispose([params, grads, u, moved]);
  });

  it('bad input names setToZero and creates nothing', () => {
    noLeak(() => {
      const g = { a: tf.zeros([2], 'int32') };
      expect(() => setToZero().update(g, {})).toThrow(/^setToZero: updates\.a must be a float32 tensor, got int32/);
      expect(() => setToZero().update({ a: 3 } as never, {})).toThrow(/setToZero/);
      expect(() => setToZero().update(g as never, [] as never)).toThrow(/^setToZero: state must be \{\}, got an array/);
      g.a.dispose();
    });
  });
});
