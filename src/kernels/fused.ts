import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, GradientTransformation, Params, Updates } from '../types.js';
import { recordOf, stepsOf, withRecord } from '../internal/record.js';
import { checkStateOf, declaredOwner } from '../internal/state.js';
import type { KernelBackend, KernelPath } from './backend.js';
import { callKernel, ownsBuffers } from './call.js';
import { backendKernels, getKernelMode } from './mode.js';
import { addLeafNorms, deviceClipFactor, leafStateTree, prepare, type Prepared } from './prepare.js';
import type { FusedSpec } from './spec.js';
import { stepSpec } from './step.js';
import { slotsInLayout, unpackSlots } from './packed.js';
import type { FusedAttrs } from './layout.js';
import { notePackedHeader } from '../internal/packed-headers.js';
import { packedLayout } from '../internal/packed-slots.js';
import { packedHeader } from '../internal/state-dtype.js';

/**
 * The dispatcher: whether a transformation runs a fused kernel on the active backend, and the
 * fused step itself, into new tensors or into the old buffers. It knows backends only through
 * {@link KernelBackend} (backends.ts lists them).
 */

/** Each fused transformation's spec, made on first use, by its record. */
const specs = /* @__PURE__ */ new WeakMap<object, FusedSpec<any>>();

/** The fused description of `tx`, if its `update` runs a kernel where one exists. */
export function fusedSpecOf<S>(tx: GradientTransformation<S>): FusedSpec<S> | undefined {
  const record = recordOf(tx);
  if (record.fused === undefined) return undefined;
  let spec = specs.get(record);
  if (spec === undefined) {
    const made = stepSpec(record.fused.owner, stepsOf(tx)!);
    spec = record.fused.flat ? { ...made, flatSlots: true } : made;
    specs.set(record, spec);
  }
  return spec;
}

/**
 * Whether `tx` runs a fused kernel (its own, or its inner transformation's) on a backend with
 * kernels; with `programsOnly`, on one without the per-leaf norm pass (the GPU backends).
 */
export function runsFused(tx: GradientTransformation<any>, programsOnly: boolean): boolean {
  const record = recordOf(tx);
  if (record.fused !== undefined) {
    const spec = fusedSpecOf(tx)!;
    // Packed slots run fused on every backend that holds them (`init` refuses the others), in the
    // kernel itself or through float32 copies (packed.ts), never for a flat slot.
    if (spec.slotFormats !== undefined && spec.flatSlots === true) return false;
    return !programsOnly || spec.leafNorms === undefined;
  }
  return record.wrapper?.fusable(programsOnly) ?? false;
}

/**
 * Which implementation `tx.update` (and `trainStep`) uses on the active backend: `'wasm-simd'`
 * (WebAssembly SIMD kernels on the wasm backend's memory), `'cpu'` (the cpu backend's buffers
 * streamed through the same SIMD kernels in tiles, or typed-array loops without WebAssembly
 * SIMD), `'webgpu'` (one generated WGSL compute dispatch per leaf, on the webgpu backend's own
 * buffers), `'webgl'` (the same generated programs as GLSL: one multiple-render-target draw per
 * leaf writing all of its outputs, on the webgl backend's textures; WebGL2 only) or `'composite'`
 * (tfjs ops, used on every other backend (node, WebGL1), for transformations without a fused
 * kernel, and when {@link setKernelMode} says so). Every transformation whose step is a chain of
 * element steps has a fused kernel; on webgpu and webgl, those that read per-leaf norms (lamb,
 * lars, fromage, novograd) run composite. A wrapper reports its inner transformation's path
 * where it runs that kernel: `injectHyperparams(adamw)`, `applyIfFinite(...)`,
 * `multiSteps(...)`, `averageParams(...)`, `namedChain(...)` and `flatten(...)` do.
 *
 * @throws Error before a tfjs backend is ready (none set yet, or an asynchronous one such as
 * wasm still initialising): `await tf.setBackend(name)` or `await tf.ready()` first.
 * @group Kernels
 */
export function kernelPath(tx: GradientTransformation<any>): KernelPath {
  return kernelsFor(tx, 'kernelPath')?.path ?? 'composite';
}

/** The kernels that run `tx` here (`owner` names the caller if no backend is ready), if any. */
function kernelsFor(tx: GradientTransformation<any>, owner: string): KernelBackend | undefined {
  // The backend is asked first, so that a question asked too early fails in every mode.
  const ready = backendKernels(owner);
  const kernels = getKernelMode() === 'composite' ? undefined : ready;
  return kernels !== undefined && runsFused(tx, !kernels.leafNorms) ? kernels : undefined;
}

/**
 * Makes `tx` run the fused kernel of its element steps (`tx`'s record must have them): `update`
 * runs the kernel when {@link kernelPath} says one runs here, `tx`'s own update otherwise.
 * `owner` names the optimizer in the kernel's messages; with `flat`, the state slots are one 1-D
 * tensor each (`flatten`).
 */
export function withFusedKernel<S>(tx: GradientTransformation<S>, owner: string, flat = false): GradientTransformation<S> {
  const fused: GradientTransformation<S> = {
    ...tx,
    update: <U extends Updates>(updates: U, state: S, params?: Params, extra?: ExtraArgs): [U, S] => {
      const kernels = kernelsFor(fused, owner);
      if (kernels === undefined) return tx.update(updates, state, params, extra);
      // The check the composite chain makes first, so both paths reject a foreign state alike.
      checkStateOf(tx, state);
      return runFused(kernels, fusedSpecOf(fused)!, updates, state, params, false, undefined, extra) as [U, S];
    },
  };
  return withRecord(fused, { fused: { owner, flat } });
}

/**
 * Runs `spec` as one fused kernel over the whole tree, into new tensors: returns the updates
 * (or, with `apply`, the new parameters) and the new state. The inputs are not changed.
 */
function runFused<S>(
  kernels: KernelBackend,
  spec: FusedSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  apply: boolean,
  sumOfSquares?: number,
  extra?: ExtraArgs,
): [Updates, S] {
  const packed = packedCall(kernels, spec, updates, state, params, apply, sumOfSquares);
  if (packed === undefined && spec.slotFormats !== undefined) {
    const unpacked = unpackSlots(kernels, spec, state, updates);
    try {
      return runFused(kernels, unpacked.spec, updates, state, params, apply, sumOfSquares, extra);
    } finally {
      unpacked.release();
    }
  }
  const prepared = packed ?? prepare(kernels, spec, updates, state, params, apply, sumOfSquares);
  const { attrs, kernelInputs, def } = prepared;
  const next = spec.next(state);
  const observed = observe(kernels, spec, prepared, state, updates, params, extra);
  try {
    const leafState = addLeafNorms(kernels, spec, prepared, state, params, updates);
    const L = attrs.leaves;
    if (L === 0) return [updates, observed.into(next(spec.slots(state)))];
    const factor = deviceClipFactor(attrs, updates);
    let outs: tf.Tensor[];
    try {
      outs = callKernel(kernels, factor ? [...kernelInputs, factor] : kernelInputs, attrs);
    } finally {
      factor?.dispose();
    }
    const newSlots = Array.from({ length: attrs.slotCount }, (_, k): Params =>
      attrs.flatSlots ? outs[L + k] : def.unflatten(outs.slice(L * (k + 1), L * (k + 2))),
    );
    if (packed !== undefined) notePackedOutputs(attrs, prepared.table.sizes, outs);
    return [def.unflatten(outs.slice(0, L)) as Params, observed.into(next(newSlots, leafStateTree(leafState, def)))];
  } catch (err) {
    observed.discard();
    throw err;
  }
}

/**
 * The fused step written into the parameter and state buffers themselves, when they belong to
 * nobody else (see {@link ownsBuffers}). Returns `undefined` (nothing done) otherwise.
 */
function runInPlace<S>(
  kernels: KernelBackend,
  spec: FusedSpec<S>,
  grads: Updates,
  state: S,
  params: Params,
  sumOfSquares?: number,
  extra?: ExtraArgs,
): [Params, S] | undefined {
  // Packed slots are written in place only by a kernel that encodes them itself (the words it
  // writes are the words it read); otherwise their float32 copies are (see fusedApply).
  const packed = packedCall(kernels, spec, grads, state, params, true, sumOfSquares);
  if (packed === undefined && spec.slotFormats !== undefined) return undefined;
  const prepared = packed ?? prepare(kernels, spec, grads, state, params, true, sumOfSquares);
  const { attrs, table, writable } = prepared;
  if (!ownsBuffers(kernels, writable, table.inputs[0]!)) return undefined;
  const next = spec.next(state);
  const observed = observe(kernels, spec, prepared, state, grads, params, extra);
  let written = false;
  try {
    const leafState = addLeafNorms(kernels, spec, prepared, state, params, grads);
    const factor = deviceClipFactor(attrs, grads);
    try {
      written = kernels.runInPlace(attrs, { ...table, outputs: [table.inputs[1], ...table.inputs.slice(2)] }, writable, factor);
    } finally {
      factor?.dispose();
    }
    if (written) return [params, observed.into(next(spec.slots(state), leafStateTree(leafState, prepared.def)))];
  } finally {
    if (!written) observed.discard();
  }
  return undefined;
}

/**
 * `spec`'s call laid out with its packed slots as they are, when the kernels decode and encode
 * them in the step itself ({@link KernelBackend.runsPackedSlots}) and can run this call (no flat
 * slots, the device's limits); `undefined` otherwise: the float32 copies of packed.ts then.
 */
function packedCall<S>(
  kernels: KernelBackend,
  spec: FusedSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  apply: boolean,
  sumOfSquares?: number,
): Prepared | undefined {
  if (spec.slotFormats === undefined || spec.flatSlots === true || kernels.runsPackedSlots === undefined) return undefined;
  // A leaf in the other layout (made on webgl, or the reverse) goes through unpackSlots, which converts it.
  if (!slotsInLayout(spec, state)) return undefined;
  const prepared = prepare(kernels, spec, updates, state, params, apply, sumOfSquares, true);
  return kernels.runsPackedSlots(prepared.attrs) ? prepared : undefined;
}

/** Records the headers of the new packed leaves a kernel made (packed-headers.ts): the next step checks them without a read. */
function notePackedOutputs(attrs: FusedAttrs, sizes: readonly number[], outs: readonly tf.Tensor[]): void {
  const L = attrs.leaves;
  const layout = packedLayout();
  for (let k = 0; k < attrs.slotCount; k++) {
    const format = attrs.slotFormats?.[k] ?? 'float32';
    if (format === 'float32') continue;
    for (let j = 0; j < L; j++) notePackedHeader(outs[L * (k + 1) + j], packedHeader(format, sizes[j], layout));
  }
}

/** Nothing observed: the state as the kernel leaves it. */
const NOTHING_OBSERVED = { into: <S>(next: S) => next, discard: () => undefined };

/**
 * Runs the chain's leading observers (`monitor`, `snapshot`) on the gradients, after the checks
 * and before the kernel. Where one measures the global norm and the backend sums squares on the
 * host, the sum is taken here once and handed to the kernel for its clip as well: the norm costs
 * no extra pass where a clip needs it anyway.
 */
function observe<S>(
  kernels: KernelBackend,
  spec: FusedSpec<S>,
  prepared: Prepared,
  state: S,
  updates: Updates,
  params: Params | undefined,
  extra: ExtraArgs | undefined,
): { into(next: S): S; discard(): void } {
  const observers = spec.observers;
  if (observers === undefined) return NOTHING_OBSERVED;
  const { attrs, kernelInputs } = prepared;
  let sum = attrs.sumOfSquares;
  if (sum === undefined && observers.usesSumOfSquares) {
    sum = kernels.sumOfSquares(kernelInputs.slice(0, attrs.leaves));
    if (sum !== undefined && attrs.clipNorm > 0) attrs.sumOfSquares = sum;
  }
  return observers.observe(state, updates, params, extra, sum);
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
  sumOfSquares?: number,
  extra?: ExtraArgs,
): [Params, S] | undefined {
  const { fused, wrapper } = recordOf(tx);
  if ((fused === undefined && wrapper === undefined) || getKernelMode() === 'composite') return undefined;
  const kernels = kernelsFor(tx, fused?.owner ?? declaredOwner(tx) ?? 'trainStep');
  if (kernels === undefined) return undefined;
  checkStateOf(tx, state);
  if (fused === undefined) return wrapper!.apply(grads, state, params, inPlace, sumOfSquares, extra);
  const spec = fusedSpecOf(tx)!;
  if (spec.slotFormats !== undefined && (spec.flatSlots === true || kernels.runsPackedSlots === undefined)) {
    // Packed slots: decoded once into float32 copies, which are the step's own. With `inPlace`
    // the kernel writes the new moments into them and the parameters into theirs (where the
    // parameters' buffers are the caller's to give up), sparing an allocation per tensor.
    const unpacked = unpackSlots(kernels, spec, state, grads);
    try {
      return (
        (inPlace ? runInPlace(kernels, unpacked.spec, grads, state, params, sumOfSquares, extra) : undefined) ??
        (runFused(kernels, unpacked.spec, grads, state, params, true, sumOfSquares, extra) as [Params, S])
      );
    } finally {
      unpacked.release();
    }
  }
  return (
    (inPlace ? runInPlace(kernels, spec, grads, state, params, sumOfSquares, extra) : undefined) ??
    (runFused(kernels, spec, grads, state, params, true, sumOfSquares, extra) as [Params, S])
  );
}

/**
 * `tx.update` through its own fused kernel when it has one and the backend runs it, reusing a
 * sum of squares of the updates the caller has computed; `tx.update` otherwise.
 * @internal
 */
export function fusedUpdate<S, U extends Updates>(
  tx: GradientTransformation<S>,
  updates: U,
  state: S,
  params: Params | undefined,
  extra: ExtraArgs | undefined,
  sumOfSquares?: number,
): [U, S] {
  const spec = fusedSpecOf(tx);
  const kernels = spec === undefined ? undefined : kernelsFor(tx, spec.owner);
  if (kernels === undefined) return tx.update(updates, state, params, extra);
  checkStateOf(tx, state);
  return runFused(kernels, spec!, updates, state, params, false, sumOfSquares, extra) as [U, S];
}
