import * as tf from '@tensorflow/tfjs-core';
import { applyUpdates, type GradientTransformation, type Params } from '../../src/index.js';
import { expectAllClose, flat, gradValues } from '../helpers.js';

// The same 20-step gradient sequence fed to tf.train's optimizer (on variables) and to ours (on
// tensors), with the same hyperparameters and eps set equal. Gradients depend on the step only,
// so both see identical inputs. tf.train keeps bias corrections and accumulators in float32
// tensors, so agreement is to float32 rounding, not bitwise.

const SHAPES: Record<string, number[]> = { kernel: [4, 3], bias: [3], gain: [] };

function initial(name: string): number[] {
  const n = SHAPES[name].reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => Math.cos(i + name.length) * 0.8);
}

function grad(name: string, k: number): number[] {
  const n = SHAPES[name].reduce((a, b) => a * b, 1);
  return gradValues(k, n + name.length).slice(name.length).map((g, i) => g * (1 + 0.1 * ((i + k) % 4)));
}

/** `steps` steps of ours and of tf.train's optimizer from the same start agree to float32 rounding. */
export function compare(ours: GradientTransformation<any>, theirs: tf.Optimizer, steps = 20): void {
  const names = Object.keys(SHAPES);
  const suffix = Math.random().toString(36).slice(2);
  const vars = Object.fromEntries(
    names.map((n) => [n, tf.variable(tf.tensor(initial(n), SHAPES[n]), true, `${n}_${suffix}`)]),
  );
  let params: Params = Object.fromEntries(names.map((n) => [n, tf.tensor(initial(n), SHAPES[n])]));
  let state = ours.init(params);
  for (let k = 0; k < steps; k++) {
    const grads = Object.fromEntries(names.map((n) => [n, tf.tensor(grad(n, k), SHAPES[n])]));
    theirs.applyGradients(Object.fromEntries(names.map((n) => [vars[n].name, grads[n]])));
    const [u, next]: [Params, unknown] = ours.update(grads, state, params);
    params = applyUpdates(params, u);
    state = next;
  }
  const p = params as Record<string, tf.Tensor>;
  for (const n of names) expectAllClose(flat(p[n]), Array.from(vars[n].dataSync()), 2e-5, 2e-6);
  theirs.dispose();
  for (const v of Object.values(vars)) v.dispose();
}
