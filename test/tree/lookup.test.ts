import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { treeGet, treeSet } from '../../src/index.js';
import { makeParams } from '../helpers.js';

describe('treeGet and treeSet', () => {
  const params = makeParams();

  it('treeGet and treeSet work on parameter trees', () => {
    expect(treeGet(params, 'bias')).toBe(params.layer.bias);
    expect(treeGet(params, 'layer')).toBe(params.layer);
    const b = tf.zeros([3]);
    const next = treeSet(params, 'layer.bias', b);
    expect(next.layer.bias).toBe(b);
    expect(next.layer.kernel).toBe(params.layer.kernel);
    expect(params.layer.bias).not.toBe(b);
    expect(() => treeGet(params, 'weight')).toThrow("treeGet: no key 'weight' here; the names there are: bias, kernel, layer, scale");
    b.dispose();
  });
});
