import * as tf from '@tensorflow/tfjs-core';
import type { GradientTransformation, Params, Updates } from '../types.js';
import { checkFloatTrees, missingParams } from '../internal/leaves.js';
import { treeFlatten, treeLeaves } from '../tree/structure.js';
import { runCpuKernel } from './cpu/loops.js';
import { FUSED_KERNEL, type FusedAttrs } from './layout.js';
import { FLAG, FUSED, SCALAR_COUNT, SLOT_COUNT, fusedSpecOf, type FusedSpec, type MaybeFused } from './spec.js';
import { WasmKernels, type WasmBackendLike } from './wasm/runner.js';

/** Which implementation runs a transformation's update on the current backend. */
export type KernelPath = 'wasm-simd' | 'cpu' | 'composite';

/** `'auto'` uses a fused kernel where one exists for the backend; `'composite'` never does. */
export type KernelMode = 'auto' | 'composite';

let mode: KernelMode = 'auto';

/**
 * Chooses between the fused kernels (`'auto'`, the default) and the composite tf-op path
 * (`'composite'`) for every transformation, for example to compare the two or to rule the
 * kernels out while debugging. The composite path is the reference the kernels are tested
 * against; both give the same results to float32 rounding.
 */
export function setKernelMode(next: KernelMode): void {
  if (next !== 'auto' && next !== 'composite') {
    throw new TypeError(`setKernelMode: expected 'auto' or 'composite', got ${String(next)}`);
  }
  mode = next;
}

/** The current kernel mode (see {@link setKernelMode}). */
export function getKernelMode(): KernelMode {
  return mode;
}

/** The fused path available on the active tfjs backend, ignoring the mode. */
function backendPath(): KernelPath {
  const name = tf.getBackend();
  if (name === 'cpu') return 'cpu';
  if (name === 'wasm') return WasmKernels.for(tf.backend() as unknown as WasmBackendLike) ? 'wasm-simd' : 'composite';
  return 'composite';
}

/**
 * Which implementation `tx.update` (and `trainStep`) uses on the active backend: `'wasm-simd'`
 * (WebAssembly SIMD kernels on the wasm backend), `'cpu'` (typed-array loops on the cpu
 * backend) or `'composite'` (tfjs ops, used on every other backend, for transformations
 * without a fused kernel, and when {@link setKernelMode} says so).
 */
export function kernelPath(tx: GradientTransformation<any>): KernelPath {
  if (mode === 'composite' || !fusedSpecOf(tx)) return 'composite';
  return backendPath();
}

function ensureKernel(backendName: string): void {
  if (tf.getKernel(FUSED_KERNEL, backendName)) return;
  tf.registerKernel({
    kernelName: FUSED_KERNEL,
    backendName,
    kernelFunc: backendName === 'wasm' ? wasmKernel : cpuKernel,
  });
}

/** The inputs of the kernel in the documented order, and how many outputs it makes. */
function outputShapes(inputs: tf.TensorInfo[], attrs: FusedAttrs): number[][] {
  const leaves = inputs.slice(0, attrs.leaves).map((t) => t.shape);
  const present = attrs.slots.filter(Boolean).length;
  return Array.from({ length: 1 + present }, () => leaves).flat();
}

/** Splits the kernel's inputs and outputs per leaf into the positions of the kernel table. */
function perLeaf<T>(inputs: T[], outputs: T[], attrs: FusedAttrs): Array<{ inputs: Array<T | null>; outputs: Array<T | null> }> {
  const L = attrs.leaves;
  const slotInputs: Array<T[] | null> = [];
  const slotOutputs: Array<T[] | null> = [];
  let nextIn = attrs.hasParams ? 2 * L : L;
  let nextOut = L;
  for (let k = 0; k < SLOT_COUNT[attrs.family]; k++) {
    if (attrs.slots[k]) {
      slotInputs.push(inputs.slice(nextIn, nextIn + L));
      slotOutputs.push(outputs.slice(nextOut, nextOut + L));
      nextIn += L;
      nextOut += L;
    } else {
      slotInputs.push(null);
      slotOutputs.push(null);
    }
  }
  return Array.from({ length: L }, (_, j) => ({
    inputs: [inputs[j], attrs.hasParams ? inputs[L + j] : null, ...slotInputs.map((s) => (s ? s[j] : null))],
    outputs: [outputs[j], ...slotOutputs.map((s) => (s ? s[j] : null))],
  }));
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The kernel's per-leaf records (size, decay flag, inputs, outputs), each slot converted. */
function records<T extends { shape: number[] }, R>(
  attrs: FusedAttrs,
  leaves: Array<{ inputs: Array<T | null>; outputs: Array<T | null> }>,
  convert: (t: T | null) => R,
): Array<{ n: number; decay: number; inputs: R[]; outputs: R[] }> {
  return leaves.map((leaf, j) => ({
    n: sizeOf(leaf.inputs[0]!.shape),
    decay: attrs.decay[j] ?? 0,
    inputs: leaf.inputs.map(convert),
    outputs: leaf.outputs.map(convert),
  }));
}

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as FusedAttrs;
  const b = backend as unknown as WasmBackendLike & {
    makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  };
  const kernels = WasmKernels.for(b);
  if (!kernels) throw new Error('tfjs-optax: the wasm kernels are not available on this backend');
  const ins = Object.values(inputs) as tf.TensorInfo[];
  const outs = outputShapes(ins, a).map((shape) => b.makeOutput(shape, 'float32'));
  // Offsets are read after every output is allocated: allocation may grow the heap.
  kernels.run(a, records(a, perLeaf(ins, outs, a), (t) => (t ? kernels.offset(t.dataId) : 0)));
  return outs;
};

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as FusedAttrs;
  const b = backend as unknown as {
    readSync(dataId: object): Float32Array;
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  };
  const ins = Object.values(inputs) as tf.TensorInfo[];
  // The backend keeps the given arrays as the outputs' data, so readSync reaches them too.
  const outs = outputShapes(ins, a).map((shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(sizeOf(shape))));
  runCpuKernel(a, records(a, perLeaf(ins, outs, a), (t) => (t ? b.readSync(t.dataId) : null)));
  return outs;
};

/** A fused call, checked and laid out: the kernel attributes and the leaves in kernel order. */
interface Prepared {
  attrs: FusedAttrs;
  grads: tf.Tensor[];
  params: tf.Tensor[] | null;
  slots: Array<tf.Tensor[] | null>;
  def: ReturnType<typeof treeFlatten>[1];
}

/**
 * Checks the trees exactly as the composite path does (before anything is created), evaluates
 * the per-step scalars and lays the leaves out for the kernel.
 */
function prepare<S>(spec: FusedSpec<S>, updates: Updates, state: S, params: Params | undefined, apply: boolean): Prepared {
  const slotTrees = spec.slots(state);
  const decays = (spec.flags & FLAG.decay) !== 0;
  const hasParams = decays || apply;
  if (hasParams && params === undefined) throw missingParams(spec.owner);
  const names = ['updates'];
  const trees: Params[] = [updates];
  slotTrees.forEach((tree, k) => {
    if (tree !== null) {
      names.push(spec.slotNames[k]!);
      trees.push(tree);
    }
  });
  if (hasParams) {
    names.push('params');
    trees.push(params!);
  }
  checkFloatTrees(spec.owner, names, trees);
  const scalars = spec.scalars(state);
  if (scalars.length !== SCALAR_COUNT[spec.family]) {
    throw new Error(`tfjs-optax: ${spec.owner} gave ${scalars.length} kernel scalars, the ${spec.family} kernel reads ${SCALAR_COUNT[spec.family]}`);
  }
  const mask = decays ? spec.decayMask?.(params!) ?? null : null;
  const [grads, def] = treeFlatten(updates);
  return {
    attrs: {
      family: spec.family,
      flags: spec.flags | (apply ? FLAG.apply : 0) | (spec.clipNorm !== undefined ? FLAG.clip : 0),
      scalars,
      clipNorm: spec.clipNorm ?? 0,
      leaves: grads.length,
      hasParams,
      slots: slotTrees.map((t) => t !== null),
      decay: grads.map((_, j) => (decays && (mask === null || mask[j]) ? 1 : 0)),
    },
    grads,
    params: hasParams ? treeLeaves(params!) : null,
    slots: slotTrees.map((t) => (t === null ? null : treeLeaves(t))),
    def,
  };
}

/**
 * Runs `spec` as one fused kernel over the whole tree, into new tensors: returns the updates
 * (or, with `apply`, the new parameters) and the new state. The inputs are not changed.
 */
export function runFused<S>(
  spec: FusedSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  apply: boolean,
): [Updates, S] {
  const prep = prepare(spec, updates, state, params, apply);
  const L = prep.grads.length;
  if (L === 0) return [updates, spec.next(state, spec.slots(state))];
  ensureKernel(tf.getBackend());
  const inputs = [...prep.grads, ...(prep.params ?? []), ...prep.slots.flatMap((s) => s ?? [])];
  const named: tf.NamedTensorMap = {};
  inputs.forEach((t, i) => (named[`x${i}`] = t));
  const outs = tf.engine().runKernel(FUSED_KERNEL, named, prep.attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const out = prep.def.unflatten(outs.slice(0, L)) as Params;
  let next = L;
  const newSlots = prep.slots.map((leaves) => {
    if (leaves === null) return null;
    const rebuilt = prep.def.unflatten(outs.slice(next, next + L)) as Params;
    next += L;
    return rebuilt;
  });
  return [out, spec.next(state, newSlots)];
}

/** The backend's reference count of a tensor's data (1 when no other tensor shares it). */
function refCount(t: tf.Tensor): number {
  const b = tf.backend() as unknown as { refCount?(dataId: object): number };
  return typeof b.refCount === 'function' ? b.refCount(t.dataId) : Infinity;
}

/**
 * The fused step written into the parameter and state buffers themselves, when they belong to
 * nobody else: every one is float32, appears once, shares its data with no other tensor
 * (refCount 1) and is not a gradient. Returns `undefined` (nothing done) otherwise.
 */
function runInPlace<S>(spec: FusedSpec<S>, grads: Updates, state: S, params: Params): [Params, S] | undefined {
  const prep = prepare(spec, grads, state, params, true);
  const written = [...prep.params!, ...prep.slots.flatMap((s) => s ?? [])];
  const seen = new Set<object>(prep.grads.map((g) => g.dataId));
  for (const t of written) {
    if (seen.has(t.dataId) || refCount(t) !== 1) return undefined;
    seen.add(t.dataId);
  }
  const leaves = prep.grads.map((g, j) => ({
    inputs: [g, prep.params![j], ...prep.slots.map((s) => (s ? s[j] : null))],
    outputs: [prep.params![j], ...prep.slots.map((s) => (s ? s[j] : null))],
  }));
  if (tf.getBackend() === 'wasm') {
    const kernels = WasmKernels.for(tf.backend() as unknown as WasmBackendLike)!;
    kernels.run(prep.attrs, records(prep.attrs, leaves, (t) => (t ? kernels.offset(t.dataId) : 0)));
    for (const t of written) kernels.changed(t.dataId, t.size);
  } else {
    const b = tf.backend() as unknown as { readSync(dataId: object): Float32Array };
    runCpuKernel(prep.attrs, records(prep.attrs, leaves, (t) => (t ? b.readSync(t.dataId) : null)));
  }
  return [params, spec.next(state, spec.slots(state))];
}

/**
 * Attaches a fused implementation to a composite transformation: `update` runs the kernel when
 * {@link kernelPath} says one is available, the composite chain otherwise.
 */
export function withFusedKernel<S>(tx: GradientTransformation<S>, spec: FusedSpec<S>): GradientTransformation<S> {
  const fused: MaybeFused<S> = {
    init: tx.init,
    update: <U extends Updates>(updates: U, state: S, params?: Params): [U, S] =>
      kernelPath(fused) === 'composite'
        ? tx.update(updates, state, params)
        : (runFused(spec, updates, state, params, false) as [U, S]),
    [FUSED]: spec,
  };
  return fused;
}

/**
 * The optimizer step with the update applied in the same pass (params, grads and state are each
 * touched once), when a fused kernel runs `tx` here; `undefined` otherwise. With `inPlace`, the
 * new values are written into the old parameter and state buffers where that is safe (the
 * caller gives up the old trees, as `trainStep` does), saving an allocation per tensor.
 * @internal
 */
export function fusedApply<S>(
  tx: GradientTransformation<S>,
  grads: Updates,
  state: S,
  params: Params,
  inPlace = false,
): [Params, S] | undefined {
  const spec = fusedSpecOf(tx);
  if (!spec || kernelPath(tx) === 'composite') return undefined;
  return (inPlace ? runInPlace(spec, grads, state, params) : undefined) ?? runFused(spec, grads, state, params, true);
}

/**
 * `params + updates` for whole trees in one kernel call (the sgd kernel with a unit rate and
 * the apply flag computes exactly `p + u`, as `tf.add` does), when a fused path exists on this
 * backend; `undefined` otherwise. The trees must already have been checked.
 * @internal
 */
export function fusedAddTrees(params: Params, updates: Params): Params | undefined {
  if (mode === 'composite' || backendPath() === 'composite') return undefined;
  const [deltas] = treeFlatten(updates);
  const [values, def] = treeFlatten(params);
  if (values.length === 0) return undefined;
  ensureKernel(tf.getBackend());
  const attrs: FusedAttrs = {
    family: 'sgd',
    flags: FLAG.apply,
    scalars: [0, 1],
    clipNorm: 0,
    leaves: values.length,
    hasParams: true,
    slots: [false],
    decay: values.map(() => 0),
  };
  const named: tf.NamedTensorMap = {};
  [...deltas, ...values].forEach((t, i) => (named[`x${i}`] = t));
  const outs = tf.engine().runKernel(FUSED_KERNEL, named, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return def.unflatten(outs) as Params;
}
