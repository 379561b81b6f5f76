import { optimizerAlias } from '../internal/aliases.js';
import { asOwner } from '../internal/owner.js';
import type { GradientTransformation, ScalarOrSchedule } from '../types.js';
import { chain } from '../combine/chain.js';
import { checkOptions } from '../internal/options.js';
import { scaleByLearningRate, type ScaleByLearningRateState } from '../transforms/scale.js';
import { NOVOGRAD_KEYS, scaleByNovograd, type ScaleByNovogradOptions, type ScaleByNovogradState } from '../transforms/novograd.js';

// Fused on wasm and cpu as a chain of element steps whose second moment is a per-leaf scalar
// made of the gradient's norm (see LeafScalarState in src/internal/element-step.ts); composite elsewhere.

/**
 * Options of {@link novograd}: those of `scaleByNovograd`, with `eps` defaulting to `1e-6`.
 * @group Optimizer options and states
 */
export type NovogradOptions = ScaleByNovogradOptions;
/**
 * State of {@link novograd}: `[scaleByNovograd state, learning-rate state]`.
 * @group Optimizer options and states
 */
export type NovogradState = [ScaleByNovogradState, ScaleByLearningRateState];

/**
 * NovoGrad (Ginsburg et al. 2019, arXiv:1905.11286; used for Jasper, Li et al. 2019,
 * arXiv:1904.03288): momentum over gradients normalised by a per-leaf moving average of their
 * squared norm, with weight decay inside the momentum, as optax composes it:
 *
 *     novograd(lr, o) = chain(scaleByNovograd({ eps: 1e-6, ...o }), scaleByLearningRate(lr))
 *
 * Defaults: `b1 = 0.9, b2 = 0.25, eps = 1e-6` (optax's alias default; `scaleByNovograd`'s is
 * `1e-8`), `epsRoot = 0, weightDecay = 0`, mask: all leaves. The weight decay is not multiplied
 * by the learning rate separately: it is part of the direction, as in the paper.
 * @group Optimizers
 * @function
 */
export const novograd = /* @__PURE__ */ optimizerAlias(function novograd(learningRate: ScalarOrSchedule, options: NovogradOptions = {}): GradientTransformation<NovogradState> {
  checkOptions('novograd', options, NOVOGRAD_KEYS);
  return asOwner('novograd', () => chain(scaleByNovograd({ ...options, eps: options.eps ?? 1e-6 }), scaleByLearningRate(learningRate)));
});
