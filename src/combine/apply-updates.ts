import * as tf from '@tensorflow/tfjs-core';
import type { Params, TensorTree } from '../types.js';
import { flattenFloatTrees } from '../internal/leaves.js';
import { fusedAdd } from '../kernels/tree-ops.js';

// Adding updates to parameters is the step after every chain. It lives with the combinators
// because it needs the fused kernels below and optimizers/lbfgs.ts, above, calls it.

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
 * @group Training loop
 */
export function applyUpdates<P extends Params>(params: P, updates: TensorTree<P>): P {
  const [[values, deltas], def] = flattenFloatTrees('applyUpdates', ['params', 'updates'], [params, updates as Params]);
  const sums = fusedAdd(values, deltas) ?? values.map((p, j) => tf.add(p, deltas[j]));
  return def.unflatten(sums) as P;
}
