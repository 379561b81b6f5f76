import * as tf from '@tensorflow/tfjs-core';
import { TreeStructureError, type ExtraArgs, type GradientTransformation, type Params, type TensorTree } from '../types.js';
import { checkFloatTrees } from '../internal/leaves.js';
import { declaredOwner } from '../internal/state.js';
import { forEachLeaf, formatPath, pushTensorsFast, type TreePath } from '../tree/walk.js';
import { disposeReplaced, treeKeep } from '../tree/memory.js';
import { checkNotReplaced, markReplaced } from '../internal/replaced.js';
import { treeFlatten, treeLeaves } from '../tree/structure.js';
import { applyUpdates } from '../combine/apply-updates.js';
import { fusedApply } from '../kernels/fused.js';

/**
 * `true` for a `tf.Variable` (tfjs makes `instanceof` work across copies of tfjs-core).
 * @group Training loop
 */
export function isVariable(value: unknown): value is tf.Variable {
  return value instanceof tf.Variable;
}

/**
 * Writes `variables + updates` into the variables in place (`variable.assign`), leaf by leaf,
 * and returns `variables`. Every check (structure, dtype, shape, that each leaf is a
 * `tf.Variable`) runs before any variable changes, so an error leaves them all untouched. The
 * updates are not disposed.
 * @group Training loop
 */
export function assignUpdates<P extends Params>(variables: P, updates: TensorTree<P>): P {
  checkFloatTrees('assignUpdates', ['variables', 'updates'], [variables, updates as Params]);
  checkEachParamOnce('assignUpdates', variables, 'variables');
  forEachLeaf(variables, (v, path) => {
    if (!isVariable(v)) {
      throw new TypeError(
        `assignUpdates: ${formatPath(path, 'variables')} is a tensor, not a tf.Variable; use applyUpdates for tensors`,
      );
    }
  });
  return addInPlaceWherePossible(variables, updates);
}

/**
 * `params + updates`, written into the leaves that are `tf.Variable`s (which are returned as
 * they are) and returned as new tensors for the others.
 */
function addInPlaceWherePossible<P extends Params>(params: P, updates: TensorTree<P>): P {
  const sums = treeLeaves(applyUpdates(params, updates));
  const [leaves, def] = treeFlatten(params);
  const next = leaves.map((p, i) => {
    if (!isVariable(p)) return sums[i];
    p.assign(sums[i]);
    sums[i].dispose();
    return p;
  });
  return def.unflatten(next) as P;
}

/**
 * Options of {@link trainStep}.
 * @group Training loop
 */
export interface TrainStepOptions {
  /** Keep the gradients alive after the step (they are disposed by default). */
  keepGrads?: boolean;
  /**
   * Extra arguments for `tx.update` (the loss for `reduceOnPlateau`, say), passed unchanged. A
   * fused kernel does not read them: only transformations without one use them.
   */
  extra?: ExtraArgs;
}

/**
 * The result of {@link trainStep}.
 * @group Training loop
 */
export interface TrainStepResult<P extends Params, S> {
  /**
   * The parameters after the step, with the structure of those given: the same `tf.Variable`s
   * (assigned in place), and for plain tensors either new tensors or, where a fused kernel wrote
   * in place, the same objects. Use these from now on.
   */
  params: P;
  /** The transformation's state after the step; the tensors of the old state it replaced are disposed. */
  state: S;
}

/**
 * One optimizer step with the memory handled: computes `tx.update(grads, state, params)`,
 * adds the updates to the parameters, and disposes everything the step replaced (the old
 * parameter and state tensors that the new ones no longer hold, the updates, and the gradients
 * unless `keepGrads`).
 *
 * Parameters that are `tf.Variable`s are updated in place and stay the same objects. Plain
 * tensors are replaced by new ones, or, where a fused kernel runs, **overwritten in place** and
 * returned as the same objects; the state's tensors likewise. A step writes only into memory
 * nobody else can see: on wasm, a buffer no other tensor shares; on cpu (which shares arrays
 * without counting: `tf.tensor(array)` keeps the array, `dataSync()` returns the backend's own,
 * slices are views), only an array the library allocated and has not handed out since; on
 * webgpu and webgl, see their runners. So a snapshot taken before a step (`tf.clone`, `dataSync`,
 * a slice) keeps its values.
 *
 * - What it returns (new tensors, or tensors written in place) is kept (`tf.keep`): it outlives
 *   an enclosing `tf.tidy`, as tf.train's variables do.
 * - The `state` given is spent: it is marked replaced, and giving it to a step again (this or
 *   `update`) throws. Use the returned `params` and `state` from then on.
 * - One tensor at two paths of `params` is an error (one of its updates would be lost).
 * - On an error nothing is changed or disposed: every check and scalar precedes the first write.
 *
 * ```ts
 * let params = { w, b };
 * let state = tx.init(params);
 * for (const batch of batches) {
 *   const grads = gradsOf(params, batch); // a tree shaped like params
 *   ({ params, state } = trainStep(tx, params, state, grads));
 * }
 * ```
 * @group Training loop
 */
export function trainStep<P extends Params, S>(
  tx: GradientTransformation<S>,
  params: P,
  state: S,
  grads: TensorTree<P>,
  { keepGrads = false, extra }: TrainStepOptions = {},
): TrainStepResult<P, S> {
  const owner = declaredOwner(tx) ?? 'trainStep';
  checkNotReplaced(owner, state);
  checkEachParamOnce(owner, params);
  const fused = fusedApply(tx, grads as Params, state, params, true, undefined, extra);
  if (fused !== undefined && fused[0] === params) {
    // Written in place (or a step that changes no parameter): the parameter tensors are the same
    // ones, and so are the state tensors the kernel wrote into; what the step replaced (a wrapper's
    // accumulator, say) goes, and the gradients unless kept.
    const keep: unknown[] = [params, fused[1]];
    if (keepGrads) keep.push(grads);
    disposeReplaced([state, grads], keep);
    return finish(state, params, fused[1]);
  }
  let nextParams: P;
  let nextState: S;
  let updates: Params = null;
  if (fused) {
    // One kernel pass computed new parameters; write them into any variables.
    nextParams = intoVariables(params, fused[0] as P);
    nextState = fused[1];
  } else {
    // Checked before the update computes anything, as the fused step checks them.
    checkFloatTrees(owner, ['updates', 'params'], [grads as Params, params]);
    [updates, nextState] = tx.update(grads as Params, state, params, extra);
    try {
      nextParams = addInPlaceWherePossible(params, updates as TensorTree<P>);
    } catch (err) {
      disposeReplaced([updates, nextState], [params, state, grads]);
      throw err;
    }
  }
  const keep: unknown[] = [nextParams, nextState];
  if (keepGrads) keep.push(grads);
  disposeReplaced([params, state, updates, grads], keep);
  return finish(state, nextParams, nextState);
}

/**
 * The step's result, made to outlive an enclosing `tf.tidy` (as tf.train's optimizers keep their
 * variables: tfjs programs call `applyGradients` and `minimize` inside tidy), whichever path
 * made it: new tensors, tensors written in place, or variables. `old` is marked replaced, so a
 * later step given it fails instead of reading a state whose tensors have moved on.
 */
function finish<P extends Params, S>(old: S, params: P, state: S): TrainStepResult<P, S> {
  if (insideTidy()) treeKeep([params, state]);
  markReplaced(old, state);
  return { params, state };
}

/**
 * Whether a `tf.tidy` is running (tfjs-core 4.x's engine has an active scope); `true` where the
 * engine does not say. Outside one, no scope tracks the step's tensors, so none need keeping.
 */
function insideTidy(): boolean {
  const state = (tf.engine() as unknown as { state?: { activeScope?: unknown } }).state;
  return state?.activeScope !== null;
}

/**
 * Throws when one tensor (a `tf.Variable`, say) appears at two paths of `params`: a step computes
 * one update per path, and writing both into one tensor would silently keep only the last.
 */
function checkEachParamOnce(owner: string, params: Params, root = 'params'): void {
  // The fast walk (no paths); a tree it cannot walk gets treeLeaves' error with its path.
  const found: tf.Tensor[] = [];
  const leaves = pushTensorsFast(params, found) ? found : treeLeaves(params);
  if (new Set(leaves).size === leaves.length) return;
  const seen = new Map<tf.Tensor, TreePath>();
  forEachLeaf(params, (t, path) => {
    const first = seen.get(t);
    if (first !== undefined) {
      throw new TreeStructureError(
        `${owner}: ${formatPath(first, root)} and ${formatPath(path, root)} are the same tensor; ` +
          `each parameter must appear once in ${root} (to share a weight, list it once and add its gradients)`,
        formatPath(path),
      );
    }
    seen.set(t, [...path]);
  });
}

/** Assigns the new values of `tf.Variable` leaves into them, keeping the variables. */
function intoVariables<P extends Params>(params: P, values: P): P {
  const [leaves, def] = treeFlatten(params);
  const next = treeLeaves(values);
  return def.unflatten(
    leaves.map((p, i) => {
      if (!isVariable(p)) return next[i];
      p.assign(next[i]);
      next[i].dispose();
      return p;
    }),
  ) as P;
}
