import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation } from '../types.js';
import { flattenFloatTrees } from '../internal/leaves.js';
import { checkInteger, checkNumber, checkRequired } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { Scratch } from '../internal/scratch.js';
import { tidy } from '../tree/tidy.js';
import { declareState } from '../internal/state.js';

/**
 * Options of {@link addNoise}.
 * @group Transform options and states
 */
export interface AddNoiseOptions {
  /** Variance of the noise at the first step, >= 0. Required (`noisySgd` defaults it to `0.01`). */
  eta: number;
  /** Decay exponent of the variance, a finite number. Required (`noisySgd` defaults it to `0.55`). */
  gamma: number;
  /** Seed of the noise, a whole number in [0, 2^32). Default `0`. */
  seed?: number;
}

/**
 * State of {@link addNoise}: the number of updates done (it anneals the variance and picks the noise).
 * @group Transform options and states
 */
export interface AddNoiseState {
  /**
   * Updates done so far (a JS number, `0` after `init`). The next update uses `t = count + 1`
   * for the variance `eta / t^gamma` and in the seed of each leaf's draw.
   */
  count: number;
}

/** The option values of {@link addNoise}, checked, with defaults filled in. */
function addNoiseOptions(owner: string, options: AddNoiseOptions): Required<AddNoiseOptions> {
  const seed = checkInteger(owner, 'seed', options.seed ?? 0, 0);
  checkNumber(owner, 'seed', seed, { max: 2 ** 32 - 1 });
  return {
    eta: checkNumber(owner, 'eta', options.eta, { min: 0 }),
    gamma: checkNumber(owner, 'gamma', options.gamma),
    seed,
  };
}

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The seed passed to `tf.randomNormal` for the `leaf`-th non-empty leaf (in flatten order) at update `step`
 * (1 on the first update), from the user's `seed`:
 * `mix32(seed ^ mix32((step ^ mix32(leaf + 0x9e3779b9)) >>> 0))`, with `mix32` murmur3's
 * finalizer. A pure function of its three arguments, so a run is reproducible from `seed`. @internal
 */
export function noiseSeed(seed: number, step: number, leaf: number): number {
  return mix32((seed ^ mix32((step ^ mix32((leaf + 0x9e3779b9) >>> 0)) >>> 0)) >>> 0);
}

/**
 * Adds annealed Gaussian noise to the updates (Neelakantan et al. 2015, "Adding Gradient Noise
 * Improves Learning for Very Deep Networks", arXiv:1511.06807). With `t = count + 1`:
 *
 *     u = g + sqrt(eta / t^gamma) * n,    n ~ N(0, 1) element-wise
 *
 * The standard deviation is computed in float64 from the step count. The noise of the `j`-th
 * non-empty leaf (in flatten order, from 0) at step `t` is
 * `tf.randomNormal(shape, 0, 1, 'float32', noiseSeed(seed, t, j))`, a seed mixed from the three
 * numbers (murmur3's finalizer; see `noiseSeed` in the source). So the same `seed` gives the
 * same updates on every backend and after a state is saved and loaded, distinct leaves and steps
 * get independent draws, and empty leaves (which draw nothing) change no other leaf's noise.
 * tfjs's generator is not JAX's, so the draws differ from optax's for the same seed; the
 * distribution is the same. Defaults: `seed = 0` (as optax's
 * `key`); `eta` and `gamma` are required, as in optax. State: `{ count }`.
 * @group Transforms
 */
export function addNoise(options: AddNoiseOptions): GradientTransformation<AddNoiseState> {
  const owner = ownerOr('addNoise');
  checkRequired(owner, options, ['eta', 'gamma'], ['eta', 'gamma', 'seed']);
  const { eta, gamma, seed } = addNoiseOptions(owner, options);
  return declareState(owner, { count: 'count' }, {
    init: () => ({ count: 0 }),
    update: (updates, state) =>
      tidy(() => {
        const t = state.count + 1;
        const [leaves, def] = flattenFloatTrees(owner, ['updates'], [updates]);
        const std = tf.scalar(Math.sqrt(eta / t ** gamma));
        let j = 0;
        const out = leaves[0].map((g) => {
          if (g.size === 0) return g;
          const s = new Scratch();
          const noise = s.op(tf.randomNormal(g.shape, 0, 1, 'float32', noiseSeed(seed, t, j++)));
          return s.add(g, s.mul(std, noise));
        });
        return [def.unflatten(out), { count: t }];
      }) as [typeof updates, AddNoiseState],
  });
}
