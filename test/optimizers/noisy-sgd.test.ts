import { describe, expect, it } from 'vitest';
import {
  addNoise,
  applyUpdates,
  chain,
  disposeReplaced,
  getHyperparam,
  noisySgd,
  scaleByLearningRate,
  sgd,
  stateFromArtifacts,
  stateToArtifacts,
  trainStep,
  type Params,
} from '../../src/index.js';
import {
  expectAllClose,
  expectBitwiseEqual,
  flat,
  itThrowsRangeError,
  makeGrads,
  makeParams,
  minimize,
  PARABOLA_TARGET,
  parabolaGrad,
  rosenbrockGrad,
  run,
  trainWithoutLeak,
} from '../helpers.js';

describe('noisySgd', () => {
  it('noisySgd: the same seed gives the same updates, another seed others; eta = 0 is sgd', () => {
    const a = run(noisySgd(0.1, { seed: 3 }), 3);
    const b = run(noisySgd(0.1, { seed: 3 }), 3);
    const c = run(noisySgd(0.1, { seed: 4 }), 3);
    for (let k = 0; k < 3; k++) {
      expectBitwiseEqual(a.updates[k], b.updates[k]);
      expect(a.updates[k]).not.toEqual(c.updates[k]);
    }
    const quiet = run(noisySgd(0.1, { eta: 0 }), 3);
    const plain = run(sgd(0.1), 3);
    for (let k = 0; k < 3; k++) expectBitwiseEqual(quiet.updates[k], plain.updates[k]);
    disposeReplaced([a.params, a.state, b.params, b.state, c.params, c.state, quiet.params, quiet.state, plain.params, plain.state], []);
  });

  it('noisySgd: a state saved after 2 steps and loaded gives the 3rd and 4th updates of a straight run', () => {
    const straight = run(noisySgd(0.1, { seed: 9 }), 4);
    const first = run(noisySgd(0.1, { seed: 9 }), 2);
    const tx = noisySgd(0.1, { seed: 9 });
    const loaded = stateFromArtifacts(tx, first.params, stateToArtifacts(first.state));
    let state = loaded;
    let params = first.params;
    for (let k = 2; k < 4; k++) {
      const grads = makeGrads(k);
      const [u, next] = tx.update(grads, state, params);
      expectBitwiseEqual(flat(u), straight.updates[k]);
      const nextParams = applyUpdates<Params>(params, u);
      disposeReplaced([grads, u, params, state], [nextParams, next]);
      params = nextParams;
      state = next;
    }
    disposeReplaced([params, state, straight.params, straight.state, first.state], []);
  });

  it('noisySgd equals chain(addNoise, scaleByLearningRate) bit for bit, with the defaults', () => {
    const a = run(noisySgd(0.01), 3);
    const b = run(chain(addNoise({ eta: 0.01, gamma: 0.55, seed: 0 }), scaleByLearningRate(0.01)), 3);
    for (let k = 0; k < 3; k++) expectBitwiseEqual(a.updates[k], b.updates[k]);
    expectBitwiseEqual(a.state, b.state);
    disposeReplaced([a.params, a.state, b.params, b.state], []);
  });

  it('noisySgd leaks nothing, keeps learningRate = schedule(k), and converges with optax test settings', () => {
    trainWithoutLeak(noisySgd(0.01), 100);
    const schedule = (k: number) => 0.1 / (k + 1);
    const tx = noisySgd(schedule);
    let params: Params = makeParams();
    let state = tx.init(params);
    for (let k = 0; k < 3; k++) ({ params, state } = trainStep(tx, params, state, makeGrads(k)));
    expect(getHyperparam(state, 'learningRate')).toBe(schedule(3));
    disposeReplaced([params, state], []);
    // optax alias_test: learning_rate 1e-3, eta 1e-4, key 0, 10000 steps.
    const settings = { eta: 1e-4, seed: 0 };
    expectAllClose(minimize(noisySgd(1e-3, settings), [-1, 10, 1], parabolaGrad, 10_000), PARABOLA_TARGET, 3e-2, 3e-2);
    expectAllClose(minimize(noisySgd(1e-3, settings), [0, 0], rosenbrockGrad, 10_000), [1, 1], 3e-2, 3e-2);
  });
});

describe('bad hyperparameters', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['noisySgd seed', () => noisySgd(0.1, { seed: 1.5 }), /noisySgd: option 'seed' .* got 1.5/],
    ['noisySgd seed range', () => noisySgd(0.1, { seed: 2 ** 32 }), /noisySgd: option 'seed' .* got 4294967296/],
  ];
  itThrowsRangeError(cases);
});
