// What train-step-in-place.test.ts runs on the webgl and webgpu backends in Chromium, as pure
// functions of a tfjs namespace and the library's namespace (the page bundles this with the built
// library, as it does scenarios.ts). `trainStep` with a fused optimizer writes the new parameters
// and state into the old tensors where nothing else holds their data (webgpu: into their GPU
// buffers; webgl: by giving them new textures). Each case makes something that could see such a
// write (a snapshot array, a second tensor of one array, a slice, a clone, a reshape, a
// variable's initial tensor, a read in flight, a buffer of the caller's, ...), takes two steps,
// and reports: what the alias holds after each step (it must keep the old values); the params and
// state after each step (they must equal the composite path's through `data()` and `dataSync()`:
// no stale CPU copy); whether each step went in place, and the GPU memory it took; and what is
// left once everything is disposed (tensors, GPU bytes, the state of tfjs's texture pool).
import type * as TfNamespace from '@tensorflow/tfjs';
import type { Params } from 'tfjs-optax';
import { gradients, initialParams, leavesOf, type Leaf, type Lib, type Tf } from './scenarios.js';

type Tensor = TfNamespace.Tensor;
type AnyTx = ReturnType<Lib['adam']>;
type Tree = ReturnType<typeof initialParams>;

/** The optimizers the cases run with: a fused kernel on webgl and webgpu, state slots included. */
export const ALIASING_OPTIMIZERS: Record<string, (lib: Lib) => AnyTx> = {
  adam: (l) => l.adam(0.1) as AnyTx,
  'sgd momentum': (l) => l.sgd(0.1, { momentum: 0.9 }) as unknown as AnyTx,
  // Its state is one flat tensor per slot, each leaf a segment of it (flat slots: unpacked on webgl).
  'flatten(adam)': (l) => l.flatten(l.adam(0.1)) as unknown as AnyTx,
};

/** Something that must keep the values it had before the step. */
interface Alias {
  what: string;
  /** Its values now, as float32 bits (read asynchronously: webgpu's synchronous read is broken here). */
  read(): Promise<number[]>;
  /** The bits it must hold (the old values). */
  want: number[];
  dispose?(): void;
  /** Disposed after the first step (so the second can go in place), or at the very end (after the parameters). */
  until: 'step 1' | 'end';
}

/** What a case starts from: its parameters, and the aliases it makes once the state exists. */
interface Setup {
  /** GPU-resident copies of `initialParams` (outputs of a GPU program) unless given. */
  params?: Tree;
  aliases?(params: Tree, state: unknown): Promise<Alias[]> | Alias[];
}

/** One aliasing pattern. */
export interface AliasingCase {
  name: string;
  /** Only on these backends (both by default). */
  backends?: Array<'webgl' | 'webgpu'>;
  /** tfjs's `*_CPU_FORWARD` flag during the case (off by default, as in the rest of the suite). */
  cpuForward?: boolean;
  /** Runs each `trainStep` inside `tf.tidy`, assigning its result to variables outside. */
  tidy?: boolean;
  setup?(h: Harness): Promise<Setup> | Setup;
  /** Whether each of the two steps goes in place, per backend: both do unless said here. */
  inPlace?: Partial<Record<'webgl' | 'webgpu', [boolean, boolean]>>;
}

export interface AliasingCheck {
  what: string;
  want: number[];
  got: number[];
}

export interface AliasingResult {
  name: string;
  optimizer: string;
  /** Per step: whether `trainStep` wrote into the given tensors (every returned leaf keeps its dataId). */
  inPlace: boolean[];
  /** Per step: webgpu storage buffers, or webgl textures, tfjs handed out during `trainStep` (GPU-resident gradients). */
  allocations: number[];
  /** Per step: the parameter and state tensors on the CPU before it (the step uploads them). */
  uploads: number[];
  /** What the case expects of `inPlace` on this backend. */
  expectedInPlace: boolean[];
  /** Every comparison: aliases with their old values, params and state with the composite path's. */
  checks: AliasingCheck[];
  /** Leaves of the params and state `trainStep` returned that were disposed when it returned. */
  disposed: string[];
  /** Tensors alive after disposing everything, minus before the case. */
  leaked: number;
  /** GPU bytes in use after disposing everything, minus before (tf.memory().numBytesInGPU). */
  gpuBytesLeft: number;
  /** Inconsistencies of tfjs's texture pool afterwards (webgl): a texture free twice, or free and in use. */
  pool: string[];
  error?: string;
}

const bitsOf = (values: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(values).buffer));

/** What the cases build their parameters and aliases with, on one backend. */
export class Harness {
  constructor(
    readonly tf: Tf,
    readonly lib: Lib,
    readonly backend: 'webgl' | 'webgpu',
  ) {}

  /** The initial parameters with their values on the CPU (fresh `tf.tensor`s, as `initialParams` makes them). */
  cpuParams(): Tree {
    return initialParams(this.tf);
  }

  /** The initial parameters as GPU-resident tensors (outputs of a GPU program, as most tensors in training are). */
  gpuParams(): Tree {
    return this.onGpu(initialParams(this.tf));
  }

  /** The gradients of step `k` (scenarios.ts), GPU-resident. */
  gpuGradients(k: number): Tree {
    return this.onGpu(gradients(this.tf, k));
  }

  /** GPU-resident copies of `tree`'s tensors (`tf.mul(x, 1)`, CPU forwarding off); `tree` is disposed. */
  private onGpu(tree: Tree): Tree {
    const tf = this.tf;
    const flag = this.cpuForwardFlag();
    const before = tf.env().getBool(flag);
    tf.env().set(flag, false);
    try {
      const gpu = this.lib.treeMap((x: Tensor) => tf.mul(x, 1), tree) as Tree;
      this.lib.treeDispose(tree);
      return gpu;
    } finally {
      tf.env().set(flag, before);
    }
  }

  /** Whether `t`'s values are on the CPU only (no GPU buffer or texture yet). */
  onCpu(t: Tensor): boolean {
    const b = this.tf.backend() as unknown as { tensorMap?: { get(id: object): { resource: unknown } }; texData?: { get(id: object): { texture: unknown } } };
    return this.backend === 'webgpu' ? b.tensorMap!.get(t.dataId).resource == null : b.texData!.get(t.dataId).texture == null;
  }

  /**
   * Runs `fn`, counting the GPU memory tfjs hands out meanwhile: webgpu storage buffers
   * (`bufferManager.acquireBuffer`), webgl textures (`textureManager.acquireTexture`).
   */
  countingAllocations<T>(fn: () => T): { result: T; allocations: number } {
    const b = this.tf.backend() as unknown as {
      bufferManager?: { acquireBuffer(size: number, usage: number, ...rest: unknown[]): unknown };
      textureManager?: { acquireTexture(...args: unknown[]): unknown };
    };
    let allocations = 0;
    const STORAGE = 0x80;
    const [owner, name] = this.backend === 'webgpu' ? [b.bufferManager!, 'acquireBuffer'] : [b.textureManager!, 'acquireTexture'];
    const target = owner as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = target[name];
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (name === 'acquireTexture' || ((args[1] as number) & STORAGE) !== 0) allocations++;
      return original.apply(this, args);
    };
    try {
      const result = fn();
      return { result, allocations };
    } finally {
      target[name] = original;
    }
  }

  cpuForwardFlag(): string {
    return this.backend === 'webgl' ? 'WEBGL_CPU_FORWARD' : 'WEBGPU_CPU_FORWARD';
  }

  /** The initial values of a parameter, or `size` of them from `offset`. */
  values(leaf: 'kernel' | 'bias', offset = 0, size?: number): Float32Array {
    const p = initialParams(this.tf);
    const all = (leaf === 'kernel' ? p.layer.kernel : p.layer.bias).dataSync() as Float32Array;
    const out = all.slice(offset, size === undefined ? undefined : offset + size);
    this.lib.treeDispose(p);
    return out;
  }

  /** {@link values} as float32 bits. */
  initial(leaf: 'kernel' | 'bias', offset = 0, size?: number): number[] {
    return bitsOf(this.values(leaf, offset, size));
  }

  /** {@link cpuParams} with `kernel` made from the given array (`tf.tensor2d(kernel, [3, 4])`). */
  paramsWithKernel(kernel: Float32Array): Tree {
    const p = this.cpuParams();
    p.layer.kernel.dispose();
    p.layer.kernel = this.tf.tensor2d(kernel, [3, 4]);
    return p;
  }

  /** An alias that is a tensor: it must hold `want`. */
  tensor(what: string, t: Tensor, want: number[], until: Alias['until'] = 'end'): Alias {
    return { what, want, until, read: async () => bitsOf(await t.data()), dispose: () => t.dispose() };
  }

  /** An alias that is an array the caller holds. */
  array(what: string, values: ArrayLike<number>, want: number[], until: Alias['until'] = 'end'): Alias {
    return { what, want, until, read: async () => bitsOf(values) };
  }

  /**
   * `t.dataSync()`, the array tfjs holds as `t`'s values; on webgpu, where a synchronous read of
   * a GPU buffer is broken here, after `await t.data()` has put the values in that array.
   */
  async dataSync(t: Tensor): Promise<Float32Array> {
    if (this.backend === 'webgpu' && this.syncValues(t) === undefined) await t.data();
    if (this.backend === 'webgpu' && this.syncValues(t) === undefined) throw new Error('tfjs did not keep the values data() read');
    return t.dataSync() as Float32Array;
  }

  /**
   * `t.dataSync()` where that reads no GPU buffer synchronously (webgpu's synchronous read gives
   * zeros and loses the device in headless Chromium on SwiftShader): always on webgl, on webgpu
   * only when tfjs holds a CPU copy of the values, which is what a stale copy would be.
   */
  syncValues(t: Tensor): number[] | undefined {
    if (this.backend === 'webgpu') {
      const b = this.tf.backend() as unknown as { tensorMap: { get(id: object): { values: unknown } | undefined } };
      if (b.tensorMap.get(t.dataId)?.values == null) return undefined;
    }
    return bitsOf(t.dataSync());
  }
}

/**
 * The aliasing patterns. Every alias must keep its old values on both backends; in place is
 * refused where it would be seen (a shared dataId, a webgl texture shared with shallow slices, a
 * webgl read in flight, a webgpu buffer of the caller's) and taken elsewhere.
 */
export const ALIASING_CASES: AliasingCase[] = [
  {
    // First: on webgpu the step's guard against caching stale values is installed by the first
    // in-place step, so this read starts before it.
    name: 'a read of a parameter in flight while the step runs',
    inPlace: { webgl: [false, true] },
    setup: (h) => ({
      aliases: (p) => {
        const pending = p.layer.kernel.data();
        return [{ what: 'kernel.data() started before the step', want: h.initial('kernel'), until: 'end', read: async () => bitsOf(await pending) }];
      },
    }),
  },
  {
    // dataSync gives the array tfjs holds (here the one tf.tensor made, unless tx.init uploaded it).
    name: 'a snapshot from dataSync (CPU-resident parameters)',
    setup: (h) => ({
      params: h.cpuParams(),
      aliases: async (p) => [h.array('kernel.dataSync() before the step', await h.dataSync(p.layer.kernel), h.initial('kernel'))],
    }),
  },
  {
    name: 'a snapshot from dataSync (GPU-resident parameters)',
    setup: (h) => ({
      aliases: async (p) => [h.array('kernel.dataSync() before the step', await h.dataSync(p.layer.kernel), h.initial('kernel'))],
    }),
  },
  {
    name: 'a snapshot from await data()',
    setup: (h) => ({
      aliases: async (p) => [
        h.array('await kernel.data() before the step', await p.layer.kernel.data(), h.initial('kernel')),
        h.array('await bias.data() before the step', await p.layer.bias.data(), h.initial('bias')),
      ],
    }),
  },
  {
    name: "the caller's Float32Array given to tf.tensor",
    setup: (h) => {
      const kernel = h.values('kernel');
      return { params: h.paramsWithKernel(kernel), aliases: () => [h.array("the caller's Float32Array", kernel, h.initial('kernel'))] };
    },
  },
  {
    name: 'two tensors made from one Float32Array, one of them a parameter',
    setup: (h) => {
      const kernel = h.values('kernel');
      const other = h.tf.tensor2d(kernel, [3, 4]);
      return {
        params: h.paramsWithKernel(kernel),
        aliases: () => [h.array('the Float32Array', kernel, h.initial('kernel')), h.tensor('the other tensor of that array', other, h.initial('kernel'))],
      };
    },
  },
  {
    // On webgl a contiguous slice of an unpacked texture is a shallow slice: it shares the texture.
    name: 'tf.slice of a parameter, taken before the step (CPU-resident parameters)',
    inPlace: { webgl: [false, true] },
    setup: (h) => ({
      params: h.cpuParams(),
      aliases: (p) => [h.tensor('tf.slice(kernel, [1, 0], [1, 4])', h.tf.slice(p.layer.kernel, [1, 0], [1, 4]), h.initial('kernel', 4, 4), 'step 1')],
    }),
  },
  {
    name: 'tf.split of a parameter, taken before the step and disposed after the parameter',
    inPlace: { webgl: [false, true] },
    setup: (h) => ({
      params: h.cpuParams(),
      aliases: (p) => h.tf.split(p.layer.kernel, 3).map((t, i) => h.tensor(`tf.split(kernel, 3)[${i}]`, t, h.initial('kernel', 4 * i, 4))),
    }),
  },
  {
    name: 'tf.slice of a parameter, taken before the step (GPU-resident parameters)',
    setup: (h) => ({ aliases: (p) => [h.tensor('tf.slice(bias, 1, 2)', h.tf.slice(p.layer.bias, 1, 2), h.initial('bias', 1, 2))] }),
  },
  {
    // tfjs runs small ops on CPU-resident tensors on the CPU: these slices are views of the values there.
    name: 'tf.slice with CPU forwarding (a view of the values on the CPU)',
    cpuForward: true,
    setup: (h) => ({
      params: h.cpuParams(),
      aliases: (p) => [
        h.tensor('tf.slice(kernel, [1, 0], [1, 4])', h.tf.slice(p.layer.kernel, [1, 0], [1, 4]), h.initial('kernel', 4, 4)),
        h.tensor('tf.slice(bias, 1, 2)', h.tf.slice(p.layer.bias, 1, 2), h.initial('bias', 1, 2)),
      ],
    }),
  },
  {
    name: 'tf.clone of a parameter',
    inPlace: { webgl: [false, true], webgpu: [false, true] },
    setup: (h) => ({ aliases: (p) => [h.tensor('tf.clone(kernel)', h.tf.clone(p.layer.kernel), h.initial('kernel'), 'step 1')] }),
  },
  {
    // webgl copies a packed texture to reshape it across rows: nothing shared there.
    name: 'tf.reshape of a parameter',
    inPlace: { webgpu: [false, true] },
    setup: (h) => ({ aliases: (p) => [h.tensor('tf.reshape(kernel, [12])', h.tf.reshape(p.layer.kernel, [12]), h.initial('kernel'), 'step 1')] }),
  },
  {
    name: 'tf.clone of a state tensor',
    inPlace: { webgl: [false, true], webgpu: [false, true] },
    setup: (h) => ({
      aliases: (_p, state) => {
        const first = firstTensor(h.tf, state);
        return [h.tensor('tf.clone(the first state tensor)', h.tf.clone(first), bitsOf(new Float32Array(first.size)), 'step 1')];
      },
    }),
  },
  {
    // The state starts as zeros in unpacked textures on webgl: the slice is a shallow one.
    name: 'tf.slice of a state tensor',
    inPlace: { webgl: [false, true] },
    setup: (h) => ({
      aliases: (_p, state) => {
        const first = firstTensor(h.tf, state);
        const slice = h.tf.tidy(() => h.tf.slice(h.tf.reshape(first, [-1]), 1, 2));
        return [h.tensor('tf.slice(the first state tensor, 1, 2)', slice, bitsOf(new Float32Array(2)))];
      },
    }),
  },
  {
    name: 'a tf.variable parameter whose initial tensor is still alive',
    inPlace: { webgl: [false, true], webgpu: [false, true] },
    setup: (h) => {
      const params = h.gpuParams();
      const initial = params.layer.kernel;
      params.layer.kernel = h.tf.variable(initial);
      return { params, aliases: () => [h.tensor("the variable's initial tensor", initial, h.initial('kernel'), 'step 1')] };
    },
  },
  {
    name: 'dataToGPU of a parameter, taken before the step',
    setup: (h) => ({
      aliases: (p) => {
        const gpu = p.layer.kernel.dataToGPU();
        return [{ ...h.tensor('kernel.dataToGPU()', gpu.tensorRef, h.initial('kernel'), 'step 1'), read: () => readGpuCopy(h, gpu) }];
      },
    }),
  },
  {
    name: "a webgpu parameter in the caller's own GPUBuffer (zeroCopy)",
    backends: ['webgpu'],
    inPlace: { webgpu: [false, true] },
    setup: (h) => {
      const buffer = callerBuffer(h, h.initial('kernel'));
      const params = h.gpuParams();
      params.layer.kernel.dispose();
      params.layer.kernel = h.tf.tensor({ buffer, zeroCopy: true } as never, [3, 4], 'float32');
      return {
        params,
        aliases: () => [{ what: "the caller's GPUBuffer", want: h.initial('kernel'), until: 'end', read: () => readBuffer(h, buffer, 12), dispose: () => buffer.destroy() }],
      };
    },
  },
  { name: 'trainStep inside tf.tidy, in place', tidy: true },
  {
    name: 'trainStep inside tf.tidy, into new tensors (a clone of a parameter is alive)',
    tidy: true,
    inPlace: { webgl: [false, true], webgpu: [false, true] },
    setup: (h) => ({ aliases: (p) => [h.tensor('tf.clone(kernel)', h.tf.clone(p.layer.kernel), h.initial('kernel'), 'end')] }),
  },
];

function firstTensor(tf: Tf, value: unknown): Tensor {
  const found: Tensor[] = [];
  const walk = (v: unknown): void => {
    if (found.length > 0) return;
    if (v instanceof tf.Tensor) found.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.keys(v).sort().forEach((k) => walk((v as Record<string, unknown>)[k]));
  };
  walk(value);
  if (found.length === 0) throw new Error('the state holds no tensor');
  return found[0];
}

interface GPUBufferLike {
  size: number;
  destroy(): void;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

interface WebGpuDeviceLike {
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GPUBufferLike;
  queue: { writeBuffer(b: GPUBufferLike, offset: number, data: ArrayBufferView): void; submit(c: unknown[]): void };
  createCommandEncoder(): { copyBufferToBuffer(a: GPUBufferLike, ao: number, b: GPUBufferLike, bo: number, n: number): void; finish(): unknown };
}

/** GPUBufferUsage: MAP_READ 1, COPY_SRC 4, COPY_DST 8, STORAGE 128; GPUMapMode.READ 1. */
const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, STORAGE: 128 };

/** A storage buffer of the caller's, holding `bits`. */
function callerBuffer(h: Harness, bits: number[]): GPUBufferLike {
  const device = (h.tf.backend() as unknown as { device: WebGpuDeviceLike }).device;
  const buffer = device.createBuffer({ size: 4 * bits.length, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
  device.queue.writeBuffer(buffer, 0, new Uint32Array(bits));
  return buffer;
}

/** The first `n` float32 values of a GPU buffer, as bits (after everything submitted so far). */
async function readBuffer(h: Harness, buffer: GPUBufferLike, n: number): Promise<number[]> {
  const b = h.tf.backend() as unknown as { device: WebGpuDeviceLike; submitQueue(): void; ensureCommandEncoderReady(): void; endComputePassEncoder(): void };
  // tfjs's recorded commands (the step) first.
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.submitQueue();
  const staging = b.device.createBuffer({ size: 4 * n, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  const encoder = b.device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, 4 * n);
  b.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(1);
  const bits = Array.from(new Uint32Array(staging.getMappedRange().slice(0)));
  staging.unmap();
  staging.destroy();
  return bits;
}

/** The values of what `dataToGPU` gave: the buffer (webgpu) or the dense texture (webgl), read back. */
async function readGpuCopy(h: Harness, gpu: TfNamespace.GPUData): Promise<number[]> {
  if (h.backend === 'webgpu') return readBuffer(h, gpu.buffer as unknown as GPUBufferLike, 12);
  // A tensor made from the texture (tfjs copies it), as tfjs's dataToGPU documentation does.
  const [height, width] = gpu.texShape!;
  const t = h.tf.tensor({ texture: gpu.texture!, height, width, channels: 'RGBA' } as never, [12], 'float32');
  try {
    return bitsOf(await t.data());
  } finally {
    t.dispose();
  }
}

/** The tensors and GPU bytes in use (webgl: textures' bytes; webgpu: buffers' bytes). */
function gpuBytes(tf: Tf): number {
  return (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU ?? 0;
}

/** Submits tfjs's recorded webgpu commands, so the buffers they hold go back to the pool. */
async function settle(h: Harness): Promise<void> {
  const t = h.tf.tidy(() => h.tf.add(h.tf.scalar(1), h.tf.scalar(2)));
  try {
    await t.data();
  } finally {
    t.dispose();
  }
}

/** webgl: textures that tfjs's texture manager lists as free twice, or as free and in use. */
function poolProblems(h: Harness): string[] {
  if (h.backend !== 'webgl') return [];
  const manager = (h.tf.backend() as unknown as { textureManager: { freeTextures: Record<string, object[]>; usedTextures: Record<string, object[]> } }).textureManager;
  const problems: string[] = [];
  const used = new Set(Object.values(manager.usedTextures).flat());
  for (const [key, list] of Object.entries(manager.freeTextures)) {
    const seen = new Set<object>();
    for (const t of list) {
      if (seen.has(t)) problems.push(`a texture is free twice (${key})`);
      if (used.has(t)) problems.push(`a texture is free and in use (${key})`);
      seen.add(t);
    }
  }
  return problems;
}

/** The tensors of a tree or state with their paths, in the order of `leavesOf`. */
function tensorsOf(tf: Tf, value: unknown, path = ''): Array<[string, Tensor]> {
  if (value instanceof tf.Tensor) return [[path || '.', value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => tensorsOf(tf, v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.keys(obj).sort().flatMap((k) => tensorsOf(tf, obj[k], `${path}.${k}`));
  }
  return [];
}

/** The composite path's params and state after each of `steps` steps, as leaves. */
async function reference(tf: Tf, lib: Lib, make: (lib: Lib) => AnyTx, steps: number): Promise<Leaf[][]> {
  const mode = lib.getKernelMode();
  lib.setKernelMode('composite');
  const out: Leaf[][] = [];
  let params: unknown = initialParams(tf);
  let state: unknown;
  try {
    const tx = make(lib);
    state = tx.init(params as Params);
    for (let k = 0; k < steps; k++) {
      ({ params, state } = lib.trainStep(tx, params as Params, state, gradients(tf, k)));
      out.push(await leavesOf(tf, { params, state }));
    }
  } finally {
    lib.setKernelMode(mode);
    lib.treeDispose([params as Params, state as Params]);
  }
  return out;
}

/** Runs one case with one optimizer for two steps; `want` is {@link reference}'s for that optimizer. */
async function runAliasingCase(tf: Tf, lib: Lib, c: AliasingCase, optimizer: string, want: Leaf[][]): Promise<AliasingResult> {
  const backend = tf.getBackend() as 'webgl' | 'webgpu';
  const make = ALIASING_OPTIMIZERS[optimizer];
  const expectedInPlace = c.inPlace?.[backend] ?? [true, true];
  const result: AliasingResult = { name: c.name, optimizer, inPlace: [], allocations: [], uploads: [], expectedInPlace, checks: [], disposed: [], leaked: 0, gpuBytesLeft: 0, pool: [] };
  const h = new Harness(tf, lib, backend);
  const flag = h.cpuForwardFlag();
  const forward = tf.env().getBool(flag);
  await settle(h);
  const start = tf.memory().numTensors;
  const bytes = gpuBytes(tf);
  let params: Tree | undefined;
  let state: unknown;
  let aliases: Alias[] = [];
  try {
    tf.env().set(flag, c.cpuForward === true);
    const tx = make(lib);
    const setup = (await c.setup?.(h)) ?? {};
    params = setup.params ?? h.gpuParams();
    state = tx.init(params as unknown as Params);
    aliases = (await setup.aliases?.(params, state)) ?? [];
    /** dataSync of each parameter against the composite path's values after step `k`, where it reads no GPU buffer. */
    const syncChecks = (k: number, when: string) => {
      for (const [path, t] of tensorsOf(tf, { params }).filter(([, t]) => h.syncValues(t) !== undefined)) {
        result.checks.push({ what: `step ${k + 1}: ${path}.dataSync()${when}`, want: want[k].find((l) => l.path === path)!.data, got: h.syncValues(t)! });
      }
    };
    for (let k = 0; k < 2; k++) {
      const given = tensorsOf(tf, { params, state }).map(([, t]) => t.dataId);
      const grads = h.gpuGradients(k);
      result.uploads.push(tensorsOf(tf, { params, state }).filter(([, t]) => h.onCpu(t)).length);
      const step = () => lib.trainStep(tx, params as unknown as Params, state, grads) as { params: Tree; state: unknown };
      const { allocations } = h.countingAllocations(() => {
        if (c.tidy) {
          tf.tidy(() => {
            ({ params, state } = step());
          });
        } else {
          ({ params, state } = step());
        }
      });
      result.allocations.push(allocations);
      const now = tensorsOf(tf, { params, state });
      result.inPlace.push(given.length === now.length && given.every((id, i) => id === now[i][1].dataId));
      result.disposed.push(...now.filter(([, t]) => t.isDisposed).map(([path]) => `step ${k + 1}: ${path}`));
      if (result.disposed.length > 0) break;
      for (const a of aliases) result.checks.push({ what: `step ${k + 1}: ${a.what}`, want: a.want, got: await a.read() });
      // A stale CPU copy would show here first: dataSync reads it without touching the GPU.
      syncChecks(k, '');
      const leaves = await leavesOf(tf, { params, state });
      want[k].forEach((l, i) => result.checks.push({ what: `step ${k + 1}: ${l.path} (await data())`, want: l.data, got: leaves[i]?.data ?? [] }));
      syncChecks(k, ' after await data()');
      if (k === 0) {
        for (const a of aliases.filter((x) => x.until === 'step 1')) a.dispose?.();
        aliases = aliases.filter((x) => x.until === 'end');
      }
    }
  } catch (e) {
    result.error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 1000) : String(e);
  }
  try {
    // The parameters first, then what aliased them (the order that would free a shared texture twice).
    lib.treeDispose([params as unknown as Params, state as Params]);
    for (const a of aliases) a.dispose?.();
    await settle(h);
  } catch (e) {
    result.error ??= `while disposing: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  } finally {
    tf.env().set(flag, forward);
  }
  result.leaked = tf.memory().numTensors - start;
  result.gpuBytesLeft = gpuBytes(tf) - bytes;
  result.pool = poolProblems(h);
  return result;
}

/** Every case that runs on this backend (or those named), with every optimizer (or those named). */
export async function runAliasingCases(tf: Tf, lib: Lib, names?: string[], optimizers?: string[]): Promise<AliasingResult[]> {
  const backend = tf.getBackend() as 'webgl' | 'webgpu';
  const out: AliasingResult[] = [];
  for (const [optimizer, make] of Object.entries(ALIASING_OPTIMIZERS)) {
    if (optimizers !== undefined && !optimizers.includes(optimizer)) continue;
    const want = await reference(tf, lib, make, 2);
    for (const c of ALIASING_CASES) {
      if ((c.backends === undefined || c.backends.includes(backend)) && (names === undefined || names.includes(c.name))) {
        out.push(await runAliasingCase(tf, lib, c, optimizer, want));
      }
    }
  }
  return out;
}
