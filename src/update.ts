import * as tf from '@tensorflow/tfjs-core';
import type { Params } from './types.js';
import { mapFloatLeaves } from './internal/leaves.js';

/**
 * Returns `params + updates`, leaf by leaf, as new tensors (updates are deltas to **add**; the
 * optimizers already negate the learning rate). The inputs are neither disposed nor changed;
 * use `disposeReplaced`, `trainStep` or `assignUpdates` to manage memory.
 *
 * @throws TreeStructureError if the trees differ; an `Error` naming the path if a shape differs.
 */
export function applyUpdates<P extends Params>(params: P, updates: P): P {
  return mapFloatLeaves('applyUpdates', ['params', 'updates'], [params, updates], (p, u) => tf.add(p, u)) as P;
}
