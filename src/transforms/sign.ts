import type { EmptyState, GradientTransformation } from '../types.js';
import { mapFloatLeaves } from '../internal/leaves.js';
import { Scratch } from '../internal/scratch.js';
import { signOf, signScalars } from '../internal/sign.js';
import { tidy } from '../internal/tidy.js';
import { declareState } from '../internal/state.js';

/**
 * Replaces every update by its sign, element-wise: `u = sign(g)`, with JAX's `sign` (-1, 0 or
 * 1, and NaN for NaN) on every backend (`tf.sign` maps tiny values to 0 on wasm and NaN to 0
 * on cpu). The direction of signSGD (Bernstein et al. 2018, arXiv:1802.04434). As optax's
 * `scale_by_sign`. State: `{}`.
 * @group Transforms
 */
export function scaleBySign(): GradientTransformation<EmptyState> {
  return scaleBySignFor('scaleBySign');
}

/** {@link scaleBySign} with the caller's name in error messages. @internal */
export function scaleBySignFor(owner: string): GradientTransformation<EmptyState> {
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state) =>
      tidy(() => {
        const signs = signScalars();
        return [mapFloatLeaves(owner, ['updates'], [updates], (g) => signOf(new Scratch(), g, signs)), state];
      }) as [typeof updates, EmptyState],
  });
}
