import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { applyUpdates, trainStep, type Params } from '../../src/index.js';
import { assertProperty, guarded, type Case, caseArb, caseOf, ctxOf, disposeAllBut, expectSame, fcParams, gradsOf, suiteHooks, paramsOf, snapshot, tensorsIn } from './harness.js';
import { extraFor, labelOf, recipeOf, REGISTRY } from './registry.js';
import { buildTree } from './trees.js';

// What a step must leave alone, and what it must not leave behind, for every exported
// transformation with random trees and hyperparameters:
// - `tx.update` is pure: gradients, state, params (and the extra arguments) keep their values
//   and stay alive; it creates only the tensors it returns, and nothing is left once those are
//   disposed;
// - `trainStep` changes no tensor the caller still holds besides the params and state it
//   returns: not a `tf.clone` or a reshaped view of a parameter or state tensor taken before,
//   not a tensor made from the same Float32Array as a parameter (the cpu backend keeps that
//   array as the tensor's buffer), not a `dataSync()` array read before (the cpu backend returns
//   the buffer itself), not the caller's Float32Array, not gradients kept with `keepGrads`;
// - `trainStep`'s results survive an enclosing `tf.tidy` and equal those of the same steps
//   outside one.
// Runs in the suite's kernel mode (TFJS_KERNELS=composite for the composite path).

suiteHooks();

const STEPS = 3;

/** The number of distinct tensors in `value` that are not in `inputs`. */
function created(value: unknown, inputs: unknown): number {
  const old = new Set(tensorsIn(inputs));
  return new Set(tensorsIn(value).filter((t) => !old.has(t))).size;
}

/** Fails if any tensor in `value` has been disposed. */
function expectAlive(what: string, value: unknown): void {
  const dead = tensorsIn(value).findIndex((t) => t.isDisposed);
  if (dead >= 0) throw new Error(`${what}: tensor ${dead} (in sorted-key order) was disposed`);
}

describe('tx.update leaves its inputs unchanged and leaks nothing', () => {
  it.each(REGISTRY.map((entry) => [labelOf(entry), entry] as const))('%s', (label, entry) => {
    assertProperty(
      label,
      fc.property(caseArb(entry), guarded((c) => {
        const baseline = tf.memory().numTensors;
        const tx = c.recipe.make(ctxOf(c.tree));
        let params = paramsOf(c);
        let state = tx.init(params);
        if (tf.memory().numTensors - baseline !== created([params, state], [])) throw new Error('init created tensors it did not return');
        for (let k = 0; k < STEPS; k++) {
          const grads = gradsOf(c, k);
          const { extra, dispose } = extraFor(c.recipe.needs, grads, params, k);
          const inputs = [grads, state, params, extra];
          const before = snapshot(inputs);
          const count = tf.memory().numTensors;
          const [u, next] = tx.update(grads, state, params, extra);
          const made = created([u, next], inputs);
          if (tf.memory().numTensors - count !== made) {
            throw new Error(`update ${k} left ${tf.memory().numTensors - count - made} tensor(s) it did not return`);
          }
          expectAlive(`update ${k}: an input`, inputs);
          expectSame(`update ${k} changed its inputs`, snapshot(inputs), before);
          dispose();
          const nextParams = applyUpdates<Params>(params, u);
          disposeAllBut([params, state, grads, u], [nextParams, next]);
          params = nextParams;
          state = next;
        }
        disposeAllBut([params, state]);
        if (tf.memory().numTensors !== baseline) throw new Error(`${tf.memory().numTensors - baseline} tensor(s) left after disposing everything`);
      })),
      fcParams(6, `update/${label}`),
    );
  });
});

/**
 * The case's params built from caller-owned Float32Arrays, with a second tensor made from each
 * array (sharing it as its buffer on the cpu backend).
 */
function paramsWithTwins(c: Case): { params: Params; arrays: Float32Array[]; twins: tf.Tensor[] } {
  const arrays: Float32Array[] = [];
  const twins: tf.Tensor[] = [];
  const params = buildTree(c.tree.spec, c.seed, 0, (values, shape) => {
    arrays.push(values);
    twins.push(tf.tensor(values, shape, 'float32'));
    return tf.tensor(values, shape, 'float32');
  });
  return { params, arrays, twins };
}

/**
 * What the caller holds across a step, each kind drawn independently: holding a clone or a view
 * makes a buffer shared, which may turn the in-place path off for everything, so each kind is
 * also tried alone.
 */
const holdsArb: fc.Arbitrary<Holds> = fc.record({ clones: fc.boolean(), views: fc.boolean(), reads: fc.boolean(), twins: fc.boolean(), keepGrads: fc.boolean() });

type Holds = { clones: boolean; views: boolean; reads: boolean; twins: boolean; keepGrads: boolean };
const holding = (which: Partial<Holds>): Holds => ({ clones: false, views: false, reads: false, twins: false, keepGrads: false, ...which });

/** Minimal counterexamples of bugs this property found, run first. */
const REGRESSIONS: Record<string, Array<[Case, Holds]>> = {
  // On cpu the fused step writes into the caller's Float32Array, which a second tensor shares,
  // and into the array an earlier dataSync() returned.
  adam: [
    [caseOf(recipeOf('adam', [0.1]), { p: { shape: [1] }, q: null }), holding({ twins: true })],
    [caseOf(recipeOf('adam', [0.1]), { p: { shape: [1] }, q: null }), holding({ reads: true })],
  ],
};

describe('trainStep changes no tensor the caller still holds besides the params and state it returns', () => {
  it.each(REGISTRY.map((entry) => [labelOf(entry), entry] as const))('%s', (label, entry) => {
    assertProperty(
      label,
      fc.property(caseArb(entry), holdsArb, guarded((c, holds) => {
        const baseline = tf.memory().numTensors;
        const tx = c.recipe.make(ctxOf(c.tree));
        const made = holds.twins ? paramsWithTwins(c) : { params: paramsOf(c), arrays: [], twins: [] };
        const { arrays, twins } = made;
        let params = made.params;
        let state = tx.init(params);
        for (let k = 0; k < STEPS; k++) {
          const held = [...tensorsIn(params), ...tensorsIn(state)];
          const clones = holds.clones ? held.map((t) => tf.clone(t)) : [];
          const views = holds.views ? held.map((t) => tf.reshape(t, [t.size])) : [];
          const reads = holds.reads ? held.map((t) => t.dataSync() as Float32Array) : [];
          const readCopies = reads.map((r) => Array.from(r));
          const grads = gradsOf(c, k);
          const { extra, dispose } = extraFor(c.recipe.needs, grads, params, k);
          // lbfgs's extra.grad is the gradient tree itself, which trainStep disposes unless kept.
          const extraHeld = extra && { ...extra, grad: extra.grad === grads ? null : extra.grad };
          const others = () => snapshot({ clones, views, twins, keptGrads: holds.keepGrads ? grads : null, extra: extraHeld });
          const before = others();
          const arrayCopies = arrays.map((a) => Array.from(a));
          ({ params, state } = trainStep(tx, params, state, grads, { keepGrads: holds.keepGrads, extra }));
          expectSame(`step ${k}: tensors the caller holds`, others(), before);
          reads.forEach((r, i) => expectSame(`step ${k}: the array dataSync() returned for held tensor ${i}`, Array.from(r), readCopies[i]));
          arrays.forEach((a, i) => expectSame(`step ${k}: the caller's Float32Array of leaf ${i}`, Array.from(a), arrayCopies[i]));
          expectAlive(`step ${k}: the returned params and state`, [params, state]);
          dispose();
          if (holds.keepGrads) disposeAllBut(grads, [params, state]);
          tf.dispose([...clones, ...views]);
          // Every tensor alive now is one of the returned params and state, or a twin.
          const alive = tf.memory().numTensors - baseline;
          const expected = new Set([...tensorsIn(params), ...tensorsIn(state), ...twins]).size;
          if (alive !== expected) throw new Error(`step ${k}: ${alive - expected} tensor(s) leaked`);
        }
        disposeAllBut([params, state, twins]);
        if (tf.memory().numTensors !== baseline) throw new Error(`${tf.memory().numTensors - baseline} tensor(s) left after disposing everything`);
      })),
      fcParams(10, `trainStep/${label}`, REGRESSIONS[label]),
    );
  });
});

describe("trainStep's results survive an enclosing tf.tidy", () => {
  it.each(REGISTRY.map((entry) => [labelOf(entry), entry] as const))('%s', (label, entry) => {
    assertProperty(
      label,
      fc.property(caseArb(entry), guarded((c) => {
        const run = (tidy: boolean) => {
          const tx = c.recipe.make(ctxOf(c.tree));
          let params = paramsOf(c);
          let state = tx.init(params);
          for (let k = 0; k < STEPS; k++) {
            const grads = gradsOf(c, k);
            const { extra, dispose } = extraFor(c.recipe.needs, grads, params, k);
            const step = () => {
              ({ params, state } = trainStep(tx, params, state, grads, { extra }));
            };
            if (tidy) tf.tidy(step);
            else step();
            dispose();
            expectAlive(`step ${k}${tidy ? ' in tf.tidy' : ''}: the returned params and state`, [params, state]);
          }
          const out = snapshot({ params, state });
          disposeAllBut([params, state]);
          return out;
        };
        const baseline = tf.memory().numTensors;
        const inside = run(true);
        expectSame('inside tf.tidy vs outside', inside, run(false));
        if (tf.memory().numTensors !== baseline) throw new Error(`${tf.memory().numTensors - baseline} tensor(s) left`);
      })),
      fcParams(3, `tidy/${label}`),
    );
  });
});
