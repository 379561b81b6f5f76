import type { EmptyState, GradientTransformation } from '../types.js';
import { signOps } from '../internal/sign.js';
import { declareState } from '../internal/state.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';
import { stepUpdate } from '../kernels/step.js';
import { ownerOr } from '../internal/owner.js';

/**
 * Replaces every update by its sign, element-wise: `u = sign(g)`, with JAX's `sign` (-1, 0 or
 * 1, and NaN for NaN) on every backend (`tf.sign` maps tiny values to 0 on wasm and NaN to 0
 * on cpu). The direction of signSGD (Bernstein et al. 2018, arXiv:1802.04434). As optax's
 * `scale_by_sign`. State: `{}`.
 * @group Transforms
 */
export function scaleBySign(): GradientTransformation<EmptyState> {
  const owner = ownerOr('scaleBySign');
  const step: ElementStep<EmptyState> = {
    owner,
    slotNames: [],
    slots: () => [],
    scalars: () => [],
    usesParams: () => false,
    emit: (ops, { u }) => ({ u: signOps(ops, u), slots: [] }),
    next: (s) => () => s,
  };
  const tx = declareState<EmptyState>(owner, {}, {
    init: () => ({}),
    update: stepUpdate(step),
  });
  return withElementStep(tx, step);
}
