import { describe, expect, it } from 'vitest';
import { applyUpdates, treeLeaves } from '../src/index.js';
import { collectTensors } from '../src/tree/memory.js';
import { expectAllClose, flat, gradValues32, makeGrads, makeParams, PARAM_VALUES } from './helpers.js';

describe('applyUpdates', () => {
  it('adds leaf by leaf into new tensors without touching the inputs', () => {
    const params = makeParams();
    const grads = makeGrads(0);
    const out = applyUpdates(params, grads);
    expectAllClose(flat(out), PARAM_VALUES.map((p, i) => p + gradValues32(0)[i]), 1e-7);
    expect(treeLeaves(out).every((t) => !collectTensors(params).has(t))).toBe(true);
    expectAllClose(flat(params), PARAM_VALUES, 0);
  });
});