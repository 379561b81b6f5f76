import * as tf from '@tensorflow/tfjs-core';
import type { ExtraArgs, GradientTransformation, Params, PyTree, Updates } from '../types.js';
import { flattenFloatTrees, missingParams } from '../internal/leaves.js';
import { checkStateOf, copyStateLayout, declaredOwner } from '../internal/state.js';
import type { TreeDef } from '../tree/structure.js';
import { runCpuKernel, sumOfSquares } from './cpu/loops.js';
import { FUSED_KERNEL, clipScale, segmentsOf, type FusedAttrs, type KernelData, type KernelTable } from './layout.js';
import { describeNode } from '../tree/walk.js';
import { FLAG, FUSED, FUSED_WRAPPER, SCALAR_COUNT, fusedSpecOf, isFusable, programSpecOf, type FusedSpec, type FusedWrapper, type MaybeFused } from './spec.js';
import { WasmKernels, type WasmBackendLike } from './wasm/runner.js';
import { WebGpuKernels } from './webgpu/runner.js';
import { WebGlKernels } from './webgl/runner.js';
import { globalNormFactor } from '../transforms/clipping.js';
import { ProgramTiles, TileKernels } from './wasm/tiles.js';
import { runProgramLoops } from './cpu/compile.js';
import { claim, cpuValues, watchCpuBackend, writeOnCpu, type CpuBackendLike } from './cpu/ownership.js';
import { ProgramBuilder, type Program } from './program.js';
import { STEP_PARTS, elementStepOf, stepSpec, withElementStep, withStepParts, type StepParts } from './step.js';

/**
 * Which implementation runs a transformation's update on the current backend.
 * @group Kernels
 */
export type KernelPath = 'wasm-simd' | 'cpu' | 'webgpu' | 'webgl' | 'composite';

/**
 * `'auto'` uses a fused kernel where one exists for the backend; `'composite'` never does.
 * @group Kernels
 */
export type KernelMode = 'auto' | 'composite';

let mode: KernelMode = 'auto';

/**
 * Chooses between the fused kernels (`'auto'`, the default) and the composite tf-op path
 * (`'composite'`) for every transformation, for example to compare the two or to rule the
 * kernels out while debugging. The composite path is the reference the kernels are tested
 * against; both give the same results to float32 rounding.
 * @group Kernels
 */
export function setKernelMode(next: KernelMode): void {
  if (next !== 'auto' && next !== 'composite') {
    throw new TypeError(`setKernelMode: expected 'auto' or 'composite', got ${String(next)}`);
  }
  mode = next;
}

/**
 * The current kernel mode (see {@link setKernelMode}).
 * @group Kernels
 */
export function getKernelMode(): KernelMode {
  return mode;
}

/** The parts of tfjs-core's engine that tell whether a backend is ready (4.x). */
interface EngineState {
  backendName?: string | null;
  registry: Record<string, unknown>;
  /** Set while an asynchronous backend (wasm, webgpu) initialises. Private in tfjs-core. */
  pendingBackendInit?: unknown;
  /** The active backend; `null` until `setBackend` has finished. Private in tfjs-core. */
  backendInstance?: unknown;
}

/**
 * The name of the active tfjs backend, or an `Error` if none is ready yet. Reads the engine's
 * fields only: `tf.backend()` would start initialising the best registered backend as a side
 * effect (and throw for an asynchronous one), which a question about the path must not do.
 */
function readyBackend(owner: string): string {
  const engine = tf.engine() as unknown as EngineState;
  const name = engine.backendName;
  const pending = engine.pendingBackendInit != null;
  // `backendInstance` is only checked where tfjs has set the field (setBackend sets it to null
  // first), so a tfjs that renamed it would still pass here.
  const unset = 'backendInstance' in engine && engine.backendInstance == null;
  if (name && !pending && !unset && engine.registry[name] != null) return name;
  const state = name ? `the '${name}' backend is still initialising` : 'no backend has been set';
  const wait = name ? `await tf.setBackend('${name}')` : `await tf.setBackend(name)`;
  throw new Error(
    `${owner}: the tfjs backend is not ready (${state}); ${wait} or await tf.ready() first, ` +
      'as the kernels used depend on the backend',
  );
}

/** The fused path available on the active tfjs backend, ignoring the mode. */
function backendPath(owner: string): KernelPath {
  const name = readyBackend(owner);
  if (name === 'cpu') return 'cpu';
  if (name === 'wasm') return WasmKernels.for(tf.backend() as unknown as WasmBackendLike) ? 'wasm-simd' : 'composite';
  if (name === 'webgpu') return WebGpuKernels.for(tf.backend()) ? 'webgpu' : 'composite';
  if (name === 'webgl') return WebGlKernels.for(tf.backend()) ? 'webgl' : 'composite';
  return 'composite';
}

/**
 * Which implementation `tx.update` (and `trainStep`) uses on the active backend: `'wasm-simd'`
 * (WebAssembly SIMD kernels on the wasm backend's memory), `'cpu'` (the cpu backend's buffers
 * streamed through the same SIMD kernels in tiles, or typed-array loops without WebAssembly
 * SIMD), `'webgpu'` (one generated WGSL compute dispatch per leaf, on the webgpu backend's own
 * buffers, for every transformation whose step is a chain of element steps that read no
 * per-leaf norms: the hand-written kernels of adagrad and rmsprop and the norm pass of lamb,
 * lars, fromage and novograd exist on wasm and cpu only), `'webgl'` (the same generated
 * programs as GLSL: one multiple-render-target draw per leaf writing all of its outputs, on the
 * webgl backend's textures; WebGL2 only) or `'composite'` (tfjs ops, used on every other
 * backend (node, WebGL1), for transformations without a fused kernel, and when
 * {@link setKernelMode} says so). A wrapper reports its inner
 * transformation's path where it runs that kernel: `injectHyperparams(adamw)`,
 * `applyIfFinite(...)`, `multiSteps(...)`, `namedChain(...)` and `flatten(...)` do.
 *
 * @throws Error before a tfjs backend is ready (none set yet, or an asynchronous one such as
 * wasm still initialising): `await tf.setBackend(name)` or `await tf.ready()` first.
 * @group Kernels
 */
export function kernelPath(tx: GradientTransformation<any>): KernelPath {
  return pathOf(tx, 'kernelPath');
}

/** {@link kernelPath}, with `owner` naming the caller in the not-ready error. */
function pathOf(tx: GradientTransformation<any>, owner: string): KernelPath {
  const path = backendPath(owner);
  // webgpu and webgl run generated programs only.
  return mode === 'composite' || !isFusable(tx, path === 'webgpu' || path === 'webgl') ? 'composite' : path;
}

function ensureKernel(backendName: string): void {
  if (tf.getKernel(FUSED_KERNEL, backendName)) return;
  tf.registerKernel({
    kernelName: FUSED_KERNEL,
    backendName,
    kernelFunc: backendName === 'wasm' ? wasmKernel : backendName === 'webgpu' ? webgpuKernel : backendName === 'webgl' ? webglKernel : cpuKernel,
  });
}

/**
 * Splits the kernel's flat inputs and outputs (in the order documented on {@link FusedAttrs})
 * into kernel positions.
 */
function tableOf(attrs: FusedAttrs, inputs: readonly tf.TensorInfo[], outputs: readonly tf.TensorInfo[]): KernelTable<KernelData> {
  const L = attrs.leaves;
  const data = (t: tf.TensorInfo): KernelData => ({ dataId: t.dataId, size: sizeOf(t.shape) });
  const take = (list: readonly tf.TensorInfo[], at: number) => list.slice(at * L, (at + 1) * L).map(data);
  const sizes = inputs.slice(0, L).map((t) => sizeOf(t.shape));
  const tableInputs: Array<KernelData[] | null> = [take(inputs, 0), attrs.hasParams ? take(inputs, 1) : null];
  const tableOutputs: Array<KernelData[] | null> = [take(outputs, 0)];
  // Flat slots come as one tensor each, after the per-leaf gradients and parameters.
  let nextIn = attrs.flatSlots ? (attrs.hasParams ? 2 : 1) * L : attrs.hasParams ? 2 : 1;
  let nextOut = attrs.flatSlots ? L : 1;
  for (const present of attrs.slots) {
    if (!present) {
      tableInputs.push(null);
      tableOutputs.push(null);
    } else if (attrs.flatSlots) {
      tableInputs.push(segmentsOf(inputs[nextIn++], sizes));
      tableOutputs.push(attrs.slotsRead ? null : segmentsOf(outputs[nextOut++], sizes));
    } else {
      tableInputs.push(take(inputs, nextIn++));
      tableOutputs.push(attrs.slotsRead ? null : take(outputs, nextOut++));
    }
  }
  return { sizes, inputs: tableInputs, outputs: tableOutputs };
}

/**
 * The shapes of the kernel's outputs: the leaves' shapes for the updates, then per slot the
 * leaves' shapes again, or one 1-D shape of all elements for flat slots.
 */
function outputShapes(inputs: readonly tf.TensorInfo[], attrs: FusedAttrs): number[][] {
  const shapes = inputs.slice(0, attrs.leaves).map((t) => t.shape);
  const total = shapes.reduce((n, s) => n + sizeOf(s), 0);
  const out: number[][] = [...shapes];
  for (const present of attrs.slots) {
    if (present && !attrs.slotsRead) out.push(...(attrs.flatSlots ? [[total]] : shapes));
  }
  return out;
}

/** A leaf's data as the cpu backend holds it: its array, or the segment of one (not handed out). */
function cpuView(b: CpuBackendLike, t: KernelData): Float32Array {
  const values = cpuValues(b, t.dataId);
  return t.elementOffset === undefined ? values : values.subarray(t.elementOffset, t.elementOffset + t.size);
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Converts every tensor of a table (`null` positions stay `null`). */
function mapTable<T, R>(table: KernelTable<T>, convert: (t: T) => R): KernelTable<R> {
  const each = (positions: KernelTable<T>['inputs']) => positions.map((list) => (list === null ? null : list.map(convert)));
  return { sizes: table.sizes, inputs: each(table.inputs), outputs: each(table.outputs) };
}

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as FusedAttrs;
  const b = backend as unknown as WasmBackendLike & {
    makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  };
  const kernels = WasmKernels.for(b);
  if (!kernels) throw new Error('tfjs-optax: the wasm kernels are not available on this backend');
  const ins = inputList(inputs);
  const outs = outputShapes(ins, a).map((shape) => b.makeOutput(shape, 'float32'));
  kernels.run(a, tableOf(a, ins, outs));
  return outs;
};

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as FusedAttrs;
  const b = backend as unknown as CpuBackendLike & {
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  };
  const ins = inputList(inputs);
  // The backend keeps the given arrays as the outputs' data, so the kernel writes them there;
  // they are the library's own (cpu/ownership.ts) until handed out.
  watchCpuBackend(b);
  const outs = outputShapes(ins, a).map((shape) => {
    const values = new Float32Array(sizeOf(shape));
    const out = b.makeTensorInfo(shape, 'float32', values);
    claim(values);
    return out;
  });
  runOnCpu(a, mapTable(tableOf(a, ins, outs), (t) => cpuView(b, t)));
  return outs;
};

const webgpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as FusedAttrs;
  const kernels = WebGpuKernels.for(backend);
  if (!kernels) throw new Error('tfjs-optax: the webgpu kernels are not available on this backend');
  const ins = inputList(inputs);
  const outs = kernels.makeOutputs(outputShapes(ins, a));
  // The clip factor, when computed on the device, comes last (see FusedAttrs.deviceClip).
  if (!kernels.run(a, tableOf(a, ins, outs), a.deviceClip ? ins[ins.length - 1] : undefined)) {
    for (const t of outs) (backend as unknown as { disposeData(id: object): void }).disposeData(t.dataId);
    throw new Error('tfjs-optax: a generated program needs more storage buffers than this WebGPU device binds in one dispatch');
  }
  return outs;
};

const webglKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as FusedAttrs;
  const kernels = WebGlKernels.for(backend);
  if (!kernels) throw new Error('tfjs-optax: the webgl kernels are not available on this backend');
  const ins = inputList(inputs);
  const outs = kernels.makeOutputs(outputShapes(ins, a));
  try {
    // The clip factor, when computed on the device, comes last (see FusedAttrs.deviceClip).
    if (!kernels.run(a, tableOf(a, ins, outs), a.deviceClip ? ins[ins.length - 1] : undefined)) {
      throw new Error('tfjs-optax: the webgl kernel refused to write its new outputs');
    }
  } catch (e) {
    for (const t of outs) (backend as unknown as { disposeData(id: object): void }).disposeData(t.dataId);
    throw e;
  }
  return outs;
};

let cpuTiles = true;
let preferGenerated = false;

/** Runs hand-written specs as their generated programs on every backend (for the gate bench). @internal */
export function setPreferGenerated(enabled: boolean): void {
  preferGenerated = enabled;
}

/**
 * Whether the cpu backend's kernels stream the buffers through the SIMD module in tiles (the
 * default, where WebAssembly SIMD is available) or run the plain typed-array loops. For tests,
 * which check both.
 * @internal
 */
export function setCpuTiles(enabled: boolean): void {
  cpuTiles = enabled;
}

/**
 * The cpu backend's fused step: the SIMD kernels over cache-sized tiles of the backend's
 * buffers where WebAssembly SIMD is available, typed-array loops otherwise.
 */
function runOnCpu(attrs: FusedAttrs, table: KernelTable<Float32Array>): void {
  if (attrs.family === 'program') return runProgramsOnCpu(attrs, table);
  const tiles = cpuTiles ? TileKernels.get() : null;
  if (tiles === null) return runCpuKernel(attrs, table);
  tiles.run(attrs, table, attrs.clipNorm > 0 ? clipScale(attrs.sumOfSquares ?? sumOfSquares(table), attrs.clipNorm) : 1);
}

/**
 * Generated programs on the cpu backend: through the SIMD tiles where WebAssembly SIMD is
 * available, each leaf through its variant's JavaScript loop otherwise (the same numbers).
 */
function runProgramsOnCpu(attrs: FusedAttrs, table: KernelTable<Float32Array>): void {
  const scalars = attrs.clipNorm > 0 ? [...attrs.scalars, clipScale(attrs.sumOfSquares ?? sumOfSquares(table), attrs.clipNorm)] : attrs.scalars;
  const tiles = cpuTiles ? ProgramTiles.get() : null;
  if (tiles === null || !tiles.run(attrs, table, scalars)) runProgramLoops(attrs, table, scalars);
}

/**
 * Runs the registered fused kernel through tfjs (which makes the outputs tensors). The inputs go
 * to the engine as an array, whose indices are the names: the engine reads the map only by its
 * keys (for the tape and the profiler), and a map of hundreds of named properties costs more to
 * build and to read back (`Object.values` on a dictionary-mode object) than the kernel itself on
 * small leaves (measured: a fifth of a plain Adam step on 200 leaves of 64).
 */
function callKernel(inputs: readonly tf.Tensor[], attrs: FusedAttrs): tf.Tensor[] {
  ensureKernel(tf.getBackend());
  const named = inputs.slice() as unknown as tf.NamedTensorMap;
  return tf.engine().runKernel(FUSED_KERNEL, named, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/** The kernel's inputs in call order (an array from {@link callKernel}; any map in key order). */
function inputList(inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  return (Array.isArray(inputs) ? inputs : Object.values(inputs)) as tf.TensorInfo[];
}

/** A fused call, checked and laid out: the kernel attributes and the leaves in kernel positions. */
interface Prepared {
  attrs: FusedAttrs;
  /** Inputs only (`outputs` is empty). */
  table: KernelTable<KernelData>;
  /** The kernel's inputs in call order (see {@link FusedAttrs}). */
  kernelInputs: tf.Tensor[];
  /** The tensors an in-place step writes into: the parameters, then the state slots. */
  writable: tf.Tensor[];
  /** The structure of the updates tree. */
  def: TreeDef;
}

/**
 * Checks the trees exactly as the composite path does (before anything is created), evaluates
 * the per-step scalars and lays the leaves out for the kernel.
 */
function prepare<S>(
  spec: FusedSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  apply: boolean,
  sumOfSquares?: number,
): Prepared {
  const slotTrees = spec.slots(state);
  const decays = (spec.flags & FLAG.decay) !== 0 && (spec.decaying?.(state) ?? true);
  const hasParams = decays || apply;
  if (hasParams && params === undefined) throw missingParams(spec.owner);
  const names = ['updates'];
  const trees: Params[] = [updates];
  const flat = spec.flatSlots === true;
  if (!flat) {
    slotTrees.forEach((tree, k) => {
      if (tree !== null) {
        names.push(spec.slotNames[k]!);
        trees.push(tree);
      }
    });
  }
  if (hasParams) {
    names.push('params');
    trees.push(params!);
  }
  const [leaves, def] = flattenFloatTrees(spec.owner, names, trees);
  const sizes = leaves[0].map((g) => g.size);
  const flatSlots = flat ? slotTrees.map((t, k) => (t === null ? null : checkFlatSlot(spec, k, t, sizes))) : [];
  const scalars = spec.scalars(state);
  const generated = spec.family === 'program' ? spec.programs!(state, hasParams ? params : undefined, { apply, hasParams }) : undefined;
  if (spec.family !== 'program' && scalars.length !== SCALAR_COUNT[spec.family]) {
    throw new Error(`tfjs-optax: ${spec.owner} gave ${scalars.length} kernel scalars, the ${spec.family} kernel reads ${SCALAR_COUNT[spec.family]}`);
  }
  const mask = decays ? spec.decayMask?.(params!) ?? null : null;
  const grads = leaves[0];
  const paramLeaves = hasParams ? leaves[leaves.length - 1] : null;
  let next = 1;
  const slots: Array<KernelData[] | null> = flat
    ? flatSlots.map((t) => (t === null ? null : segmentsOf(t, sizes)))
    : slotTrees.map((t) => (t === null ? null : leaves[next++]));
  const slotTensors: tf.Tensor[] = [];
  if (flat) {
    for (const t of flatSlots) if (t !== null) slotTensors.push(t);
  } else {
    for (const s of slots) if (s !== null) for (const t of s) slotTensors.push(t as tf.Tensor);
  }
  return {
    attrs: {
      family: spec.family,
      flags: (decays ? spec.flags : spec.flags & ~FLAG.decay) | (apply ? FLAG.apply : 0) | (spec.clipNorm !== undefined ? FLAG.clip : 0),
      scalars,
      clipNorm: spec.clipNorm ?? 0,
      leaves: grads.length,
      hasParams,
      slots: slots.map((t) => t !== null),
      decay: grads.map((_, j) => (decays && (mask === null || mask[j]) ? 1 : 0)),
      ...(sumOfSquares === undefined ? {} : { sumOfSquares }),
      ...(spec.clipNorm !== undefined && sumOfSquares === undefined && onGpu() ? { deviceClip: true } : {}),
      ...(flat ? { flatSlots: true } : {}),
      ...(generated ? { programs: generated.programs, variants: generated.variants } : {}),
    },
    table: { sizes, inputs: [grads, paramLeaves, ...slots], outputs: [] },
    kernelInputs: [...grads, ...(paramLeaves ?? []), ...slotTensors],
    writable: [...(paramLeaves ?? []), ...slotTensors],
    def,
  };
}

/** A flat state slot, checked: one float32 1-D tensor of all the leaves' elements. */
function checkFlatSlot<S>(spec: FusedSpec<S>, k: number, tree: Params, sizes: readonly number[]): tf.Tensor {
  const total = sizes.reduce((a, b) => a + b, 0);
  const ok = tree instanceof tf.Tensor && !tree.isDisposed && tree.dtype === 'float32' && tree.rank === 1 && tree.size === total;
  if (!ok) {
    throw new Error(
      `${spec.owner}: ${spec.slotNames[k]} must be a float32 tensor of shape [${total}] (one element per parameter), got ${describeNode(tree)}`,
    );
  }
  return tree as tf.Tensor;
}

/**
 * Runs `spec` as one fused kernel over the whole tree, into new tensors: returns the updates
 * (or, with `apply`, the new parameters) and the new state. The inputs are not changed.
 */
export function runFused<S>(
  given: FusedSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  apply: boolean,
  sumOfSquares?: number,
): [Updates, S] {
  const spec = specHere(given);
  const prepared = prepare(spec, updates, state, params, apply, sumOfSquares);
  const { attrs, kernelInputs, def } = prepared;
  const next = spec.next(state);
  const leafState = addLeafNorms(spec, prepared, state, params, updates);
  const L = attrs.leaves;
  if (L === 0) return [updates, next(spec.slots(state))];
  const factor = deviceClipFactor(attrs, updates);
  let outs: tf.Tensor[];
  try {
    outs = callKernel(factor ? [...kernelInputs, factor] : kernelInputs, attrs);
  } finally {
    factor?.dispose();
  }
  let end = L;
  const newSlots = attrs.slots.map((present) => {
    if (!present) return null;
    if (attrs.flatSlots) return outs[end++];
    end += L;
    return def.unflatten(outs.slice(end - L, end)) as Params;
  });
  return [def.unflatten(outs.slice(0, L)) as Params, next(newSlots, leafStateTree(leafState, def))];
}

/**
 * Computes the per-leaf scalars `spec`'s programs read (FusedSpec.leafNorms) into
 * `prepared.attrs`, before the step runs: the norms of the parameters from their buffers, of the
 * update by the pre-pass programs (the chain's steps before the one that reads it, writing the
 * update only, into tensors freed here; the gradients themselves when that step comes first),
 * and the new values of a per-leaf scalar state. Each norm is the square root of a sum of
 * squares in float64, rounded to float32: within float32 rounding of the composite path's
 * overflow-safe norm, and finite where that is. Returns the per-leaf state's new values (the
 * caller makes them tensors once the step has run), or `undefined` when there is none.
 */
function addLeafNorms<S>(spec: FusedSpec<S>, prepared: Prepared, state: S, params: Params | undefined, updatesTree: Updates): number[] | undefined {
  const norms = spec.leafNorms;
  if (norms === undefined) return undefined;
  const { attrs, kernelInputs } = prepared;
  const L = attrs.leaves;
  if (norms.kinds.includes('params') && !attrs.hasParams) {
    throw new Error(`tfjs-optax: ${spec.owner} reads the parameters' norms, but its step does not read the parameters`);
  }
  // The old per-leaf state is checked first, before anything runs.
  const oldState = norms.state?.leaves(state, updatesTree, prepared.def).map((t) => leafValues(t)[0]);
  let updates: tf.Tensor[] | undefined;
  if (norms.kinds.includes('update') && !norms.raw) {
    const pre = norms.programs(state, attrs.hasParams ? params : undefined, { apply: false, hasParams: attrs.hasParams });
    const preAttrs: FusedAttrs = { ...attrs, flags: attrs.flags & ~FLAG.apply, programs: pre.programs, variants: pre.variants, slotsRead: true };
    updates = callKernel(kernelInputs, preAttrs);
  }
  try {
    const sums = norms.kinds.map((kind) => {
      const leaves = kind === 'params' ? kernelInputs.slice(L, 2 * L) : updates ?? kernelInputs.slice(0, L);
      return leaves.map((t) => leafSumOfSquares(t));
    });
    const scalars: number[] = [];
    const next: number[] = [];
    for (let j = 0; j < L; j++) {
      for (const list of sums) scalars.push(Math.fround(Math.sqrt(list[j])));
      if (oldState !== undefined) {
        next.push(norms.state!.next(state, sums.map((list) => list[j]), oldState[j]));
        scalars.push(next[j]);
      }
    }
    attrs.leafScalars = scalars;
    return oldState === undefined ? undefined : next;
  } finally {
    if (updates !== undefined) tf.dispose(updates);
  }
}

/** The float32 values of `t` on the cpu backend (not copied, not handed out) or the wasm one (a copy). */
function leafValues(t: tf.Tensor): Float32Array {
  const b = tf.backend() as unknown as CpuBackendLike;
  return tf.getBackend() === 'cpu' ? cpuValues(b, t.dataId) : b.readSync(t.dataId);
}

/** The sum of squares of `t`'s elements in float64, on the fused path of the active backend. */
function leafSumOfSquares(t: tf.Tensor): number {
  if (tf.getBackend() === 'wasm') return WasmKernels.for(tf.backend() as unknown as WasmBackendLike)!.sumOfSquares([t]);
  const values = leafValues(t);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return sum;
}

/**
 * `true` when every tensor of `written` may be overwritten: it shares its data id with no other
 * tensor (the backend's refCount is 1), appears once, is none of `read`, and the backend's own
 * sharing rules allow it ({@link backendAllowsWrite}: `null` where they add nothing).
 */
function ownsBuffers(written: readonly { dataId: object }[], read: readonly { dataId: object }[]): boolean {
  const b = tf.backend() as unknown as { refCount?(dataId: object): number };
  if (typeof b.refCount !== 'function') return false;
  const allows = backendAllowsWrite();
  const seen = new Set<object>();
  for (const t of read) seen.add(t.dataId);
  for (const t of written) {
    if (seen.has(t.dataId) || b.refCount(t.dataId) !== 1 || (allows !== null && !allows(t.dataId))) return false;
    seen.add(t.dataId);
  }
  return true;
}

/**
 * What each backend shares beyond data ids. wasm: nothing (`tf.tensor` and `dataSync` copy, so
 * its refCount is exact). cpu: arrays, without counting them; every write there goes through
 * `writeOnCpu`, which writes into an array only where the library can prove it private and
 * into a new one otherwise (cpu/ownership.ts), so a tensor is never refused. webgl and webgpu:
 * their runners' rules (shallow slices sharing a texture, a caller's zero-copy buffer).
 */
function backendAllowsWrite(): ((dataId: object) => boolean) | null {
  const name = tf.getBackend();
  const kernels = name === 'webgl' ? WebGlKernels.for(tf.backend()) : name === 'webgpu' ? WebGpuKernels.for(tf.backend()) : undefined;
  if (kernels === undefined) return null;
  return kernels === null ? () => false : (dataId) => kernels.mayWriteInPlace(dataId);
}

/**
 * The fused step written into the parameter and state buffers themselves, when they belong to
 * nobody else (see {@link ownsBuffers}). Returns `undefined` (nothing done) otherwise.
 */
function runInPlace<S>(given: FusedSpec<S>, grads: Updates, state: S, params: Params, sumOfSquares?: number): [Params, S] | undefined {
  const spec = specHere(given);
  const prepared = prepare(spec, grads, state, params, true, sumOfSquares);
  const { attrs, table, writable } = prepared;
  if (!ownsBuffers(writable, table.inputs[0]!)) return undefined;
  const next = spec.next(state);
  const leafState = addLeafNorms(spec, prepared, state, params, grads);
  const factor = deviceClipFactor(attrs, grads);
  try {
    if (!writeInPlace(attrs, { ...table, outputs: [table.inputs[1], ...table.inputs.slice(2)] }, writable, factor)) return undefined;
  } finally {
    factor?.dispose();
  }
  return [params, next(spec.slots(state), leafStateTree(leafState, prepared.def))];
}

/** A per-leaf scalar state's new values as scalar tensors in the updates' structure. */
function leafStateTree(values: number[] | undefined, def: TreeDef): PyTree | undefined {
  return values === undefined ? undefined : def.unflatten(values.map((v) => tf.scalar(v)));
}

/**
 * Whether the active backend is a GPU one (webgpu, webgl): it runs generated programs only, and
 * reads the clip factor on the device (reading the norm back would stall the pipeline).
 */
function onGpu(): boolean {
  const name = tf.getBackend();
  return name === 'webgpu' || name === 'webgl';
}

/**
 * The spec a fused call runs on the active backend: on webgpu and webgl, which run generated
 * programs only, a hand-written spec's generated form (kernelPath has checked there is one).
 */
function specHere<S>(spec: FusedSpec<S>): FusedSpec<S> {
  if (spec.family === 'program' || (!onGpu() && !preferGenerated)) return spec;
  const generated = programSpecOf(spec);
  if (generated === undefined) throw new Error(`tfjs-optax: ${spec.owner} has no generated kernel for the ${tf.getBackend()} backend`);
  return generated;
}

/**
 * The global-norm clip factor of `updates` as a scalar tensor, computed by the same tf ops as
 * `clipByGlobalNorm` (so the fused step equals the composite one), when `attrs` says the
 * kernel reads it on the device; `undefined` otherwise. The caller disposes it.
 */
function deviceClipFactor(attrs: FusedAttrs, updates: Updates): tf.Scalar | undefined {
  return attrs.deviceClip ? globalNormFactor(updates, attrs.clipNorm) : undefined;
}

/**
 * Runs the active backend's kernel with outputs that are input buffers (checked writable by the
 * caller), then tells the wasm backend which tensors changed. `false` (nothing done) where the
 * webgpu device cannot bind the program's buffers for an in-place step, or (webgl) a written
 * tensor is a shallow slice that cannot take a new texture.
 */
function writeInPlace(attrs: FusedAttrs, table: KernelTable<KernelData>, written: readonly tf.Tensor[], clipFactor?: tf.Tensor): boolean {
  const backend = tf.getBackend();
  if (backend === 'wasm') {
    const kernels = WasmKernels.for(tf.backend() as unknown as WasmBackendLike)!;
    kernels.run(attrs, table);
    for (const t of written) kernels.changed(t.dataId, t.size);
  } else if (backend === 'webgpu') {
    return WebGpuKernels.for(tf.backend())!.run(attrs, table, clipFactor);
  } else if (backend === 'webgl') {
    // New textures, given to the written tensors (GL cannot read and write one texture).
    return WebGlKernels.for(tf.backend())!.run(attrs, table, clipFactor);
  } else {
    // Into the arrays only the library holds, new arrays for the others (see cpu/ownership.ts).
    const b = cpuBackend();
    const inputs = mapTable(table, (t) => cpuView(b, t)).inputs;
    writeOnCpu(b, written, (target) => runOnCpu(attrs, { sizes: table.sizes, inputs, outputs: table.outputs.map((list) => (list === null ? null : list.map(target))) }));
  }
  return true;
}

/** The active backend, as the cpu backend (the caller knows it is). */
function cpuBackend(): CpuBackendLike {
  return tf.backend() as unknown as CpuBackendLike;
}

/**
 * Attaches a fused implementation to a composite transformation: `update` runs the kernel when
 * {@link kernelPath} says one is available, the composite chain otherwise.
 */
export function withFusedKernel<S>(tx: GradientTransformation<S>, given: FusedSpec<S>): GradientTransformation<S> {
  const parts = (tx as { [STEP_PARTS]?: StepParts<S> })[STEP_PARTS];
  const spec = given.family === 'program' || parts === undefined ? given : { ...given, generated: generatedOnce(given.owner, parts) };
  const fused: MaybeFused<S> = {
    init: tx.init,
    update: <U extends Updates>(updates: U, state: S, params?: Params, extra?: ExtraArgs): [U, S] => {
      if (pathOf(fused, spec.owner) === 'composite') return tx.update(updates, state, params, extra);
      // The check the composite chain makes first, so both paths reject a foreign state alike.
      checkStateOf(tx, state);
      return runFused(spec, updates, state, params, false) as [U, S];
    },
    [FUSED]: spec,
  };
  // The element-wise description stays, so enclosing chains can compose it.
  if (parts !== undefined) withStepParts(fused, parts);
  const step = elementStepOf(tx);
  if (step !== undefined) withElementStep(fused, step);
  return copyStateLayout(tx, fused);
}

/** The generated spec of a chain's element steps, made on first use. */
function generatedOnce<S>(owner: string, parts: StepParts<S>): () => FusedSpec<S> {
  let made: FusedSpec<S> | undefined;
  return () => (made ??= stepSpec(owner, parts));
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
): [Params, S] | undefined {
  const spec = fusedSpecOf(tx);
  const wrapper = (tx as MaybeFused<S>)[FUSED_WRAPPER];
  if ((!spec && !wrapper) || mode === 'composite' || pathOf(tx, spec?.owner ?? declaredOwner(tx) ?? 'trainStep') === 'composite') {
    return undefined;
  }
  checkStateOf(tx, state);
  if (!spec) return wrapper!.apply(grads, state, params, inPlace, sumOfSquares);
  return (
    (inPlace ? runInPlace(spec, grads, state, params, sumOfSquares) : undefined) ??
    runFused(spec, grads, state, params, true, sumOfSquares)
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
  if (!spec || pathOf(tx, spec.owner) === 'composite') return tx.update(updates, state, params, extra);
  checkStateOf(tx, state);
  return runFused(spec, updates, state, params, false, sumOfSquares) as [U, S];
}

/**
 * The sum of squares of every element of `leaves` in float64, computed on the fused path of
 * the active backend (one pass over the data), or `undefined` where there is none.
 * @internal
 */
export function fusedSumOfSquares(leaves: readonly tf.Tensor[]): number | undefined {
  if (mode === 'composite') return undefined;
  const path = backendPath('applyIfFinite');
  // On webgpu and webgl the sum would have to be read back synchronously: the caller's composite test does.
  if (path === 'composite' || path === 'webgpu' || path === 'webgl') return undefined;
  if (path === 'wasm-simd') return WasmKernels.for(tf.backend() as unknown as WasmBackendLike)!.sumOfSquares(leaves);
  let sum = 0;
  for (const t of leaves) sum += leafSumOfSquares(t);
  return sum;
}

/**
 * Sets every element of `tensors` to `value`, writing into their buffers, which the caller owns
 * (fresh kernel outputs, or buffers it has checked nothing else holds); `false` where there is no
 * fused path (nothing done).
 * @internal
 */
export function fusedFill(tensors: readonly tf.Tensor[], value: number): boolean {
  if (mode === 'composite' || backendPath('multiSteps') === 'composite') return false;
  if (tf.getBackend() === 'wasm') {
    WasmKernels.for(tf.backend() as unknown as WasmBackendLike)!.fillWith(tensors, value);
  } else if (onGpu()) {
    if (tensors.length === 0) return true;
    const program = (fillProgram ??= fill());
    const attrs: FusedAttrs = { family: 'program', flags: 0, scalars: [value], clipNorm: 0, leaves: tensors.length, hasParams: false, slots: [], decay: tensors.map(() => 0), programs: [program], variants: [] };
    return writeInPlace(attrs, { sizes: tensors.map((t) => t.size), inputs: [tensors], outputs: [tensors] }, tensors);
  } else {
    // Into the arrays only the library holds, new arrays for the others (see cpu/ownership.ts).
    writeOnCpu(cpuBackend(), tensors, (target) => {
      for (const t of tensors) target(t).fill(value);
    });
  }
  return true;
}

/**
 * `acc + factor * g` for aligned lists of float32 leaves (checked by the caller) in one kernel
 * call (the sgd kernel with rate `factor` and the apply flag; the same float32 operations as
 * `tf.add(acc, tf.mul(g, factor))`), written into the `acc` buffers themselves with `inPlace`
 * when nothing else holds them; `undefined` where no fused path exists.
 * @internal
 */
export function fusedAxpy(acc: readonly tf.Tensor[], g: readonly tf.Tensor[], factor: number, inPlace: boolean): tf.Tensor[] | undefined {
  if (mode === 'composite' || backendPath('multiSteps') === 'composite') return undefined;
  if (acc.length === 0) return [];
  const attrs = axpyAttrs(acc.length, factor);
  const slot = attrs.family === 'program' ? [] : [null];
  if (inPlace && ownsBuffers(acc, g) && writeInPlace(attrs, { sizes: acc.map((t) => t.size), inputs: [g, acc, ...slot], outputs: [acc, ...slot] }, acc)) {
    return [...acc];
  }
  return callKernel([...g, ...acc], attrs);
}

/**
 * The attributes of `p + rate * g` over `leaves` aligned pairs of leaves (g first): the sgd
 * kernel with the apply flag on wasm and cpu, a generated program on webgpu and webgl (the same float32
 * operations, in the order of `tf.add(p, tf.mul(g, rate))`).
 */
function axpyAttrs(leaves: number, rate: number): FusedAttrs {
  const decay = new Array<number>(leaves).fill(0);
  if (onGpu()) {
    const programs = [(axpyProgram ??= axpy())];
    return { family: 'program', flags: FLAG.apply, scalars: [rate], clipNorm: 0, leaves, hasParams: true, slots: [], decay, programs, variants: [] };
  }
  return { family: 'sgd', flags: FLAG.apply, scalars: [0, rate], clipNorm: 0, leaves, hasParams: true, slots: [false], decay };
}

let axpyProgram: Program | undefined;
let fillProgram: Program | undefined;

/** `p + g * rate`, inputs g and p, scalar rate. */
function axpy(): Program {
  const b = new ProgramBuilder();
  const g = b.input();
  const p = b.input();
  return b.build([b.add(p, b.mul(g, b.scalar()))]);
}

/** Every element set to the scalar (the input is the buffer written over). */
function fill(): Program {
  const b = new ProgramBuilder();
  b.input();
  return b.build([b.scalar()]);
}

/**
 * Marks `tx` as a wrapper with a fused step (see {@link FusedWrapper}); returns `tx`.
 * @internal
 */
export function withFusedWrapper<S>(tx: GradientTransformation<S>, wrapper: FusedWrapper<S>): GradientTransformation<S> {
  (tx as MaybeFused<S>)[FUSED_WRAPPER] = wrapper;
  return tx;
}

/**
 * `params + updates` for aligned lists of leaves (already checked) in one kernel call (the sgd
 * kernel with a unit rate and the apply flag computes exactly `p + u`, as `tf.add` does), when
 * a fused path exists on this backend; `undefined` otherwise.
 * @internal
 */
export function fusedAdd(params: readonly tf.Tensor[], updates: readonly tf.Tensor[]): tf.Tensor[] | undefined {
  if (mode === 'composite' || backendPath('applyUpdates') === 'composite' || params.length === 0) return undefined;
  return callKernel([...updates, ...params], axpyAttrs(params.length, 1));
}
