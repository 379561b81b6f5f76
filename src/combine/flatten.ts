import * as tf from '@tensorflow/tfjs-core';
import { flattenFloatTrees } from '../internal/leaves.js';
import { checkTransformation } from '../internal/options.js';
import { declareState, layoutOf } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { recordOf, stepsOf, withRecord } from '../internal/record.js';
import { fusedSpecOf, withFusedKernel } from '../kernels/fused.js';
import { disposeReplaced } from '../tree/memory.js';
import type { GradientTransformation, Params, StateOf, Updates } from '../types.js';

/**
 * Runs `inner` on one 1-D tensor holding every leaf (optax's `flatten`): the updates and the
 * parameters are concatenated in flatten order, `inner` updates that single tensor, and its
 * result is split back into the leaves' shapes. The state is `inner`'s state for that one
 * tensor, so each per-leaf slot (Adam's `mu`, `nu`) is a single buffer of all the parameters'
 * elements. For an element-wise `inner` (every optimizer but those with per-leaf norms) the
 * updates equal `inner`'s on the tree.
 *
 *     flatten(adam(1e-3))      // state: [{ count, mu: Tensor1D, nu: Tensor1D }, { count, learningRate }]
 *
 * Where `inner` has a fused kernel (and no weight-decay mask, which is a function of the tree, nor
 * per-leaf norms, which are of the one flat vector here: lamb, lars, fromage, novograd),
 * the kernel runs over the leaves as they are, reading and writing each leaf's segment of the
 * flat state buffers: no concatenation or split copies at all. On the composite path each step
 * concatenates and splits (one copy of the updates and parameters each way).
 * @group Wrappers and combinators
 */
export function flatten<T extends GradientTransformation<any>>(inner: T): GradientTransformation<StateOf<T>> {
  const owner = 'flatten';
  checkTransformation(owner, inner);
  type S = StateOf<T>;
  const raw: GradientTransformation<S> = {
    init: (params) => {
      const [[leaves]] = flattenFloatTrees(owner, ['params'], [params]);
      const flat = concatLeaves(leaves);
      const state = inner.init(flat) as S;
      disposeReplaced(flat, state);
      return state;
    },
    update: <U extends Updates>(updates: U, state: S, params?: Params, extra?: Parameters<T['update']>[3]) => {
      const names = params === undefined ? ['updates'] : ['updates', 'params'];
      const trees = params === undefined ? [updates] : [updates, params];
      const [[g, p], def] = flattenFloatTrees(owner, names, trees);
      return tidy(() => {
        const flatP = p === undefined ? undefined : concatLeaves(p);
        const [u, next] = inner.update(concatLeaves(g), state, flatP, extra) as [tf.Tensor, S];
        let at = 0;
        const pieces = g.map((leaf) => {
          const piece = tf.reshape(tf.slice(u, [at], [leaf.size]), leaf.shape);
          at += leaf.size;
          return piece;
        });
        return [def.unflatten(pieces) as U, next];
      }) as [U, S];
    },
  };
  const layout = layoutOf(inner);
  const composite = layout === null ? raw : declareState<S>(owner, layout, raw);
  const spec = fusedSpecOf<S>(inner);
  // A mask is a function of the tree (here one flat leaf), and per-leaf norms (lamb's, lars's trust
  // ratios) are norms of the one flattened vector here: the kernel, which runs leaf by leaf,
  // would compute them per leaf. Both run composite.
  const steps = stepsOf(inner);
  const masked = steps?.parts.some((pt) => pt.step.leafMask !== undefined) ?? false;
  // Observers (a monitor at the head) measure the one flat vector here, as the composite path does.
  if (spec === undefined || steps === undefined || masked || spec.leafNorms !== undefined || steps.observers !== undefined) return composite;
  return withFusedKernel(withRecord(composite, { steps: { ...steps, flatSlots: true } }), recordOf(inner).fused!.owner, true);
}

/** One 1-D tensor of all the leaves' elements, in order (a new tensor; `[0]` for none). */
function concatLeaves(leaves: readonly tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => {
    if (leaves.length === 0) return tf.zeros([0]) as tf.Tensor1D;
    const parts = leaves.map((l) => tf.reshape(l, [-1]));
    // A lone leaf is copied too, so that the flat tensor never shares its buffer with a leaf.
    return (parts.length === 1 ? tf.clone(tf.add(parts[0], 0)) : tf.concat(parts)) as tf.Tensor1D;
  });
}
