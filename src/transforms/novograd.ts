import * as tf from '@tensorflow/tfjs-core';
import { HyperRate } from '../internal/hyper.js';
import { leafSquaredNorm } from '../internal/leaf-norms.js';
import { checkFloatTrees, flattenFloatTrees, missingParams } from '../internal/leaves.js';
import { checkNumber, checkOptions, checkRate } from '../internal/options.js';
import { ownerOr } from '../internal/owner.js';
import { Scratch } from '../internal/scratch.js';
import { declareState } from '../internal/state.js';
import { tidy } from '../tree/tidy.js';
import { treeFlatten, treeMap, type TreeDef } from '../tree/structure.js';
import { checkTrees, formatPath } from '../tree/walk.js';
import type { GradientTransformation, Params, PyTree, ScalarOrSchedule } from '../types.js';
import { checkMaskOption, maskLeaves, type Mask } from './decay.js';
import type { ElementStep } from '../internal/element-step.js';
import { withElementStep } from '../internal/record.js';

/**
 * Options of {@link scaleByNovograd}.
 * @group Transform options and states
 */
export interface ScaleByNovogradOptions {
  /** Decay of the first moment (momentum), in [0, 1). Default `0.9`. */
  b1?: number;
  /** Decay of the per-leaf second moment, in [0, 1). Default `0.25`. */
  b2?: number;
  /** Added to the denominator, outside the square root. Default `1e-8` (`novograd`: `1e-6`). */
  eps?: number;
  /** Added to the second moment inside the square root. Default `0`. */
  epsRoot?: number;
  /** Weight-decay rate added to the normalised gradient, a number >= 0 or a schedule. Default `0`. */
  weightDecay?: ScalarOrSchedule;
  /** Which parameters to decay (`true` = decay), a boolean tree or a function of params. Default: all. */
  mask?: Mask;
}

/**
 * State of {@link scaleByNovograd}.
 * @group Transform options and states
 */
export interface ScaleByNovogradState {
  /** Updates done so far. */
  count: number;
  /** The momentum of the normalised gradients, one tensor per parameter. */
  mu: Params;
  /** The moving average of each leaf's squared gradient norm: one scalar tensor per leaf. */
  nu: PyTree;
  /** The weight-decay rate the next update uses. */
  weightDecay: number;
}

/** The options of {@link scaleByNovograd} (and of `novograd`). @internal */
export const NOVOGRAD_KEYS = ['b1', 'b2', 'eps', 'epsRoot', 'weightDecay', 'mask'] as const;

/**
 * NovoGrad's direction (Ginsburg et al. 2019, "Stochastic Gradient Methods with Layer-wise
 * Adaptive Moments for Training of Deep Networks", arXiv:1905.11286): Adam-like, but the second
 * moment is one number per leaf (the moving average of the leaf's squared L2 norm), and weight
 * decay is added to the normalised gradient inside the momentum. With `t = count + 1`:
 *
 *     n = ||g||^2                                   (per leaf, a scalar)
 *     nu = t == 1 ? n : b2 * nu + (1 - b2) * n
 *     a = g / (sqrt(nu + epsRoot) + eps) + weightDecay * p
 *     mu = t == 1 ? a : b1 * mu + a                 (no (1 - b1) factor, as the paper)
 *     u = mu
 *
 * The first step initialises both moments with the step's values, as the paper and optax do.
 * The per-leaf norms stay scalar tensors on the device. `weightDecay` may be a schedule, and
 * `mask` limits it to some leaves (optax's `scale_by_novograd` takes a constant and no mask);
 * a step whose rate is 0 adds nothing and needs no `params`. Defaults: `b1 = 0.9, b2 = 0.25,
 * eps = 1e-8, epsRoot = 0, weightDecay = 0`, mask: all leaves.
 * State: `{ count, mu, nu, weightDecay }`, `mu` param-shaped, `nu` one scalar per leaf.
 * @group Transforms
 */
export function scaleByNovograd(options: ScaleByNovogradOptions = {}): GradientTransformation<ScaleByNovogradState> {
  const owner = ownerOr('scaleByNovograd');
  checkOptions(owner, options, NOVOGRAD_KEYS);
  const b1 = checkRate(owner, 'b1', options.b1 ?? 0.9);
  const b2 = checkRate(owner, 'b2', options.b2 ?? 0.25);
  const eps = checkNumber(owner, 'eps', options.eps ?? 1e-8, { min: 0 });
  const epsRoot = checkNumber(owner, 'epsRoot', options.epsRoot ?? 0, { min: 0 });
  const rate = new HyperRate(owner, 'weightDecay', options.weightDecay ?? 0);
  const mask = options.mask;
  checkMaskOption(owner, mask);
  const step = novogradStep(owner, { b1, b2, eps, epsRoot, mask }, rate);
  const tx = declareState(owner, { count: 'count', mu: 'tree', nu: 'nonNegativeTree', weightDecay: rate }, {
    init: (params) => {
      checkFloatTrees(owner, ['params'], [params]);
      if (mask !== undefined) maskLeaves(owner, mask, params);
      return {
        count: 0,
        mu: treeMap((p) => tf.zeros(p.shape), params),
        nu: treeMap(() => tf.scalar(0), params),
        weightDecay: rate.at(0),
      };
    },
    update: (updates, state, params) => {
      const wd = state.weightDecay;
      const decays = wd !== 0;
      if (decays && params === undefined) throw missingParams(owner);
      const names = decays ? ['updates', 'state.mu', 'params'] : ['updates', 'state.mu'];
      const [leaves, def] = flattenFloatTrees(owner, names, decays ? [updates, state.mu, params!] : [updates, state.mu]);
      const nuLeaves = checkNu(owner, updates, state.nu, def);
      const selected = decays && mask !== undefined ? maskLeaves(owner, mask, params!) : null;
      const t = state.count + 1;
      return tidy(() => {
        const [b1s, b2s, c2, epsS, epsRootS, wdS] = [b1, b2, 1 - b2, eps, epsRoot, wd].map((x) => tf.scalar(x));
        const [g, m, p] = leaves;
        const mus: tf.Tensor[] = [];
        const nus: tf.Tensor[] = [];
        for (let j = 0; j < g.length; j++) {
          const n = leafSquaredNorm(g[j]);
          const nu = t === 1 ? n : tf.add(tf.mul(c2, n), tf.mul(b2s, nuLeaves[j]));
          const denom = tf.add(tf.sqrt(epsRoot === 0 ? nu : tf.add(nu, epsRootS)), epsS);
          const s = new Scratch();
          let a = s.div(g[j], denom);
          if (decays && (selected === null || selected[j])) a = s.add(a, s.mul(wdS, p[j]));
          mus.push(t === 1 ? a : s.add(s.mul(b1s, m[j]), a));
          nus.push(nu);
        }
        const mu = def.unflatten(mus);
        const next: ScaleByNovogradState = { count: t, mu, nu: def.unflatten(nus), weightDecay: rate.next(wd, state.count) };
        return [mu, next];
      }) as [typeof updates, ScaleByNovogradState];
    },
  });
  return withElementStep(tx, step);
}

/**
 * NovoGrad's math as an element step, for the fused path (the composite update above stays
 * the reference): per leaf, the second moment is a scalar made of the gradient's norm
 * (`leafState`), the rest is element-wise.
 */
function novogradStep(
  owner: string,
  o: { b1: number; b2: number; eps: number; epsRoot: number; mask: Mask | undefined },
  rate: HyperRate,
): ElementStep<ScaleByNovogradState> {
  // The composite path's scalars are float32 tensors: its products round as these do.
  const [b2f, c2f] = [Math.fround(o.b2), Math.fround(1 - o.b2)];
  return {
    owner,
    slotNames: ['state.mu'],
    slots: (s) => [s.mu],
    scalars: (s) => [o.b1, o.eps, o.epsRoot, s.weightDecay],
    usesParams: (s) => s.weightDecay !== 0,
    ...(o.mask === undefined ? {} : { leafMask: (params: Params) => maskLeaves(owner, o.mask!, params) }),
    variant: (s) => (s.count === 0 ? 'first' : ''),
    leafNorms: ['update'],
    leafState: {
      name: 'state.nu',
      leaves: (s, updates, def) => checkNu(owner, updates, s.nu, def),
      // nu = |g|^2 on the first step, b2 * nu + (1 - b2) * |g|^2 after, in float32.
      next: (s, [squares], old) => {
        const n = Math.fround(squares);
        return s.count === 0 ? n : Math.fround(Math.fround(c2f * n) + Math.fround(b2f * old));
      },
    },
    emit: (ops, { u: g, p, slots: [m], scalars: [b1, epsS, epsRootS, wd], masked, variant, norms: [, nu] }) => {
      const denom = ops.add(ops.sqrt(o.epsRoot === 0 ? nu : ops.add(nu, epsRootS)), epsS);
      let a = ops.div(g, denom);
      if (p !== null && !masked) a = ops.add(a, ops.mul(wd, p));
      const mu = ops.keep(variant === 'first' ? a : ops.add(ops.mul(b1, m), a));
      return { u: mu, slots: [ops.copy(mu)] };
    },
    next: (s) => {
      const weightDecay = rate.next(s.weightDecay, s.count);
      return ([mu], nu) => ({ count: s.count + 1, mu, nu: nu ?? s.nu, weightDecay });
    },
  };
}

/** The leaves of `nu` after checking that it has the updates' structure and live float32 scalar leaves. */
function checkNu(owner: string, updates: PyTree, nu: PyTree, def: TreeDef): tf.Tensor[] {
  const [leaves, nuDef] = treeFlatten(nu);
  const scalar = (x: tf.Tensor) => !x.isDisposed && x.dtype === 'float32' && x.rank === 0;
  if (def.equals(nuDef) && leaves.every(scalar)) return leaves;
  checkTrees([updates, nu], {
    names: ['updates', 'state.nu'],
    owner,
    checkLeaf: (pair, path) => {
      const x = pair[1] as tf.Tensor;
      if (!scalar(x)) {
        throw new Error(
          `${owner}: ${formatPath(path, 'state.nu')} must be a live float32 scalar (the leaf's second moment), ` +
            `got ${x.isDisposed ? 'a disposed tensor' : `a ${x.dtype} tensor of shape [${x.shape.join(', ')}]`}`,
        );
      }
    },
  });
  return leaves;
}
