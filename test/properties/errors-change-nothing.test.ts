import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { applyUpdates, trainStep, type Params, type Schedule } from '../../src/index.js';
import { assertProperty, guarded, type Case, caseArb, caseOf, ctxOf, disposeAllBut, expectSame, fcParams, gradsOf, suiteHooks, paramsOf, snapshot, type Snap, tensorsIn } from './harness.js';
import { type AnyTx, described, extraFor, labelOf, recipeOf, REGISTRY, show } from './registry.js';

// A step that throws changes nothing, and a retry with good input gives what never failing
// gives: for every exported transformation, with random trees and hyperparameters, one step
// is made to throw, through `tx.update` or `trainStep`:
// - the learning rate's schedule throws, or returns NaN, the first time it is asked for count k
//   (the rate is put into the transformation, into every inner transformation of a wrapper, or,
//   for one without a rate, into a `scaleByLearningRate` chained after it);
// - the gradients have a leaf missing, a leaf too many, a leaf of the wrong shape or an int32 leaf
//   (trainStep must refuse all four; tx.update may accept what its math does not look at).
// When the step throws, the params, the state, the gradients and every other tensor involved
// must keep their values and stay alive, with no tensor left behind; the step is then retried
// with good input, and after all the steps the params and state must equal, bit for bit, those
// of the same steps that never failed.
// Runs in the suite's kernel mode (TFJS_KERNELS=composite for the composite path).

suiteHooks();

const STEPS = 5;

type FaultKind = 'schedule throws' | 'schedule returns NaN' | 'a leaf missing' | 'a leaf too many' | 'a leaf of the wrong shape' | 'an int32 leaf';
const SCHEDULE_FAULTS: FaultKind[] = ['schedule throws', 'schedule returns NaN'];
const GRAD_FAULTS: FaultKind[] = ['a leaf missing', 'a leaf too many', 'a leaf of the wrong shape', 'an int32 leaf'];

interface Fault {
  kind: FaultKind;
  /** The count at which the schedule fails, or the step whose gradients are bad. */
  at: number;
  /** The learning rate the schedule follows when it does not fail. */
  rate: number;
  via: 'update' | 'trainStep';
}

const faultArb: fc.Arbitrary<Fault> = fc.record({
  kind: fc.constantFrom(...SCHEDULE_FAULTS, ...GRAD_FAULTS),
  at: fc.integer({ min: 1, max: 3 }),
  rate: fc.integer({ min: 1, max: 300 }).map((i) => i / 1000),
  via: fc.constantFrom('update' as const, 'trainStep' as const),
});

/**
 * `rate / (1 + count / 4)`, except that the first call at count `failAt` throws or returns NaN
 * (as `kind` says); later calls at that count succeed, as a transient failure would.
 */
function flakySchedule(rate: number, failAt: number, kind: FaultKind): Schedule {
  let failed = false;
  const schedule = (count: number) => {
    if (count === failAt && !failed) {
      failed = true;
      if (kind === 'schedule throws') throw new Error(`schedule failed at count ${count}`);
      return NaN;
    }
    return rate / (1 + count / 4);
  };
  return described(schedule, failAt < 0 ? `(c) => ${rate} / (1 + c / 4)` : `flaky((c) => ${rate} / (1 + c / 4), ${kind} at count ${failAt})`);
}

/** The gradients with one fault, as new tensors (the good ones are left as they are). */
function corrupt(grads: Params, kind: FaultKind): Params {
  const root = grads as Record<string, Params>;
  const p = root.p as tf.Tensor;
  switch (kind) {
    case 'a leaf missing':
      return { ...root, p: null };
    case 'a leaf too many':
      return { ...root, zz: tf.scalar(1) };
    case 'a leaf of the wrong shape':
      return { ...root, p: tf.zeros([p.size + 1]) };
    default:
      return { ...root, p: tf.cast(p, 'int32') };
  }
}

/** The tensors `faulty` has that `good` has not. */
const extraTensors = (faulty: Params, good: Params) => {
  const have = new Set(tensorsIn(good));
  return tensorsIn(faulty).filter((t) => !have.has(t));
};

/**
 * `STEPS` steps, and a snapshot of the final params and state; with `faulty`, the faulty step is
 * checked to change nothing when it throws, then retried with good input. Everything made is
 * freed.
 */
function run(c: Case, fault: Fault, faulty: boolean): Snap {
  const schedule = flakySchedule(fault.rate, faulty && SCHEDULE_FAULTS.includes(fault.kind) ? fault.at : -1, fault.kind);
  const scheduled = SCHEDULE_FAULTS.includes(fault.kind);
  let tx: AnyTx;
  try {
    tx = c.recipe.make(ctxOf(c.tree), scheduled ? schedule : undefined);
  } catch {
    // A transformation that takes no schedule there (scheduleFree with warmupSteps, say).
    fc.pre(false);
    throw new Error('unreachable');
  }
  let params = paramsOf(c);
  let state = tx.init(params);
  let threw = false;
  for (let k = 0; k < STEPS; k++) {
    const grads = gradsOf(c, k);
    const badGrads = faulty && !scheduled && k === fault.at ? corrupt(grads, fault.kind) : undefined;
    const attempt = (g: Params): boolean => {
      const { extra, dispose } = extraFor(c.recipe.needs, g, params, k);
      const involved = { params, state, grads: g, extra };
      const before = snapshot(involved);
      const alive = tensorsIn(involved);
      const count = tf.memory().numTensors;
      try {
        if (fault.via === 'trainStep') {
          ({ params, state } = trainStep(tx, params, state, g, { extra, keepGrads: g !== grads }));
        } else {
          const [u, next] = tx.update(g, state, params, extra);
          if (g !== grads) {
            // Bad gradients accepted: the result is not used (applyUpdates would refuse it).
            disposeAllBut([u, next], [params, state, g]);
            return true;
          }
          const nextParams = applyUpdates<Params>(params, u);
          disposeAllBut([params, state, u], [nextParams, next, g]);
          params = nextParams;
          state = next;
        }
      } catch (error) {
        const where = `step ${k} threw (${(error as Error).message})`;
        const dead = alive.findIndex((t) => t.isDisposed);
        if (dead >= 0) throw new Error(`${where} and disposed tensor ${dead} of params, state, gradients and extra`);
        expectSame(`${where} and changed params, state, gradients or extra`, snapshot(involved), before);
        if (tf.memory().numTensors !== count) throw new Error(`${where} and left ${tf.memory().numTensors - count} tensor(s) behind`);
        return false;
      } finally {
        dispose();
      }
      return true;
    };
    if (badGrads !== undefined) {
      const ok = attempt(badGrads);
      tf.dispose(extraTensors(badGrads, grads));
      if (ok) {
        if (fault.via === 'trainStep') throw new Error(`trainStep accepted gradients with ${fault.kind}`);
        // tx.update did not look at what was wrong: nothing to check; start again from scratch.
        disposeAllBut([params, state, grads]);
        fc.pre(false);
      }
      threw = true;
    }
    if (!attempt(grads)) {
      if (!scheduled || threw) throw new Error(`step ${k} threw again when retried with good input`);
      threw = true;
      if (!attempt(grads)) throw new Error(`step ${k} threw again when retried with good input`);
    }
    if (fault.via === 'update') disposeAllBut(grads, [params, state]);
  }
  const final = snapshot({ params, state });
  disposeAllBut([params, state]);
  return final;
}

/** Minimal counterexamples of bugs this property found, run first. */
const REGRESSIONS: Record<string, Array<[Case, Fault]>> = {
  // The cycle's last micro-step adds the gradient into the accumulator in place, then the inner
  // schedule throws: the accumulator has changed.
  multiSteps: [[
    caseOf(recipeOf('multiSteps', [recipeOf('sgd', [0.1])], { everyK: 2 }), { p: { shape: [1] }, q: null }),
    { kind: 'schedule throws', at: 1, rate: 0.1, via: 'trainStep' },
  ]],
  // On wasm, tf.where with a [1, n] condition over a [0, n] leaf corrupts the heap.
  adaptiveGradClip: [[
    caseOf(recipeOf('adaptiveGradClip', [0.01]), { p: { shape: [1] }, q: { shape: [0, 4] } }),
    { kind: 'a leaf too many', at: 1, rate: 0.1, via: 'update' },
  ]],
};

describe('a step that throws changes nothing, and a retry gives what never failing gives', () => {
  it.each(REGISTRY.map((entry) => [labelOf(entry), entry] as const))('%s', (label, entry) => {
    assertProperty(
      label,
      fc.property(caseArb(entry), faultArb, guarded((c, fault) => {
        const baseline = tf.memory().numTensors;
        const failed = run(c, fault, true);
        const never = run(c, fault, false);
        expectSame(`after ${show(fault)}: final params and state, vs never failing`, failed, never);
        if (tf.memory().numTensors !== baseline) throw new Error(`${tf.memory().numTensors - baseline} tensor(s) left`);
      })),
      fcParams(12, `errors/${label}`, REGRESSIONS[label]),
    );
  });
});
