import { describe, expect, it } from 'vitest';
import { disposeReplaced, getHyperparam, scaleByNovograd, treeMap, type Params } from '../../src/index.js';
import { expectAllClose, expectBitwiseEqual, itThrowsRangeError, PARAM_VALUES, run, trainWithoutLeak } from '../helpers.js';

/** Decay matrices only, as a function of params. */
const MATRICES = (params: Params) => treeMap((x) => x.rank >= 2, params);

describe('scaleByNovograd', () => {
  it('decays only the masked leaves, with a scheduled rate kept in the state', () => {
    const wd = (c: number) => 0.1 * (c + 1);
    const tx = scaleByNovograd({ weightDecay: wd, mask: MATRICES });
    const plain = scaleByNovograd();
    const a = run(tx, 1);
    const b = run(plain, 1);
    // One step: mu = g / (||g|| + eps) + wd(0) * p on the kernel only.
    const expected = b.updates[0].map((x, i) => (i >= 3 && i < 9 ? x + 0.1 * PARAM_VALUES[i] : x));
    expectAllClose(a.updates[0], expected, 1e-6, 1e-9);
    expectBitwiseEqual(a.updates[0].slice(0, 3), b.updates[0].slice(0, 3));
    expect(getHyperparam(a.state, 'weightDecay')).toBe(wd(1));
    disposeReplaced([a.state, a.params, b.state, b.params], []);
  });

  it('leaks nothing over 100 trainSteps', () => trainWithoutLeak(scaleByNovograd({ weightDecay: 0.1, mask: MATRICES }), 100));
});

describe('bad hyperparameters: a RangeError naming the owner and the option', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['scaleByNovograd weightDecay', () => scaleByNovograd({ weightDecay: -1 }), /scaleByNovograd: option 'weightDecay'/],
  ];
  itThrowsRangeError(cases, '%s');
});
