import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { EmptyState, GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { scale } from '../transforms/scale.js';
import { scaleByRprop, type ScaleByRpropOptions, type ScaleByRpropState } from '../transforms/rprop.js';

/**
 * Options of {@link rprop}.
 * @group Optimizer options and states
 */
export type RpropOptions = ScaleByRpropOptions;
/**
 * State of {@link rprop}: `[scaleByRprop state, scale state]`.
 * @group Optimizer options and states
 */
export type RpropState = [ScaleByRpropState, EmptyState];

/**
 * Rprop (Riedmiller & Braun 1993), in the Rprop- form of PyTorch's `torch.optim.Rprop`: each
 * parameter element moves by its own step size against the sign of its gradient; the step size
 * grows by `etaPlus` while the sign stays, shrinks by `etaMinus` when it flips (and that
 * element does not move on that step), and stays within `[minStepSize, maxStepSize]`.
 *
 *     rprop(lr, o) = chain(scaleByRprop(lr, o), scale(-1))
 *
 * `learningRate` is the initial step size of every element, a number > 0 (not a schedule: the
 * step sizes adapt themselves). Defaults: `etaMinus = 0.5, etaPlus = 1.2, minStepSize = 1e-6,
 * maxStepSize = 50`. Unlike optax, each step uses the current gradient's sign and step size
 * (optax's rprop is one step stale and its first update is zero); see {@link scaleByRprop}.
 * @group Optimizers
 * @function
 */
export const rprop: (learningRate: number, options?: RpropOptions) => GradientTransformation<RpropState> =
  /* @__PURE__ */ optimizerAlias(function rprop(learningRate: ScalarOrSchedule, options: RpropOptions = {}): GradientTransformation<RpropState> {
  // Typed as a number above; a schedule passed anyway (from JS, or by injectHyperparams) is a TypeError.
  return asOwner('rprop', () => chain(scaleByRprop(learningRate as number, options), scale(-1)));
});
