import * as tf from '@tensorflow/tfjs-core';
import { describeNode, isTensor } from '../tree/walk.js';
import type { NamedTensor } from './loaded-optimizer.js';

// OptaxOptimizer keeps its state for the tree `{ [variable name]: variable }`: these find the
// variables by name in the tfjs engine.

/** A name-keyed tree of variables or of gradients. */
export type NamedTree = Record<string, tf.Tensor>;

/** Whether a variable of this name is registered with the tfjs engine (not disposed). */
export function isLiveVariable(name: string): boolean {
  return tf.engine().registeredVariables[name] !== undefined;
}

/** The registered variables of these names, as a name-keyed tree. */
export function variablesNamed(names: readonly string[]): NamedTree {
  const out: NamedTree = Object.create(null);
  const registered = tf.engine().registeredVariables;
  for (const n of names) out[n] = registered[n];
  return out;
}

/** The variables and gradients of a step as name-keyed trees, checked. */
export function collectGradients(owner: string, given: tf.NamedTensorMap | NamedTensor[]): [NamedTree, NamedTree, string[]] {
  let entries: Array<[unknown, unknown]>;
  if (Array.isArray(given)) {
    entries = given.map((e, i) => {
      if (e === null || typeof e !== 'object') throw new TypeError(`${owner}: entry ${i} is ${describeNode(e)}, expected { name, tensor }`);
      return [e.name, e.tensor];
    });
  } else if (given !== null && typeof given === 'object') {
    entries = Object.keys(given).map((k) => [k, (given as tf.NamedTensorMap)[k]]);
  } else {
    throw new TypeError(`${owner}: expected a map from variable names to gradients or a list of { name, tensor }, got ${describeNode(given)}`);
  }
  const params: NamedTree = Object.create(null);
  const grads: NamedTree = Object.create(null);
  const registered = tf.engine().registeredVariables;
  for (const [name, g] of entries) {
    if (typeof name !== 'string') throw new TypeError(`${owner}: a variable name is ${describeNode(name)}, not a string`);
    if (g === null || g === undefined) continue;
    if (!isTensor(g)) throw new TypeError(`${owner}: the gradient of '${name}' is ${describeNode(g)}, not a tensor`);
    if (g.isDisposed) throw new Error(`${owner}: the gradient of '${name}' has been disposed`);
    const v = registered[name];
    if (v === undefined) throw new Error(`${owner}: no tf.Variable named '${name}' exists (disposed, or not a variable's name)`);
    if (name in params) throw new Error(`${owner}: the variable '${name}' is given twice`);
    params[name] = v;
    grads[name] = g;
  }
  return [params, grads, Object.keys(params).sort()];
}
