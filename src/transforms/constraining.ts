import * as tf from '@tensorflow/tfjs-core';
import type { EmptyState, GradientTransformation, Params, PyTree } from '../types.js';
import { checkFloatTrees, mapFloatLeaves, mapFloatLeavesN, missingParams } from '../internal/leaves.js';
import { tidy } from '../tree/tidy.js';
import { declareState } from '../internal/state.js';
import { treeMap } from '../tree/structure.js';

/**
 * Changes the updates so that the parameters stay >= 0 after they are applied: where
 * `p + u < 0` the update becomes `-p` (the parameter lands on 0), elsewhere it is kept:
 *
 *     u = (p + u < 0) ? -p : u
 *
 * Put it last in a chain (after the learning rate), since it sees the final step. A parameter
 * that is already negative is moved to 0. Needs `params`. As optax's
 * `keep_params_nonnegative`. State: `{}`.
 * @group Transforms
 */
export function keepParamsNonnegative(): GradientTransformation<EmptyState> {
  const owner = 'keepParamsNonnegative';
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state, params) => {
      if (params === undefined) throw missingParams(owner);
      return tidy(() => {
        const zero = tf.scalar(0);
        const out = mapFloatLeaves(owner, ['updates', 'params'], [updates, params], (u, p) =>
          tidy(() => tf.where(tf.less(tf.add(p, u), zero), tf.neg(p), u)),
        );
        return [out, state];
      }) as [typeof updates, EmptyState];
    },
  });
}

/**
 * State of {@link zeroNans}: per leaf, a bool scalar tensor, `true` if the last update had a NaN there.
 * @group Transform options and states
 */
export interface ZeroNansState {
  /**
   * A tree shaped as the params whose leaves are `bool` scalar tensors: `true` where the last
   * update's leaf had at least one NaN (all `false` after `init`). Read it with `dataSync()`.
   */
  foundNan: PyTree;
}

/**
 * Replaces NaN elements of the updates by 0 (infinities are kept): `u = isNaN(g) ? 0 : g`.
 * The state records, per leaf, whether the last update held a NaN (a bool scalar tensor, read
 * it with `dataSync`); the transformation itself never reads it. As optax's `zero_nans`.
 * State: `{ foundNan }`, all `false` at init.
 * @group Transforms
 */
export function zeroNans(): GradientTransformation<ZeroNansState> {
  const owner = 'zeroNans';
  return declareState(owner, { foundNan: 'tree' }, {
    init: (params: Params) => {
      checkFloatTrees(owner, ['params'], [params]);
      return { foundNan: treeMap(() => tf.scalar(false, 'bool'), params) };
    },
    update: (updates, _state) =>
      tidy(() => {
        const [out, foundNan] = mapFloatLeavesN(owner, ['updates'], [updates], 2, (g) => {
          // tfjs-backend-wasm 4.22 reduces an empty tensor to whatever its output memory held:
          // an empty leaf has no NaN, said without a reduction.
          if (g.size === 0) return [tf.clone(g), tf.scalar(false, 'bool')];
          const nan = tf.isNaN(g);
          const found = tf.any(nan);
          const cleaned = tf.where(nan, tf.zerosLike(g), g);
          nan.dispose();
          return [cleaned, found];
        });
        return [out, { foundNan }];
      }) as [typeof updates, ZeroNansState],
  });
}
