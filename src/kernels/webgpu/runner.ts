import * as tf from '@tensorflow/tfjs-core';
import { clipScale, type FusedAttrs, type KernelData, type KernelTable } from '../layout.js';
import { programKey, type Program } from '../program.js';
import { recordWords, shadersFor, valueLayout, WORKGROUP_SIZE, type ShaderForm, type WgslShader } from './wgsl.js';

/**
 * Runs generated programs (the `'program'` family) on tfjs's webgpu backend: per leaf one
 * compute dispatch of the vector form (four elements per invocation), plus one of the scalar form
 * for the last `n % 4` elements when there are any (or the scalar form alone for a leaf at an
 * unaligned offset of a flat buffer), and more only when a program's buffers exceed the device's
 * storage-buffer limit; all recorded into tfjs's own command encoder and compute pass, so the
 * step costs a dispatch per leaf instead of tfjs's dozen ops. Inputs are the tensors' own GPU buffers; the
 * outputs are new tensors' buffers, or (the in-place step) input buffers written over.
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
}

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` the kernels use. */
export interface WebGpuBackendLike {
  device: GpuDevice;
  queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBuffer): void };
  tensorMap: { get(dataId: object): GpuTensorData | undefined };
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
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

/** Program keys, computed once per program object. */
let programKeys: WeakMap<Program, string> | undefined;

function keyOf(p: Program): string {
  programKeys ??= new WeakMap();
  let key = programKeys.get(p);
  if (key === undefined) {
    key = programKey(p);
    programKeys.set(p, key);
  }
  return key;
}

/** One leaf's dispatches, planned. */
interface LeafPlan {
  leaf: number;
  program: number;
  /** Each dispatch: its shader and how many invocations it runs. */
  dispatches: Array<{ shader: WgslShader; invocations: number }>;
  /** The first element of the scalar form (the vector form covers those before it). */
  scalarStart: number;
  /** The leaf's refs: inputs, outputs, then the device scalar if any. */
  refs: KernelData[];
}

/** The generated-program kernels on one webgpu backend (its device, pipelines and encoder). */
export class WebGpuKernels {
  private readonly pipelines = new Map<string, { pipeline: GpuPipeline; layout: object }>();
  /** Shaders by program (its key), then by form and buffer layout. */
  private readonly plans = new Map<string, Map<string, WgslShader[] | null>>();

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

  /** New float32 tensors of `shapes` with GPU buffers (empty ones hold an empty array). */
  makeOutputs(shapes: readonly number[][]): tf.TensorInfo[] {
    return shapes.map((shape) => {
      const t = this.backend.makeTensorInfo(shape, 'float32');
      if (shape.some((d) => d === 0)) this.backend.tensorMap.get(t.dataId)!.values = new Float32Array(0);
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
   * bound on this device (too many buffers for one dispatch, and no split works in place).
   */
  run(attrs: FusedAttrs, table: KernelTable<KernelData>, clipFactor?: { dataId: object }): boolean {
    const programs = attrs.programs;
    if (attrs.family !== 'program' || programs === undefined) {
      throw new Error(`tfjs-optax: the webgpu kernels run generated programs only, got the ${attrs.family} family`);
    }
    const deviceClip = attrs.clipNorm > 0 && attrs.deviceClip === true;
    if (deviceClip && clipFactor === undefined) throw new Error('tfjs-optax: the webgpu kernel needs the clip factor tensor');
    const scalars =
      attrs.clipNorm > 0 && !deviceClip
        ? [...attrs.scalars, clipScale(attrs.sumOfSquares ?? NaN, attrs.clipNorm)]
        : attrs.scalars;
    const ins = table.inputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const outs = table.outputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const device = this.backend.device;
    const maxStorageBuffers = device.limits.maxStorageBuffersPerShaderStage;

    const plans: LeafPlan[] = [];
    for (let j = 0; j < table.sizes.length; j++) {
      if (table.sizes[j] === 0) continue;
      const program = attrs.variants?.[j] ?? 0;
      const p = programs[program];
      if (p.scalars !== scalars.length + (deviceClip ? 1 : 0)) {
        throw new Error(`tfjs-optax: a program reads ${p.scalars} scalars, the call has ${scalars.length}`);
      }
      const refs: KernelData[] = [...ins.map((list) => list[j]), ...outs.map((list) => list[j])];
      if (deviceClip) refs.push({ dataId: clipFactor!.dataId, size: 1 });
      const same = refs.map((r) => refs.findIndex((s) => s.dataId === r.dataId));
      const deviceScalar = deviceClip ? p.scalars - 1 : undefined;
      let byLayout = this.plans.get(keyOf(p));
      if (byLayout === undefined) this.plans.set(keyOf(p), (byLayout = new Map()));
      const layoutKey = `${same.join(',')}|${deviceScalar ?? ''}`;
      const shaders = (form: ShaderForm) => {
        const key = `${form}|${layoutKey}`;
        let made = byLayout!.get(key);
        if (made === undefined) {
          made = shadersFor(p, { same, deviceScalar, maxStorageBuffers, form });
          byLayout!.set(key, made);
        }
        return made;
      };
      const n = table.sizes[j];
      const aligned = refs.every((r, k) => (r.elementOffset ?? 0) % 4 === 0 || (deviceClip && k === refs.length - 1));
      const vectors = aligned ? Math.floor(n / 4) : 0;
      const dispatches: LeafPlan['dispatches'] = [];
      for (const [form, invocations] of [['vector', vectors], ['scalar', n - 4 * vectors]] as const) {
        if (invocations === 0) continue;
        const made = shaders(form);
        if (made === null) return false;
        for (const shader of made) dispatches.push({ shader, invocations });
      }
      plans.push({ leaf: j, program, dispatches, scalarStart: 4 * vectors, refs });
    }
    if (plans.length === 0) return true;

    const b = this.backend;
    // Every buffer on the GPU first: uploading may record a copy, which ends the compute pass.
    for (const plan of plans) for (const r of plan.refs) b.uploadToGPU(r.dataId);
    const uniforms = this.writeUniforms(programs, scalars, plans, table.sizes);
    let batch = DEFAULT_SUBMIT_BATCH;
    try {
      batch = Number(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'));
    } catch {
      // The flag is registered by tfjs-backend-webgpu; without it, its default.
    }
    const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
    plans.forEach((plan, at) => {
      for (const { shader, invocations } of plan.dispatches) {
        const groups = Math.ceil(invocations / WORKGROUP_SIZE);
        const x = Math.min(groups, maxGroups);
        const y = Math.ceil(groups / x);
        const { pipeline, layout } = this.pipeline(shader);
        const entries: Array<{ binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }> = [
          { binding: 1, resource: { buffer: uniforms.buffer, offset: uniforms.recordAt(at), size: uniforms.recordBytes } },
        ];
        if (shader.usesValues) {
          entries.push({ binding: 0, resource: { buffer: uniforms.buffer, offset: uniforms.valuesAt[plan.program], size: uniforms.valuesBytes[plan.program] } });
        }
        shader.bindings.forEach((ref, k) => entries.push({ binding: 2 + k, resource: { buffer: this.bufferOf(plan.refs[ref].dataId) } }));
        const group = device.createBindGroup({ layout, entries });
        b.ensureCommandEncoderReady();
        b.computePassEncoder ??= b.commandEncoder!.beginComputePass();
        b.computePassEncoder.setPipeline(pipeline);
        b.computePassEncoder.setBindGroup(0, group);
        b.computePassEncoder.dispatchWorkgroups(x, y);
        // A submit starts a new set of owned ids: mark after it, per dispatch.
        for (const ref of shader.bindings) b.commandQueueOwnedIds.add(plan.refs[ref].dataId);
        b.dispatchCountInPass++;
        if (b.dispatchCountInPass >= batch) {
          b.endComputePassEncoder();
          b.submitQueue();
        }
      }
    });
    // Released at the submit after the last dispatch that reads it.
    b.uniformPendingDisposal.push(uniforms.buffer);
    // The written tensors' values live on the GPU now: drop any copy tfjs cached on the CPU.
    const I = ins.length;
    for (const plan of plans) {
      for (let o = 0; o < outs.length; o++) b.tensorMap.get(plan.refs[I + o].dataId)!.values = null;
    }
    return true;
  }

  /**
   * One uniform buffer for the call: per program its values (scalars, constants, NaN), then
   * per planned leaf its record (length, start of the scalar form, element offsets of its refs),
   * each at the device's uniform offset alignment.
   */
  private writeUniforms(programs: readonly Program[], scalars: readonly number[], plans: readonly LeafPlan[], sizes: readonly number[]) {
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
    const words = Math.max(...programs.map(recordWords));
    const recordBytes = 4 * words;
    const stride = up(recordBytes);
    const recordsAt = at;
    const data = new ArrayBuffer(recordsAt + stride * plans.length);
    programs.forEach((p, k) => {
      const floats = new Float32Array(data, valuesAt[k], valuesBytes[k] / 4);
      floats.set(scalars);
      floats.set(layouts[k].tail, p.scalars);
    });
    plans.forEach((plan, n) => {
      const record = new Uint32Array(data, recordsAt + stride * n, words);
      record[0] = sizes[plan.leaf];
      record[1] = plan.scalarStart;
      plan.refs.forEach((r, k) => (record[2 + k] = r.elementOffset ?? 0));
    });
    const buffer = this.backend.bufferManager.acquireBuffer(data.byteLength, UNIFORM_USAGE);
    this.backend.queue.writeBuffer(buffer, 0, data);
    return { buffer, valuesAt, valuesBytes, recordBytes, recordAt: (n: number) => recordsAt + stride * n };
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

  private bufferOf(dataId: object): GpuBuffer {
    const resource = this.backend.tensorMap.get(dataId)?.resource;
    if (resource == null || typeof resource !== 'object' || !('mapState' in resource)) {
      throw new Error('tfjs-optax: a tensor of the fused step is not in a GPU buffer on the webgpu backend');
    }
    return resource;
  }
}
