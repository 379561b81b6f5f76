import '@tensorflow/tfjs-core/dist/register_all_gradients';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { applyUpdates, trainStep, type Params } from '../../src/index.js';
import { assertProperty, guarded, type Case, caseArb, caseOf, type Closeness, ctxOf, disposeAllBut, expectSame, fcParams, gradsOf, inMode, suiteHooks, paramsOf, snapshot, type Snap } from './harness.js';
import { extraFor, labelOf, recipeOf, REGISTRY } from './registry.js';

// The fused kernels against the composite tf-op path (the reference), for every exported
// transformation, with random trees and hyperparameters: the same steps in
// setKernelMode('auto') and setKernelMode('composite'), through tx.update and through
// trainStep (the path that writes in place), compared leaf by leaf.

suiteHooks();

const STEPS = 3;

/** float32's machine epsilon, 2^-23: the gap between 1 and the next float32. */
const EPS32 = 2 ** -23;

/**
 * The tolerance. Each number compared is the result of a few float32 operations per step, each
 * rounded to within half an ulp of its result; the two paths may order, fuse or regroup them
 * differently (a kernel multiplies by a reciprocal, computes a bias correction in float64, uses
 * one fused multiply-add, ...), so each may differ from the other by about one ulp per operation.
 * An element-wise step has at most about 16 such operations (moments, bias corrections, sqrt,
 * division, learning rate, weight decay, the parameter add), and differences carry over through
 * the state from step to step: 16 ulps per step. An ulp is taken at the scale of the leaf (its
 * largest magnitude) rather than of the element, because a sum like `p + u` or
 * `b1 * m + (1 - b1) * g` can cancel to a value far below its operands while keeping their
 * absolute rounding error. Transformations that sum over a leaf or the tree (norms, means,
 * matrix products) add the error of a float32 sum of `n` terms, up to `n` ulps of the sum, where
 * the kernels sum in float64: `n` = the tree's element count, per step. Anything beyond this is
 * not rounding (a wrong formula, count, branch or leaf is off by far more).
 */
function tolerance(c: Case): Closeness {
  const n = c.tree.shapes.reduce((acc, s) => acc + s.reduce((a, b) => a * b, 1), 0);
  const ulps = STEPS * (16 + (c.recipe.reduces ? n : 0));
  return (a, b, scale) => {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    if (a === b) return true;
    return Math.abs(a - b) <= ulps * EPS32 * Math.max(scale, Math.abs(a), Math.abs(b));
  };
}

/** `STEPS` steps of the case's transformation; snapshots of every update, the final params and state. */
function trajectory(c: Case, viaTrainStep: boolean): { updates: Snap[]; params: Snap; state: Snap } {
  const tx = c.recipe.make(ctxOf(c.tree));
  let params = paramsOf(c);
  let state = tx.init(params);
  const updates: Snap[] = [];
  for (let k = 0; k < STEPS; k++) {
    const grads = gradsOf(c, k);
    const { extra, dispose } = extraFor(c.recipe.needs, grads, params, k);
    if (viaTrainStep) {
      ({ params, state } = trainStep(tx, params, state, grads, { extra }));
      dispose();
    } else {
      const [u, next] = tx.update(grads, state, params, extra);
      dispose();
      updates.push(snapshot(u));
      const nextParams = applyUpdates<Params>(params, u);
      disposeAllBut([params, state, grads, u], [nextParams, next]);
      params = nextParams;
      state = next;
    }
  }
  const result = { updates, params: snapshot(params), state: snapshot(state) };
  disposeAllBut([params, state]);
  return result;
}

/** Minimal counterexamples of bugs this property found, run first (see the report in the commit). */
const REGRESSIONS: Record<string, Array<[Case, boolean]>> = {
  // The fused path of flatten(lamb) takes lamb's trust ratio per leaf, not over the flattened vector.
  flatten: [[caseOf(recipeOf('flatten', [recipeOf('lamb', [0.1])]), { p: { shape: [1] }, q: { shape: [1] } }), false]],
  // On wasm, foundNan of an empty leaf is tf.any over no elements: uninitialised memory.
  zeroNans: [[caseOf(recipeOf('zeroNans'), { p: { shape: [1] }, q: { shape: [0, 3] } }), false]],
};

describe('fused kernels equal the composite path to float32 rounding', () => {
  it.each(REGISTRY.map((entry) => [labelOf(entry), entry] as const))('%s', (label, entry) => {
    assertProperty(
      label,
      fc.property(caseArb(entry), fc.boolean(), guarded((c, viaTrainStep) => {
        const fused = inMode('auto', () => trajectory(c, viaTrainStep));
        const composite = inMode('composite', () => trajectory(c, viaTrainStep));
        const close = tolerance(c);
        fused.updates.forEach((u, k) => expectSame(`update ${k} (fused vs composite)`, u, composite.updates[k], close));
        expectSame('params (fused vs composite)', fused.params, composite.params, close);
        expectSame('state (fused vs composite)', fused.state, composite.state, close);
      })),
      fcParams(10, `fused-composite/${label}`, REGRESSIONS[label]),
    );
  });
});
