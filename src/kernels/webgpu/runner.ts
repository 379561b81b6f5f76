import * as tf from '@tensorflow/tfjs-core';
import { gpuProgramCall, type FusedAttrs, type KernelData, type KernelTable } from '../layout.js';
import { cachedProgramKey, valueLayout, type Program } from '../program.js';
import { recordWords, shadersFor, WORKGROUP_SIZE, type ShaderForm, type WgslShader } from './wgsl.js';
import { FIRST_STORAGE_BINDING, int8Tables, packedBuffers, packedGroups, packedShaderFor, TABLES_BINDING } from './packed-wgsl.js';
import type { SlotFormat } from '../../internal/state-dtype.js';

/**
 * Runs generated programs on tfjs's webgpu backend: per leaf one
 * compute dispatch of the vector form (four elements per invocation; small leaves share one
 * while their buffers fit), plus one of the scalar form for the last `n % 4` elements when there
 * are any (or the scalar form alone for a leaf at an unaligned offset of a flat buffer), and more
 * only when a program's buffers exceed the device's storage-buffer limit; all recorded into
 * tfjs's own command encoder and compute pass, so the step costs a dispatch per leaf (or less)
 * instead of tfjs's dozen ops. Inputs are the tensors' own GPU buffers; the outputs are new
 * tensors' buffers, or (the in-place step) input buffers written over.
 *
 * tfjs-backend-webgpu is not a dependency: its backend object is used through the structural
 * types below (tfjs 4.x), and nothing here runs before a kernel is called.
 */

/** What a GPU buffer is to this module: passed back to the device only. */
type GpuBuffer = object;

interface GpuPipeline {
  getBindGroupLayout(index: number): object;
}

interface GpuDevice {
  limits: {
    maxStorageBuffersPerShaderStage: number;
    minUniformBufferOffsetAlignment: number;
    maxComputeWorkgroupsPerDimension: number;
  };
  createShaderModule(descriptor: { code: string; label?: string }): object;
  createComputePipeline(descriptor: { layout: 'auto'; compute: { module: object; entryPoint: string }; label?: string }): GpuPipeline;
  createBindGroup(descriptor: { layout: object; entries: Array<{ binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }> }): object;
}

interface GpuComputePass {
  setPipeline(pipeline: GpuPipeline): void;
  setBindGroup(index: number, group: object): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

/** A tensor's entry in the backend's map. */
interface GpuTensorData {
  values: unknown;
  resource: unknown;
  /** The buffer is the caller's (`tf.tensor({ buffer, zeroCopy: true })`): tfjs never frees it. */
  external?: boolean;
}

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` the kernels use. */
export interface WebGpuBackendLike {
  device: GpuDevice;
  queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBuffer): void };
  tensorMap: { get(dataId: object): GpuTensorData | undefined };
  /** Reads a tensor back synchronously, caching the values on the CPU (in `values`). */
  readSync(dataId: object): unknown;
  /** Where a read back (`read` when it ends, `readSync`) caches the values it got. */
  convertAndCacheOnCPU(dataId: object, data: unknown): unknown;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32' | 'int32'): tf.TensorInfo;
  ensureCommandEncoderReady(): void;
  commandEncoder: { beginComputePass(descriptor?: object): GpuComputePass } | null;
  computePassEncoder: GpuComputePass | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  /** Tensors a recorded, unsubmitted command uses: tfjs defers their disposal to the submit. */
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer };
  /** Uniform buffers tfjs releases at the next submit. */
  uniformPendingDisposal: GpuBuffer[];
}

/** GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM (WebGPU's flag values). */
const UNIFORM_USAGE = 0x0008 | 0x0040;

/** tfjs's default for WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE, where the flag is not registered. */
const DEFAULT_SUBMIT_BATCH = 15;

/** Whether `b` looks like tfjs-backend-webgpu's backend (the members used here). */
function isWebGpuBackend(b: unknown): b is WebGpuBackendLike {
  const x = b as Partial<WebGpuBackendLike> | null;
  return (
    x != null &&
    typeof x.device?.createComputePipeline === 'function' &&
    typeof x.queue?.writeBuffer === 'function' &&
    typeof x.tensorMap?.get === 'function' &&
    typeof x.readSync === 'function' &&
    typeof x.convertAndCacheOnCPU === 'function' &&
    typeof x.uploadToGPU === 'function' &&
    typeof x.makeTensorInfo === 'function' &&
    typeof x.ensureCommandEncoderReady === 'function' &&
    typeof x.endComputePassEncoder === 'function' &&
    typeof x.submitQueue === 'function' &&
    x.commandQueueOwnedIds instanceof WeakSet &&
    typeof x.dispatchCountInPass === 'number' &&
    typeof x.bufferManager?.acquireBuffer === 'function' &&
    Array.isArray(x.uniformPendingDisposal)
  );
}

/** The kernels of each webgpu backend, made on first use. */
let instances: WeakMap<object, WebGpuKernels | null> | undefined;

/** One leaf, planned. */
interface LeafPlan {
  leaf: number;
  program: number;
  /** Invocations of the vector form (4 elements each; 0 at an unaligned offset). */
  vectors: number;
  /** The leaf's refs: inputs, outputs, then the device scalar if any. */
  refs: KernelData[];
  /** A packed program's leaf: its first workgroup in its dispatch (see packed-wgsl.ts). */
  start?: number;
}

/** One dispatch: its shader, over the leaves of plans `first ..< first + leaves`. */
interface Dispatch {
  shader: WgslShader;
  invocations: number;
  first: number;
  leaves: number;
  /** The refs of those leaves, one after the other (what `shader.bindings` index). */
  refs: KernelData[];
  program: number;
  /** Workgroups (a packed dispatch; otherwise from `invocations`). */
  groups?: number;
}

/** The most leaves one dispatch computes (the storage-buffer limit usually binds first). */
const MAX_LEAVES_PER_DISPATCH = 8;

/**
 * The largest leaf (elements) that shares a dispatch. A shared dispatch saves the per-dispatch
 * cost (about 30-40 µs on SwiftShader) but its invocations step through every leaf's code
 * (SwiftShader runs branches masked: measured, two 10k leaves per dispatch took 1.6x as long as
 * one each, while 64-element leaves took 0.7x), so only small leaves are grouped.
 */
const MAX_GROUPED_LEAF = 1024;

/**
 * How each ref of one leaf of a packed call is stored: inputs (gradient, parameter, slots),
 * outputs (update, slots), then the device scalar.
 */
function refFormats(attrs: FusedAttrs, deviceClip: boolean): SlotFormat[] {
  const slots = attrs.slotFormats!;
  return ['float32', ...(attrs.hasParams ? ['float32' as const] : []), ...slots, 'float32', ...slots, ...(deviceClip ? ['float32' as const] : [])];
}

/** For each ref, the first ref with the same tensor data (refs of one buffer share a binding). */
function sameBuffers(refs: readonly KernelData[]): number[] {
  const first = new Map<object, number>();
  return refs.map((r, k) => {
    const at = first.get(r.dataId);
    if (at !== undefined) return at;
    first.set(r.dataId, k);
    return k;
  });
}

/** The generated-program kernels on one webgpu backend (its device, pipelines and encoder). */
export class WebGpuKernels {
  private readonly pipelines = new Map<string, { pipeline: GpuPipeline; layout: object }>();
  /** Shaders by program (its key), then by form and buffer layout. */
  private readonly plans = new Map<string, Map<string, WgslShader[] | null>>();
  /** Tensors a step has written in place: see {@link guardReadCache}. */
  private readonly writtenInPlace = new WeakSet<object>();
  /** Synchronous reads under way (they may cache what they read). */
  private syncReads = 0;
  private guarded = false;
  private tablesBuffer: GpuBuffer | undefined;

  private constructor(private readonly backend: WebGpuBackendLike) {}

  /** The kernels for `backend`, or `null` when it is not tfjs's webgpu backend. */
  static for(backend: unknown): WebGpuKernels | null {
    instances ??= new WeakMap();
    const key = backend as object;
    let k = instances.get(key);
    if (k === undefined) {
      k = isWebGpuBackend(backend) ? new WebGpuKernels(backend) : null;
      instances.set(key, k);
    }
    return k;
  }

  /** New tensors of `shapes` (float32, or `dtypes`) with GPU buffers (empty ones hold an empty array). */
  makeOutputs(shapes: readonly number[][], dtypes?: ReadonlyArray<'float32' | 'int32'>, emptyHeads?: readonly number[]): tf.TensorInfo[] {
    return shapes.map((shape, k) => {
      const dtype = dtypes?.[k] ?? 'float32';
      const t = this.backend.makeTensorInfo(shape, dtype);
      if (shape.some((d) => d === 0)) this.backend.tensorMap.get(t.dataId)!.values = dtype === 'int32' ? new Int32Array(0) : new Float32Array(0);
      // The packed leaf of an empty leaf (its header, the format's code): no dispatch writes it.
      else if (dtype === 'int32' && shape.length === 1 && shape[0] === 1) this.backend.tensorMap.get(t.dataId)!.values = Int32Array.of(emptyHeads?.[k] ?? 0);
      else this.backend.uploadToGPU(t.dataId);
      return t;
    });
  }

  /**
   * Records the step: per leaf, its variant's program over its inputs into its outputs, an
   * output being an input buffer where the table says so (the in-place step). `clipFactor` is
   * the one-element tensor of the global-norm clip factor, computed on the GPU, when
   * `attrs.deviceClip` says the program reads it (else the factor comes from
   * `attrs.sumOfSquares`). Returns `false`, having done nothing, when a program cannot be
   * bound on this device (too many buffers for one dispatch, and no split works in place), or
   * when an output is a tensor in a buffer of the caller's (`tf.tensor({ buffer, zeroCopy: true
   * })`: the caller would see the write; never so for outputs from {@link makeOutputs}).
   */
  run(attrs: FusedAttrs, table: KernelTable<KernelData>, clipFactor?: { dataId: object }): boolean {
    const { programs, deviceClip, scalars, ins, outs } = gpuProgramCall('webgpu', attrs, table, clipFactor);
    // Outputs that are input tensors: the in-place step.
    const inputIds = new Set(ins.flatMap((list) => list.map((r) => r.dataId)));
    const overwritten = new Set(outs.flatMap((list) => list.map((r) => r.dataId)).filter((id) => inputIds.has(id)));
    for (const id of overwritten) if (!this.mayWriteInPlace(id)) return false;
    const device = this.backend.device;
    const maxStorageBuffers = device.limits.maxStorageBuffersPerShaderStage;

    const align = device.limits.minUniformBufferOffsetAlignment;
    const recordBytes = 4 * Math.max(...programs.map(recordWords));
    const stride = Math.ceil(recordBytes / align) * align;
    const deviceScalar = (p: Program) => (deviceClip ? p.scalars - 1 : undefined);
    /** The shaders of `form` for `leaves` leaves whose refs (one after the other) are `refs`. */
    const shaders = (program: number, form: ShaderForm, leaves: number, refs: readonly KernelData[]) => {
      const p = programs[program];
      let byLayout = this.plans.get(cachedProgramKey(p));
      if (byLayout === undefined) this.plans.set(cachedProgramKey(p), (byLayout = new Map()));
      const same = sameBuffers(refs);
      const key = `${form}|${leaves}|${same.join(',')}|${deviceScalar(p) ?? ''}|${stride}`;
      let made = byLayout.get(key);
      if (made === undefined) {
        made = shadersFor(p, { same, deviceScalar: deviceScalar(p), maxStorageBuffers, form, leaves, recordStride: stride / 4 });
        byLayout.set(key, made);
      }
      return made;
    };

    const packedFormats = attrs.slotFormats === undefined ? undefined : refFormats(attrs, deviceClip);
    const plans: LeafPlan[] = [];
    for (let j = 0; j < table.sizes.length; j++) {
      const n = table.sizes[j];
      if (n === 0) continue;
      const program = attrs.variants[j] ?? 0;
      const p = programs[program];
      if (p.scalars !== scalars.length + (deviceClip ? 1 : 0)) {
        throw new Error(`tfjs-optax: a program reads ${p.scalars} scalars, the call has ${scalars.length}`);
      }
      const refs: KernelData[] = [...ins.map((list) => list[j]), ...outs.map((list) => list[j])];
      if (deviceClip) refs.push({ dataId: clipFactor!.dataId, size: 1 });
      const aligned = refs.every((r, k) => (r.elementOffset ?? 0) % 4 === 0 || (deviceClip && k === refs.length - 1));
      plans.push({ leaf: j, program, vectors: aligned ? Math.floor(n / 4) : 0, refs });
    }
    if (plans.length === 0) return true;

    const dispatches: Dispatch[] = [];
    if (packedFormats !== undefined) {
      if (!this.planPacked(plans, table.sizes, packedFormats, programs, deviceScalar, stride, dispatches)) return false;
    } else if (!this.planFloat(plans, table.sizes, shaders, dispatches)) return false;
    return this.encode(programs, scalars, plans, table.sizes, stride, recordBytes, dispatches, overwritten, outs.length, ins.length);
  }

  /** Whether {@link run} runs `attrs`' packed slots itself: every program's buffers fit in one dispatch. */
  runsPackedSlots(attrs: FusedAttrs): boolean {
    const max = this.backend.device.limits.maxStorageBuffersPerShaderStage;
    const deviceClip = attrs.clipNorm > 0 && attrs.deviceClip === true;
    return attrs.flatSlots !== true && attrs.programs.every((p) => packedBuffers(p, deviceClip) <= max);
  }

  /**
   * Packed programs: each leaf takes whole workgroups (packed-wgsl.ts); consecutive
   * small leaves of one program and form share a dispatch while their buffers fit in one.
   */
  private planPacked(
    plans: LeafPlan[],
    sizes: readonly number[],
    formats: SlotFormat[],
    programs: readonly Program[],
    deviceScalar: (p: Program) => number | undefined,
    stride: number,
    dispatches: Dispatch[],
  ): boolean {
    const maxStorageBuffers = this.backend.device.limits.maxStorageBuffersPerShaderStage;
    const vector = (plan: LeafPlan) => sizes[plan.leaf] % 4 === 0 && plan.refs.every((r) => (r.elementOffset ?? 0) % 4 === 0);
    const shader = (first: number, leaves: number): WgslShader | null => {
      const group = plans.slice(first, first + leaves);
      const p = programs[group[0].program];
      let byLayout = this.plans.get(cachedProgramKey(p));
      if (byLayout === undefined) this.plans.set(cachedProgramKey(p), (byLayout = new Map()));
      const same = sameBuffers(group.flatMap((plan) => plan.refs));
      const isVector = vector(group[0]);
      const key = `packed|${isVector}|${leaves}|${same.join(',')}|${deviceScalar(p) ?? ''}|${stride}|${formats.join(',')}`;
      let made = byLayout.get(key);
      if (made === undefined) {
        const one = packedShaderFor(p, { formats, same, deviceScalar: deviceScalar(p), maxStorageBuffers, vector: isVector, leaves, recordStride: stride / 4 });
        made = one === null ? null : [one];
        byLayout.set(key, made);
      }
      return made === null ? null : made[0];
    };
    const small = (plan: LeafPlan) => sizes[plan.leaf] <= MAX_GROUPED_LEAF;
    for (let a = 0; a < plans.length; ) {
      let leaves = 1;
      while (
        small(plans[a]) &&
        leaves < MAX_LEAVES_PER_DISPATCH &&
        a + leaves < plans.length &&
        small(plans[a + leaves]) &&
        plans[a + leaves].program === plans[a].program &&
        vector(plans[a + leaves]) === vector(plans[a]) &&
        shader(a, leaves + 1) !== null
      ) {
        leaves++;
      }
      const made = shader(a, leaves);
      if (made === null) return false;
      let groups = 0;
      for (const plan of plans.slice(a, a + leaves)) {
        plan.start = groups;
        groups += packedGroups(sizes[plan.leaf], formats);
      }
      dispatches.push({ shader: made, invocations: 0, groups, first: a, leaves, refs: plans.slice(a, a + leaves).flatMap((plan) => plan.refs), program: plans[a].program });
      a += leaves;
    }
    return true;
  }

  /**
   * float32 programs: the vector form, consecutive small leaves of one program sharing a
   * dispatch while their buffers fit in one; the scalar form (the last n % 4 elements, unaligned
   * leaves): one per leaf.
   */
  private planFloat(
    plans: LeafPlan[],
    sizes: readonly number[],
    shaders: (program: number, form: ShaderForm, leaves: number, refs: readonly KernelData[]) => WgslShader[] | null,
    dispatches: Dispatch[],
  ): boolean {
    const table = { sizes };
    // The vector form: consecutive small leaves of one program share a dispatch while their
    // buffers fit in one; the scalar form (the last n % 4 elements, unaligned leaves): one per leaf.
    const addLeaves = (first: number, leaves: number, form: ShaderForm): boolean => {
      const refs = plans.slice(first, first + leaves).flatMap((plan) => plan.refs);
      const made = shaders(plans[first].program, form, leaves, refs);
      if (made === null) return false;
      const invocations = plans
        .slice(first, first + leaves)
        .reduce((sum, plan) => sum + (form === 'vector' ? plan.vectors : table.sizes[plan.leaf] - 4 * plan.vectors), 0);
      for (const shader of made) dispatches.push({ shader, invocations, first, leaves, refs, program: plans[first].program });
      return true;
    };
    const small = (plan: LeafPlan) => table.sizes[plan.leaf] <= MAX_GROUPED_LEAF;
    for (let a = 0; a < plans.length; ) {
      if (plans[a].vectors === 0) {
        a++;
        continue;
      }
      let leaves = 1;
      while (
        small(plans[a]) &&
        leaves < MAX_LEAVES_PER_DISPATCH &&
        a + leaves < plans.length &&
        plans[a + leaves].vectors > 0 &&
        small(plans[a + leaves]) &&
        plans[a + leaves].program === plans[a].program &&
        shaders(plans[a].program, 'vector', leaves + 1, plans.slice(a, a + leaves + 1).flatMap((plan) => plan.refs)) !== null
      ) {
        leaves++;
      }
      if (!addLeaves(a, leaves, 'vector')) return false;
      a += leaves;
    }
    for (let a = 0; a < plans.length; a++) {
      if (4 * plans[a].vectors < table.sizes[plans[a].leaf] && !addLeaves(a, 1, 'scalar')) return false;
    }
    return true;
  }

  /** Records `dispatches` into tfjs's compute pass, with the call's uniforms. */
  private encode(
    programs: readonly Program[],
    scalars: readonly number[],
    plans: readonly LeafPlan[],
    sizes: readonly number[],
    stride: number,
    recordBytes: number,
    dispatches: readonly Dispatch[],
    overwritten: ReadonlySet<object>,
    outputs: number,
    I: number,
  ): boolean {
    const device = this.backend.device;

    const b = this.backend;
    // Every buffer on the GPU first: uploading may record a copy, which ends the compute pass.
    for (const plan of plans) for (const r of plan.refs) b.uploadToGPU(r.dataId);
    const uniforms = this.writeUniforms(programs, scalars, plans, sizes, stride);
    let batch = DEFAULT_SUBMIT_BATCH;
    try {
      batch = Number(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'));
    } catch {
      // The flag is registered by tfjs-backend-webgpu; without it, its default.
    }
    const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
    for (const d of dispatches) {
      const groups = d.groups ?? Math.ceil(d.invocations / WORKGROUP_SIZE);
      const x = Math.min(groups, maxGroups);
      const y = Math.ceil(groups / x);
      const { pipeline, layout } = this.pipeline(d.shader);
      const records = { buffer: uniforms.buffer, offset: uniforms.recordsAt + stride * d.first, size: stride * (d.leaves - 1) + recordBytes };
      const entries: Array<{ binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }> = [{ binding: 1, resource: records }];
      if (d.shader.usesValues) {
        entries.push({ binding: 0, resource: { buffer: uniforms.buffer, offset: uniforms.valuesAt[d.program], size: uniforms.valuesBytes[d.program] } });
      }
      if (d.shader.packed?.usesTables) entries.push({ binding: TABLES_BINDING, resource: { buffer: this.tables() } });
      const firstStorage = d.shader.packed === undefined ? 2 : FIRST_STORAGE_BINDING;
      d.shader.bindings.forEach((ref, k) => entries.push({ binding: firstStorage + k, resource: { buffer: this.bufferOf(d.refs[ref].dataId) } }));
      const group = device.createBindGroup({ layout, entries });
      b.ensureCommandEncoderReady();
      b.computePassEncoder ??= b.commandEncoder!.beginComputePass();
      b.computePassEncoder.setPipeline(pipeline);
      b.computePassEncoder.setBindGroup(0, group);
      b.computePassEncoder.dispatchWorkgroups(x, y);
      // A submit starts a new set of owned ids: mark after it, per dispatch.
      for (const ref of d.shader.bindings) b.commandQueueOwnedIds.add(d.refs[ref].dataId);
      b.dispatchCountInPass++;
      if (b.dispatchCountInPass >= batch) {
        b.endComputePassEncoder();
        b.submitQueue();
      }
    }
    // Released at the submit after the last dispatch that reads it.
    b.uniformPendingDisposal.push(uniforms.buffer);
    // The written tensors' values live on the GPU now: drop any copy tfjs cached on the CPU, and
    // keep reads already under way from caching theirs.
    if (overwritten.size > 0) this.guardReadCache();
    for (const id of overwritten) this.writtenInPlace.add(id);
    for (const plan of plans) {
      for (let o = 0; o < outputs; o++) b.tensorMap.get(plan.refs[I + o].dataId)!.values = null;
    }
    return true;
  }

  /**
   * Whether the tensor of `dataId` may be an output of {@link run} that is also an input (written
   * in place): not in a buffer of the caller's. The backend's refCount (other tensors of the same
   * dataId) is the caller's to check; reads under way are harmless (see {@link guardReadCache}).
   */
  mayWriteInPlace(dataId: object): boolean {
    return this.backend.tensorMap.get(dataId)?.external !== true;
  }

  /**
   * Keeps tfjs from caching stale values of tensors written in place. `data()` copies the
   * tensor's buffer when called and caches what it got on the CPU when the copy arrives, later:
   * a read started before an in-place step ends after it with the old values (right for its
   * caller) and would leave them as the tensor's values for every later `data()` and
   * `dataSync()`. tfjs-backend-webgpu keeps no list of the reads under way (tfjs-backend-webgl
   * does, and its in-place step is refused during one), and a read started before this module
   * was first used could not be listed anyway. So, from the first in-place step on, a read that
   * ends asynchronously caches nothing for a tensor written in place (its caller still gets the
   * values; the next read copies them again), while a synchronous read, which no step can
   * overlap, still caches. tfjs looks up `convertAndCacheOnCPU` on the backend at each call, so
   * reads already under way go through the guard too.
   */
  private guardReadCache(): void {
    if (this.guarded) return;
    this.guarded = true;
    const b = this.backend;
    const cache = b.convertAndCacheOnCPU.bind(b);
    const readSync = b.readSync.bind(b);
    b.convertAndCacheOnCPU = (dataId, data) => (this.syncReads === 0 && this.writtenInPlace.has(dataId) ? data : cache(dataId, data));
    b.readSync = (dataId) => {
      this.syncReads++;
      try {
        return readSync(dataId);
      } finally {
        this.syncReads--;
      }
    };
  }

  /**
   * One uniform buffer for the call: per program its values (scalars, constants, NaN), then
   * per planned leaf its record (length, start of the scalar form, element offsets of its refs),
   * each at the device's uniform offset alignment.
   */
  private writeUniforms(programs: readonly Program[], scalars: readonly number[], plans: readonly LeafPlan[], sizes: readonly number[], stride: number) {
    const align = this.backend.device.limits.minUniformBufferOffsetAlignment;
    const up = (bytes: number) => Math.ceil(bytes / align) * align;
    const valuesAt: number[] = [];
    const valuesBytes: number[] = [];
    let at = 0;
    const layouts = programs.map((p) => {
      const layout = valueLayout(p);
      valuesAt.push(at);
      valuesBytes.push(16 * Math.ceil(layout.count / 4));
      at += up(valuesBytes[valuesBytes.length - 1]);
      return layout;
    });
    const recordsAt = at;
    const data = new ArrayBuffer(recordsAt + stride * plans.length);
    programs.forEach((p, k) => {
      const floats = new Float32Array(data, valuesAt[k], valuesBytes[k] / 4);
      floats.set(scalars);
      floats.set(layouts[k].tail, p.scalars);
    });
    const words = new Uint32Array(data, recordsAt);
    plans.forEach((plan, n) => {
      const w = (stride / 4) * n;
      words[w] = sizes[plan.leaf];
      words[w + 1] = plan.start ?? 4 * plan.vectors;
      plan.refs.forEach((r, k) => (words[w + 2 + k] = r.elementOffset ?? 0));
    });
    const buffer = this.backend.bufferManager.acquireBuffer(data.byteLength, UNIFORM_USAGE);
    this.backend.queue.writeBuffer(buffer, 0, data);
    return { buffer, valuesAt, valuesBytes, recordsAt };
  }

  private pipeline(shader: WgslShader): { pipeline: GpuPipeline; layout: object } {
    let made = this.pipelines.get(shader.key);
    if (made === undefined) {
      const device = this.backend.device;
      const module = device.createShaderModule({ code: shader.code, label: 'tfjs-optax fused step' });
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'tfjs-optax fused step' });
      made = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.pipelines.set(shader.key, made);
    }
    return made;
  }

  /** The int8 codec tables (packed-wgsl.ts) in a uniform buffer, made once per backend and kept. */
  private tables(): GpuBuffer {
    if (this.tablesBuffer === undefined) {
      const { floats, codes } = int8Tables();
      const data = new Uint8Array(floats.byteLength + codes.byteLength);
      data.set(new Uint8Array(floats.buffer), 0);
      data.set(new Uint8Array(codes.buffer), floats.byteLength);
      this.tablesBuffer = this.backend.bufferManager.acquireBuffer(data.byteLength, UNIFORM_USAGE);
      this.backend.queue.writeBuffer(this.tablesBuffer, 0, data.buffer);
    }
    return this.tablesBuffer;
  }

  private bufferOf(dataId: object): GpuBuffer {
    const resource = this.backend.tensorMap.get(dataId)?.resource;
    if (resource == null || typeof resource !== 'object' || !('mapState' in resource)) {
      throw new Error('tfjs-optax: a tensor of the fused step is not in a GPU buffer on the webgpu backend');
    }
    return resource;
  }
}
