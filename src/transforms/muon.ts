import * as tf from '@tensorflow/tfjs-core';
import type { EmptyState, GradientTransformation, Params } from '../types.js';
import { checkFloatTrees, mapFloatLeavesN, mapFloatLeaves, stateLike } from '../internal/leaves.js';
import { biasCorrection, emaUpdate } from '../internal/moments.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { Scratch } from '../internal/scratch.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { describeNode, formatPath } from '../tree/walk.js';

// Muon's direction (optax.contrib.scale_by_muon) and its shape scaling (scale_by_shape), for
// rank-2 leaves: a matrix `W` used as `x W = y`, rows the input (fan-in) axis.

/**
 * One Newton–Schulz step's coefficients `(a, b, c)`: `X <- a X + (b A + c A^2) X`, `A = X X^T`.
 * @group Transform options and states
 */
export type NsCoefficients = readonly [number, number, number];

/**
 * The coefficient presets of optax: Keller Jordan's quintic (`'standard'`) and Dion's five steps.
 * @group Transforms
 */
export const NS_COEFFICIENT_PRESETS: Readonly<Record<'standard' | 'dion', NsCoefficients | readonly NsCoefficients[]>> = {
  standard: [3.4445, -4.775, 2.0315],
  dion: [
    [4.0848, -6.8946, 2.927],
    [3.9505, -6.3029, 2.6377],
    [3.7418, -5.5913, 2.3037],
    [2.8769, -3.1427, 1.2046],
    [2.8366, -3.0525, 1.2012],
  ],
};

/**
 * Options of {@link scaleByMuon}.
 * @group Transform options and states
 */
export interface ScaleByMuonOptions {
  /**
   * Newton–Schulz coefficients: one triple used `nsSteps` times, a list of triples (one per
   * step; `nsSteps` must be at least its length, and the list is used as it is), or a preset
   * name. Default `'standard'`, `[3.4445, -4.775, 2.0315]`.
   */
  nsCoeffs?: NsCoefficients | readonly NsCoefficients[] | 'standard' | 'dion';
  /** Newton–Schulz steps, a whole number >= 1. Default `5`. */
  nsSteps?: number;
  /** Momentum decay, in [0, 1). Default `0.95`. */
  beta?: number;
  /** Added to the Frobenius norm before dividing by it. Default `1e-8`. */
  eps?: number;
  /** Nesterov momentum. Default `true`. */
  nesterov?: boolean;
  /** Multiply the result by `<muHat, O>`, its dual norm (arXiv:2409.20325). Default `false`. */
  adaptive?: boolean;
}

/**
 * State of {@link scaleByMuon}.
 * @group Transform options and states
 */
export interface ScaleByMuonState {
  /** Updates done so far. */
  count: number;
  /** Momentum (moving average of the gradients). */
  mu: Params;
}

const MUON_KEYS = ['nsCoeffs', 'nsSteps', 'beta', 'eps', 'nesterov', 'adaptive'] as const;

/** The Newton–Schulz coefficients for each step, checked. */
function nsSchedule(owner: string, coeffs: unknown, steps: number): NsCoefficients[] {
  const value = typeof coeffs === 'string' ? NS_COEFFICIENT_PRESETS[coeffs as 'standard' | 'dion'] : coeffs;
  if (value === undefined) throw new RangeError(`${owner}: option 'nsCoeffs' must be a triple, a list of triples, 'standard' or 'dion', got "${String(coeffs)}"`);
  const isTriple = (x: unknown): x is NsCoefficients =>
    Array.isArray(x) && x.length === 3 && x.every((c) => typeof c === 'number' && Number.isFinite(c));
  if (isTriple(value)) return Array.from({ length: steps }, () => value);
  if (Array.isArray(value) && value.length > 0 && value.every(isTriple)) {
    if (value.length > steps) throw new RangeError(`${owner}: option 'nsCoeffs' has ${value.length} triples, more than nsSteps = ${steps}`);
    return value as NsCoefficients[];
  }
  throw new RangeError(`${owner}: option 'nsCoeffs' must be a triple of finite numbers or a list of them, got ${Array.isArray(value) ? `[${value.map((x) => (Array.isArray(x) ? `[${x.map(String).join(', ')}]` : String(x))).join(', ')}]` : describeNode(value)}`);
}

/**
 * The orthogonalisation of one matrix by Newton–Schulz iterations, as optax's
 * `orthogonalize_via_newton_schulz` with `'frobenius'` preconditioning: transpose a tall
 * matrix, `X = X / (||X||_F + eps)`, then per step `A = X X^T`, `X = a X + (b A + c A A) X`,
 * and transpose back. The result is close to `U V^T` for `G = U S V^T` (its singular values
 * lie roughly in [0.7, 1.2] with the standard coefficients, not exactly 1: the iteration trades
 * accuracy for a steep slope at zero).
 * @group Transforms
 */
export function orthogonalizeViaNewtonSchulz(x: tf.Tensor2D, steps: readonly NsCoefficients[], eps = 1e-8): tf.Tensor2D {
  return tf.tidy(() => {
    const tall = x.shape[0] > x.shape[1];
    let y: tf.Tensor2D = tall ? tf.transpose(x) : x;
    y = tf.div(y, tf.add(tf.norm(y), eps));
    for (const [a, b, c] of steps) {
      const gram = tf.matMul(y, y, false, true);
      const poly = tf.add(tf.mul(b, gram), tf.mul(c, tf.matMul(gram, gram)));
      y = tf.add(tf.mul(a, y), tf.matMul(poly, y));
    }
    return tall ? tf.transpose(y) : y;
  });
}

/**
 * Muon's direction (Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural
 * networks", github.com/KellerJordan/Muon), as optax contrib `scale_by_muon`, for rank-2 leaves
 * only (any other leaf is an `Error` naming its path; the `muon` alias sends those to AdamW).
 * With `t = count + 1`:
 *
 *     mu = (1 - beta) * g + beta * mu
 *     muHat = mu / (1 - beta^t)                                          (nesterov: false)
 *     muHat = beta * mu / (1 - beta^(t+1)) + (1 - beta) * g / (1 - beta^t)    (nesterov: true)
 *     u = NewtonSchulz(muHat)                 (see orthogonalizeViaNewtonSchulz)
 *     u = sum(muHat * u) * u                  (adaptive: true)
 *
 * Defaults: `nsCoeffs = 'standard'` (3.4445, -4.775, 2.0315), `nsSteps = 5`, `beta = 0.95`,
 * `eps = 1e-8`, `nesterov = true`, `adaptive = false`. Only optax's default `'frobenius'`
 * preconditioning and plain matrices (no `weight_dimension_numbers`) are offered.
 * State: `{ count, mu }`.
 * @group Transforms
 */
export function scaleByMuon(options: ScaleByMuonOptions = {}): GradientTransformation<ScaleByMuonState> {
  const owner = ownerOr('scaleByMuon');
  checkOptions(owner, options, MUON_KEYS);
  const nsSteps = checkInteger(owner, 'nsSteps', options.nsSteps ?? 5, 1);
  const steps = nsSchedule(owner, options.nsCoeffs ?? 'standard', nsSteps);
  const beta = checkRate(owner, 'beta', options.beta ?? 0.95);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const nesterov = checkBoolean(owner, 'nesterov', options.nesterov ?? true);
  const adaptive = checkBoolean(owner, 'adaptive', options.adaptive ?? false);
  return declareState(owner, { count: 'count', mu: 'tree' }, {
    init: (params) => {
      checkMatrices(owner, params, 'params');
      return { count: 0, mu: stateLike(owner, params) };
    },
    update: (updates, state) => {
      checkMatrices(owner, updates, 'updates');
      return tidy(() => {
        const t = state.count + 1;
        const [bS, cS, bc, bcNext] = [beta, 1 - beta, biasCorrection(beta, t), biasCorrection(beta, t + 1)].map((x) => tf.scalar(x));
        const [out, mu] = mapFloatLeavesN(owner, ['updates', 'state.mu'], [updates, state.mu], 2, (g, m) => {
          const s = new Scratch();
          const m1 = s.keep(emaUpdate(s, g, m, bS, cS));
          const muHat = s.keep(nesterov ? s.add(s.mul(bS, s.div(m1, bcNext)), s.mul(cS, s.div(g, bc))) : s.div(m1, bc));
          const o = orthogonalizeViaNewtonSchulz(muHat as tf.Tensor2D, steps, eps);
          const u = adaptive ? tf.mul(tf.sum(tf.mul(muHat, o)), o) : o;
          return [u, m1];
        });
        return [out, { count: t, mu }];
      }) as [typeof updates, ScaleByMuonState];
    },
  });
}

/** Throws, naming the path, if a leaf of `tree` is not a rank-2 tensor. */
function checkMatrices(owner: string, tree: Params, name: string): void {
  checkFloatTrees(owner, [name], [tree]);
  const bad = findNonMatrix(tree, []);
  if (bad !== null) {
    throw new Error(
      `${owner}: ${formatPath(bad[0], name)} has shape [${bad[1].join(', ')}]; Muon orthogonalises matrices (rank 2) only ` +
        `(the muon optimizer sends the other leaves to AdamW)`,
    );
  }
}

function findNonMatrix(tree: unknown, path: (string | number)[]): [(string | number)[], number[]] | null {
  if (tree instanceof tf.Tensor) return tree.rank === 2 ? null : [path, tree.shape];
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) {
      const r = findNonMatrix(tree[i], [...path, i]);
      if (r) return r;
    }
  } else if (tree !== null && typeof tree === 'object') {
    for (const key of Object.keys(tree).sort()) {
      const r = findNonMatrix((tree as Record<string, unknown>)[key], [...path, key]);
      if (r) return r;
    }
  }
  return null;
}

/**
 * Options of {@link scaleByShape}.
 * @group Transform options and states
 */
export interface ScaleByShapeOptions {
  /** If set, scale by `sqrt(max(fanIn, fanOut)) * consistentRms` (arXiv:2502.16982) instead. */
  consistentRms?: number;
}

/**
 * Scales each rank-2 update by a factor of its shape `[fanIn, fanOut]`, as optax contrib
 * `scale_by_shape`: `sqrt(max(1, fanOut / fanIn))` (Keller Jordan's width transfer), or
 * `sqrt(max(fanIn, fanOut)) * consistentRms` when that option is set. State: `{}`.
 * @group Transforms
 */
export function scaleByShape(options: ScaleByShapeOptions = {}): GradientTransformation<EmptyState> {
  const owner = ownerOr('scaleByShape');
  checkOptions(owner, options, ['consistentRms']);
  const rms = options.consistentRms === undefined ? undefined : checkNumber(owner, 'consistentRms', options.consistentRms, { min: 0 });
  return declareState(owner, {}, {
    init: () => ({}),
    update: (updates, state) => {
      checkMatrices(owner, updates, 'updates');
      const out = tidy(() =>
        mapFloatLeaves(owner, ['updates'], [updates], (u) => {
          const [fanIn, fanOut] = u.shape;
          const factor = rms === undefined ? Math.sqrt(Math.max(1, fanOut / fanIn)) : Math.sqrt(Math.max(fanIn, fanOut)) * rms;
          return tf.mul(u, tf.scalar(factor));
        }),
      );
      return [out as typeof updates, state];
    },
  });
}
