import * as tf from '@tensorflow/tfjs-core';
import { tidy } from '../tree/tidy.js';
import { mapFloatLeaves } from '../internal/leaves.js';
import { declareState } from '../internal/state.js';
import type { EmptyState, GradientTransformation } from '../types.js';
import { ownerOr } from '../internal/owner.js';

/**
 * Replaces every update by zeros: `u = 0` (new float32 zero tensors of the updates' shapes, so
 * the result shares no tensor with the input). Applied, it leaves the parameters where they are;
 * with `masked` or `partition` it holds some of them fixed (see `freeze`). As optax's
 * `set_to_zero`.
 *
 * State: `{}`.
 * @group Wrappers and combinators
 */
export function setToZero(): GradientTransformation<EmptyState> {
  const owner = ownerOr('setToZero');
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state) => [tidy(() => mapFloatLeaves(owner, ['updates'], [updates], (g) => tf.zerosLike(g))) as typeof updates, state],
  });
}
