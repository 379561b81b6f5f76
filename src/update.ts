import * as tf from '@tensorflow/tfjs-core';
import type { Params, TensorTree } from './types.js';
import { checkFloatTrees, mapFloatLeaves } from './internal/leaves.js';
import { fusedAddTrees } from './kernels/fused.js';

/**
 * Returns `params + updates`, leaf by leaf, as new tensors (updates are deltas to **add**; the
 * optimizers already negate the learning rate). The inputs are neither disposed nor changed;
 * use `disposeReplaced`, `trainStep` or `assignUpdates` to manage memory. The result has the
 * type of `params`, but its leaves are new plain tensors even where `params` held `tf.Variable`s
 * (write into variables with `assignUpdates`).
 *
 * On the wasm and cpu backends the whole tree is added in one fused kernel call; elsewhere
 * with one `tf.add` per leaf. Both give the same bits.
 *
 * @throws TreeStructureError if the trees differ; an `Error` naming the path if a shape differs.
 */
export function applyUpdates<P extends Params>(params: P, updates: TensorTree<P>): P {
  checkFloatTrees('applyUpdates', ['params', 'updates'], [params, updates as Params]);
  const fused = fusedAddTrees(params, updates as Params);
  if (fused !== undefined) return fused as P;
  return mapFloatLeaves('applyUpdates', ['params', 'updates'], [params, updates as Params], (p, u) => tf.add(p, u)) as P;
}
