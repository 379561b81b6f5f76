import * as tf from '@tensorflow/tfjs-core';
import type { Params, TensorTree } from './types.js';
import { mapFloatLeaves } from './internal/leaves.js';

/**
 * Returns `params + updates`, leaf by leaf, as new tensors (updates are deltas to **add**; the
 * optimizers already negate the learning rate). The inputs are neither disposed nor changed;
 * use `disposeReplaced`, `trainStep` or `assignUpdates` to manage memory. The result has the
 * type of `params`, but its leaves are new plain tensors even where `params` held `tf.Variable`s
 * (write into variables with `assignUpdates`).
 *
 * @throws TreeStructureError if the trees differ; an `Error` naming the path if a shape differs.
 */
export function applyUpdates<P extends Params>(params: P, updates: TensorTree<P>): P {
  return mapFloatLeaves('applyUpdates', ['params', 'updates'], [params, updates as Params], (p, u) => tf.add(p, u)) as P;
}
