// The page webgpu-programs.test.ts loads: the WGSL kernels (src/, not the bundle: they are
// internal) run directly on tfjs's webgpu backend against the same math as tf ops (TensorOps, the
// composite path), over the special values of program-values.ts, in the layouts the fused step
// uses: fresh outputs, outputs written over their inputs, the clip factor read from a GPU
// buffer, a leaf at an unaligned offset (the scalar form), a program split over several
// dispatches, several leaves in one dispatch, leaves at element offsets of one buffer, and a leaf
// longer than one dispatch dimension. Exposed as `window.programsPage`.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-backend-webgl';
import { ProgramBuilder, type Program } from '../../../src/kernels/program.js';
import { TensorOps } from '../../../src/internal/tensor-ops.js';
import { WebGpuKernels } from '../../../src/kernels/webgpu/runner.js';
import { WebGlKernels } from '../../../src/kernels/webgl/runner.js';
import type { FusedAttrs, KernelData } from '../../../src/kernels/layout.js';
import { A, B, compute, SCALARS } from '../../program-values.js';

/** Float32 bit patterns (exact, -0 and NaN payloads included). */
type Bits = number[];

async function bitsOf(t: tf.Tensor): Promise<Bits> {
  return Array.from(new Uint32Array(new Float32Array(await t.data()).buffer));
}

function kernels(): WebGpuKernels {
  const k = WebGpuKernels.for(tf.backend());
  if (k === null) throw new Error('no webgpu kernels on this backend');
  return k;
}

/** Program attributes for one call over `leaves` leaves. */
function attrsFor(program: Program, scalars: number[], leaves: number, extra: Partial<FusedAttrs> = {}): FusedAttrs {
  return { scalars, clipNorm: 0, leaves, hasParams: false, slotCount: 0, programs: [program], variants: [], ...extra };
}

const data = (t: tf.Tensor): KernelData => ({ dataId: t.dataId, size: t.size });

/** Counts compute dispatches while `fn` runs (every encoder's, tfjs's included). */
async function countingDispatches<T>(fn: () => Promise<T>): Promise<{ result: T; dispatches: number }> {
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: number[]) => void } } }).GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  let dispatches = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...args: number[]) {
    dispatches++;
    return original.apply(this, args);
  };
  try {
    return { result: await fn(), dispatches };
  } finally {
    proto.dispatchWorkgroups = original;
  }
}

async function setWebGpu(): Promise<void> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu backend');
  await tf.ready();
  // Small CPU-resident tensors would otherwise run tfjs's CPU kernels, not its WGSL ones.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
}

/** The all-operations program over the special values: tf ops and kernels, in every layout. */
async function specialValues(): Promise<Record<string, Bits[]>> {
  await setWebGpu();
  const b = new ProgramBuilder();
  const [x, y] = [b.input(), b.input()];
  const [s0, s1] = [b.scalar(), b.scalar()];
  const program = b.build(compute(b, x, y, s0, s1));
  const a = tf.tensor1d(A);
  const bt = tf.tensor1d(B);
  const out: Record<string, Bits[]> = {};

  const composite = tf.tidy(() => {
    const ops = new TensorOps();
    return ops.leaf(() => compute(ops, a, bt, tf.scalar(SCALARS[0]), tf.scalar(SCALARS[1])));
  });
  out.composite = await Promise.all(composite.map(bitsOf));
  tf.dispose(composite);

  const k = kernels();
  const n = A.length;
  // Fresh outputs.
  const fresh = k.makeOutputs(program.outputs.map(() => [n])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  k.run(attrsFor(program, SCALARS, 1), { sizes: [n], inputs: [[data(a)], [data(bt)]], outputs: fresh.map((t) => [data(t)]) });
  out.fresh = await Promise.all(fresh.map(bitsOf));
  tf.dispose(fresh);

  // The first two outputs written over the inputs (new tensors of the same values): read_write
  // bindings.
  const [a2, b2] = [tf.tensor1d(A), tf.tensor1d(B)];
  const rest = k.makeOutputs(program.outputs.slice(2).map(() => [n])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  const written = [a2, b2, ...rest];
  k.run(attrsFor(program, SCALARS, 1), { sizes: [n], inputs: [[data(a2)], [data(b2)]], outputs: written.map((t) => [data(t)]) });
  out.inPlace = await Promise.all(written.map(bitsOf));
  tf.dispose(written);

  // The last scalar read from a one-element GPU tensor (how the clip factor comes).
  const factor = tf.tensor1d([SCALARS[1]]);
  const device = k.makeOutputs(program.outputs.map(() => [n])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  k.run(attrsFor(program, [SCALARS[0]], 1, { clipNorm: 1, deviceClip: true }), { sizes: [n], inputs: [[data(a)], [data(bt)]], outputs: device.map((t) => [data(t)]) }, factor);
  out.deviceScalar = await Promise.all(device.map(bitsOf));
  tf.dispose([...device, factor]);

  // The leaf at element 1 of longer buffers: unaligned, so the scalar form runs all of it (the
  // layouts above run the vector form, and the scalar one for the last element).
  const shifted = (x: Float32Array) => tf.tensor1d([0, ...x]);
  const [a1, b1] = [shifted(A), shifted(B)];
  const wide = k.makeOutputs(program.outputs.map(() => [n + 1])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  const at1 = (t: tf.Tensor): KernelData => ({ dataId: t.dataId, size: n, elementOffset: 1 });
  k.run(attrsFor(program, SCALARS, 1), { sizes: [n], inputs: [[at1(a1)], [at1(b1)]], outputs: wide.map((t) => [at1(t)]) });
  out.unaligned = (await Promise.all(wide.map(bitsOf))).map((bits) => bits.slice(1));
  tf.dispose([...wide, a1, b1, a, bt]);
  return out;
}

/**
 * A program whose buffers exceed the device's 8 storage buffers per dispatch (4 inputs, 6
 * outputs): composite, and the kernels (dispatches counted: two per form, the vector form for
 * 288 elements and the scalar one for the last); and the same in place, which a split cannot
 * do (the runner must refuse, changing nothing).
 */
async function split(): Promise<{ composite: Bits[]; fused: Bits[]; dispatches: number; inPlaceRan: boolean; inputsAfter: Bits[]; inputsBefore: Bits[] }> {
  await setWebGpu();
  const math = <V>(ops: { add(a: V, b: V): V; mul(a: V, b: V): V; sub(a: V, b: V): V; div(a: V, b: V): V }, [p, q, r, s]: V[]) => [
    ops.add(p, q), ops.mul(p, q), ops.sub(p, q), ops.div(r, s), ops.mul(r, s), ops.add(ops.mul(p, s), r),
  ];
  const b = new ProgramBuilder();
  const ins = [b.input(), b.input(), b.input(), b.input()];
  const program = b.build(math(b, ins));
  const n = A.length;
  const tensors = [tf.tensor1d(A), tf.tensor1d(B), tf.tensor1d(B.map((v) => v * 3)), tf.tensor1d(A.map((v) => v - 1))];
  const ops = new TensorOps();
  const composite = tf.tidy(() => ops.leaf(() => math(ops, tensors)));
  const k = kernels();
  const outs = k.makeOutputs(program.outputs.map(() => [n])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  const { dispatches } = await countingDispatches(async () => {
    k.run(attrsFor(program, [], 1), { sizes: [n], inputs: tensors.map((t) => [data(t)]), outputs: outs.map((t) => [data(t)]) });
  });
  const result = { composite: await Promise.all(composite.map(bitsOf)), fused: await Promise.all(outs.map(bitsOf)), dispatches };
  // In place: output 0 over input 0, five fresh outputs (9 buffers): the second dispatch would
  // read input 0 after the first has written it, so the runner must refuse.
  const inputsBefore = await Promise.all(tensors.map(bitsOf));
  const more = k.makeOutputs(program.outputs.slice(1).map(() => [n])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  const inPlaceRan = k.run(attrsFor(program, [], 1), { sizes: [n], inputs: tensors.map((t) => [data(t)]), outputs: [tensors[0], ...more].map((t) => [data(t)]) });
  const inputsAfter = await Promise.all(tensors.map(bitsOf));
  tf.dispose([...composite, ...outs, ...tensors, ...more]);
  return { ...result, inPlaceRan, inputsBefore, inputsAfter };
}

/**
 * `2 * x + 1` over (a) two leaves that are segments of one buffer, written into segments of
 * another (inputs and outputs as bits, checked in Node), and (b) one leaf of `65535 * 64 + 100`
 * elements at an unaligned offset, more workgroups of the scalar form than one dispatch
 * dimension allows (checked here: how many differ, and that element 0 stays untouched).
 */
async function layouts(): Promise<{ segments: { input: Bits; output: Bits }; long: { n: number; wrong: number; last: number[] } }> {
  await setWebGpu();
  const b = new ProgramBuilder();
  const x = b.input();
  const program = b.build([b.add(b.mul(x, b.constant(2)), b.constant(1))]);
  const k = kernels();

  const flatIn = tf.tensor1d(Float32Array.from({ length: 300 }, (_, i) => i * 0.37 - 20));
  const [flatOut] = k.makeOutputs([[300]]).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  // Leaf 0: elements 5..104 into 200..299; leaf 1: 150..279 into 0..129 (the rest stays 0).
  const seg = (t: tf.Tensor, at: number, size: number): KernelData => ({ dataId: t.dataId, size, elementOffset: at });
  k.run(attrsFor(program, [], 2), { sizes: [100, 130], inputs: [[seg(flatIn, 5, 100), seg(flatIn, 150, 130)]], outputs: [[seg(flatOut, 200, 100), seg(flatOut, 0, 130)]] });
  const segments = { input: await bitsOf(flatIn), output: await bitsOf(flatOut) };

  // At element 1 of its buffers, so the scalar form (one element per invocation) runs it all:
  // more workgroups than one dimension holds.
  const n = 65535 * 64 + 100;
  const longIn = tf.tensor1d(Float32Array.from({ length: n + 1 }, (_, i) => (i % 1000) - 500.5));
  const [longOut] = k.makeOutputs([[n + 1]]).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  k.run(attrsFor(program, [], 1), { sizes: [n], inputs: [[seg(longIn, 1, n)]], outputs: [[seg(longOut, 1, n)]] });
  // Too long to send back: checked here, element by element, against 2 * x + 1 in float32.
  const [xs, ys] = [await longIn.data(), await longOut.data()];
  let wrong = ys[0] === 0 ? 0 : 1;
  for (let i = 1; i <= n; i++) if (ys[i] !== Math.fround(Math.fround(2 * xs[i]) + 1)) wrong++;
  const long = { n, wrong, last: [xs[n], ys[n]] };
  tf.dispose([flatIn, flatOut, longIn, longOut]);
  return { segments, long };
}

/**
 * `2 * x + 1` over five leaves of 8, 12, 4, 16 and 6 elements into new tensors (two buffers a
 * leaf): the first four share one dispatch of the vector form (8 buffers, the device's limit),
 * the fifth takes one of each form. Returns the dispatch count, inputs and outputs as bits.
 */
async function grouped(): Promise<{ dispatches: number; inputs: Bits[]; outputs: Bits[] }> {
  await setWebGpu();
  const b = new ProgramBuilder();
  const x = b.input();
  const program = b.build([b.add(b.mul(x, b.constant(2)), b.constant(1))]);
  const k = kernels();
  const sizes = [8, 12, 4, 16, 6];
  const inputs = sizes.map((n, j) => tf.tensor1d(Float32Array.from({ length: n }, (_, i) => (i - 3.25) * (j + 1.5))));
  const outputs = k.makeOutputs(sizes.map((n) => [n])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  const { dispatches } = await countingDispatches(async () => {
    k.run(attrsFor(program, [], sizes.length), { sizes, inputs: [inputs.map(data)], outputs: [outputs.map(data)] });
  });
  const result = { dispatches, inputs: await Promise.all(inputs.map(bitsOf)), outputs: await Promise.all(outputs.map(bitsOf)) };
  tf.dispose([...inputs, ...outputs]);
  return result;
}

// ---------------------------------------------------------------------------------------------
// WebGL (webgl-programs.test.ts): the GLSL kernels (src/kernels/webgl) on tfjs's webgl backend.

function glKernels(): WebGlKernels {
  const k = WebGlKernels.for(tf.backend());
  if (k === null) throw new Error('no webgl kernels on this backend');
  return k;
}

async function setWebGl(): Promise<void> {
  if (!(await tf.setBackend('webgl'))) throw new Error('no webgl backend');
  await tf.ready();
  // Small CPU-resident tensors would otherwise run tfjs's CPU kernels, not its shaders.
  tf.env().set('WEBGL_CPU_FORWARD', false);
}

interface TexInfo {
  isPacked?: boolean;
  texture: unknown;
  values: unknown;
}
const texInfo = (t: tf.Tensor): TexInfo => (tf.backend() as unknown as { texData: { get(id: object): TexInfo } }).texData.get(t.dataId);

/**
 * `x` (CPU-resident) uploaded to the GPU as it is, packed or unpacked: tfjs uploads a tensor's
 * own values in the layout of the first program that reads it (here x + x, disposed). Not
 * through an op of x (x * 1 would flush subnormals to zero on SwiftShader, and the composite
 * reference reads the values as they are).
 */
function uploaded(x: tf.Tensor, packed: boolean): tf.Tensor {
  const flag = tf.env().getBool('WEBGL_PACK_BINARY_OPERATIONS');
  tf.env().set('WEBGL_PACK_BINARY_OPERATIONS', packed);
  try {
    tf.dispose(tf.add(x, x));
  } finally {
    tf.env().set('WEBGL_PACK_BINARY_OPERATIONS', flag);
  }
  return x;
}
const packed = (x: tf.Tensor) => uploaded(x, true);
const unpacked = (x: tf.Tensor) => uploaded(x, false);

/**
 * The all-operations program over the special values, as tf ops (the composite path) and through
 * the GLSL kernels in every layout the fused step meets: packed inputs of the outputs' layout
 * (1-D, 2-D with odd sides, 3-D), unpacked inputs, inputs still on the CPU, inputs of another
 * shape (read element by element), outputs given to the input tensors (in place), the last
 * scalar read from a one-element tensor (the clip factor), and leaves that are segments of flat
 * tensors (inputs at an offset, outputs into unpacked flat textures). Each as bits, in the
 * order of the special-value pairs.
 */
async function glSpecialValues(): Promise<{ results: Record<string, Bits[]>; packedInputs: boolean[]; draws: Record<string, number> }> {
  await setWebGl();
  const b = new ProgramBuilder();
  const [x, y] = [b.input(), b.input()];
  const [s0, s1] = [b.scalar(), b.scalar()];
  const program = b.build(compute(b, x, y, s0, s1));
  const n = A.length;
  const results: Record<string, Bits[]> = {};
  const draws: Record<string, number> = {};

  const composite = tf.tidy(() => {
    const ops = new TensorOps();
    return ops.leaf(() => compute(ops, tf.tensor1d(A), tf.tensor1d(B), tf.scalar(SCALARS[0]), tf.scalar(SCALARS[1])));
  });
  results.composite = await Promise.all(composite.map(bitsOf));
  tf.dispose(composite);

  const k = glKernels();
  const outputsOf = (shape: number[], count = program.outputs.length) =>
    k.makeOutputs(program.outputs.slice(0, count).map(() => shape)).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  /** Runs the program on inputs `a`, `bt` into new tensors of `shape`; returns their bits. */
  const fresh = async (name: string, a: tf.Tensor, bt: tf.Tensor, shape: number[]) => {
    const outs = outputsOf(shape);
    k.run(attrsFor(program, SCALARS, 1), { sizes: [n], inputs: [[data(a)], [data(bt)]], outputs: outs.map((t) => [data(t)]) });
    draws[name] = k.lastDraws;
    results[name] = await Promise.all(outs.map(bitsOf));
    tf.dispose(outs);
  };
  const packedInputs: boolean[] = [];
  for (const [name, shape] of [['packed1d', [n]], ['packed2d', [17, 17]], ['packed3d', [1, 17, 17]]] as const) {
    const [a, bt] = [packed(tf.tensor(A, [...shape])), packed(tf.tensor(B, [...shape]))];
    packedInputs.push(texInfo(a).isPacked === true);
    await fresh(name, a, bt, [...shape]);
    tf.dispose([a, bt]);
  }
  {
    const [a, bt] = [unpacked(tf.tensor1d(A)), unpacked(tf.tensor1d(B))];
    packedInputs.push(texInfo(a).isPacked === true);
    await fresh('unpacked', a, bt, [n]);
    tf.dispose([a, bt]);
  }
  {
    // Still on the CPU: the runner uploads them (packed).
    const [a, bt] = [tf.tensor1d(A), tf.tensor1d(B)];
    packedInputs.push(texInfo(a).texture != null);
    await fresh('cpu', a, bt, [17, 17]);
    tf.dispose([a, bt]);
  }
  {
    // Inputs of another shape than the outputs: read element by element.
    const [a, bt] = [packed(tf.tensor(A, [17, 17])), packed(tf.tensor1d(B))];
    await fresh('reshaped', a, bt, [289]);
    tf.dispose([a, bt]);
  }
  {
    // The first two outputs given to the inputs themselves (in place), the rest new tensors.
    const [a, bt] = [packed(tf.tensor(A, [17, 17])), packed(tf.tensor(B, [17, 17]))];
    const rest = outputsOf([17, 17], program.outputs.length - 2);
    const written = [a, bt, ...rest];
    k.run(attrsFor(program, SCALARS, 1), { sizes: [n], inputs: [[data(a)], [data(bt)]], outputs: written.map((t) => [data(t)]) });
    results.inPlace = await Promise.all(written.map(bitsOf));
    tf.dispose(written);
  }
  {
    // The last scalar read from a one-element tensor on the GPU (how the clip factor comes).
    const factor = packed(tf.tensor1d([SCALARS[1]]));
    const [a, bt] = [packed(tf.tensor(A, [17, 17])), packed(tf.tensor(B, [17, 17]))];
    const outs = outputsOf([17, 17]);
    k.run(attrsFor(program, [SCALARS[0]], 1, { clipNorm: 1, deviceClip: true }), { sizes: [n], inputs: [[data(a)], [data(bt)]], outputs: outs.map((t) => [data(t)]) }, factor);
    results.deviceScalar = await Promise.all(outs.map(bitsOf));
    tf.dispose([...outs, factor, a, bt]);
  }
  {
    // Segments: the inputs at element 3 of longer packed tensors, outputs 0-1 into the leaf's own
    // tensors, 2-6 into flat tensors at element 5 (unpacked textures, one segment per draw).
    const [a, bt] = [packed(tf.tensor1d([1, 2, 3, ...A])), packed(tf.tensor1d([4, 5, 6, ...B]))];
    const leafOuts = outputsOf([17, 17], 2);
    const flatOuts = k.makeOutputs(program.outputs.slice(2).map(() => [n + 5])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
    const at = (t: tf.Tensor, offset: number): KernelData => ({ dataId: t.dataId, size: n, elementOffset: offset });
    k.run(attrsFor(program, SCALARS, 1), {
      sizes: [n],
      inputs: [[at(a, 3)], [at(bt, 3)]],
      outputs: [...leafOuts.map((t) => [data(t)]), ...flatOuts.map((t) => [at(t, 5)])],
    });
    draws.segments = k.lastDraws;
    results.segments = [...(await Promise.all(leafOuts.map(bitsOf))), ...(await Promise.all(flatOuts.map(bitsOf))).map((bits) => bits.slice(5))];
    tf.dispose([a, bt, ...leafOuts, ...flatOuts]);
  }
  return { results, packedInputs, draws };
}

/**
 * A program with more outputs (10) than the context has draw buffers (8 in SwiftShader):
 * composite and kernels over two leaves (the second of another variant-free shape), with the
 * draw count.
 */
async function glSplit(): Promise<{ composite: Bits[]; fused: Bits[]; draws: number; maxDrawBuffers: number }> {
  await setWebGl();
  const math = <V>(ops: { add(a: V, b: V): V; mul(a: V, b: V): V; sub(a: V, b: V): V; div(a: V, b: V): V }, [p, q]: V[]) => [
    ops.add(p, q), ops.mul(p, q), ops.sub(p, q), ops.div(p, q), ops.mul(p, p), ops.add(ops.mul(p, q), q),
    ops.sub(q, p), ops.div(q, p), ops.mul(q, q), ops.add(p, p),
  ];
  const b = new ProgramBuilder();
  const program = b.build(math(b, [b.input(), b.input()]));
  const n = A.length;
  const tensors = [packed(tf.tensor(A, [17, 17])), packed(tf.tensor(B, [17, 17]))];
  const ops = new TensorOps();
  const composite = tf.tidy(() => ops.leaf(() => math(ops, tensors)));
  const k = glKernels();
  const outs = k.makeOutputs(program.outputs.map(() => [17, 17])).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  k.run(attrsFor(program, [], 1), { sizes: [n], inputs: tensors.map((t) => [data(t)]), outputs: outs.map((t) => [data(t)]) });
  const gl = (tf.backend() as unknown as { gpgpu: { gl: WebGL2RenderingContext } }).gpgpu.gl;
  const result = {
    composite: await Promise.all(composite.map(bitsOf)),
    fused: await Promise.all(outs.map(bitsOf)),
    draws: k.lastDraws,
    maxDrawBuffers: gl.getParameter(gl.MAX_DRAW_BUFFERS) as number,
  };
  tf.dispose([...composite, ...outs, ...tensors]);
  return result;
}

/**
 * `2 * x + 1` over leaves of many shapes at once (ranks 0 to 5, odd and even sides, one beyond
 * the texture size limit in one dimension, an unpacked one, a shallow slice), into new tensors
 * and then in place, checked here against float32 math: how many elements differ, per leaf.
 */
async function glShapes(): Promise<{ shapes: number[][]; wrongFresh: number[]; wrongInPlace: number[]; draws: number; after: number[] }> {
  await setWebGl();
  const b = new ProgramBuilder();
  const x = b.input();
  const program = b.build([b.add(b.mul(x, b.constant(2)), b.constant(1))]);
  const k = glKernels();
  const shapes = [[], [1], [7], [2, 3], [3, 2], [5, 5], [2, 3, 5], [3, 1, 4, 3], [2, 1, 3, 1, 5], [3, 9000], [20001]];
  const valuesOf = (shape: number[], j: number) => Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => (i % 97) * 0.25 - 3 + j);
  const inputs = shapes.map((shape, j) => packed(tf.tensor(valuesOf(shape, j), shape)));
  // An unpacked input, and a shallow slice of an unpacked tensor.
  shapes.push([4, 6]);
  inputs.push(unpacked(tf.tensor(valuesOf([4, 6], 11), [4, 6])));
  const whole = unpacked(tf.tensor1d(valuesOf([40], 12)));
  shapes.push([13]);
  inputs.push(tf.slice(whole, [9], [13]));
  const sizes = inputs.map((t) => t.size);
  const check = async (outs: tf.Tensor[], ins: Float32Array[]) =>
    Promise.all(
      outs.map(async (t, j) => {
        const got = await t.data();
        let wrong = got.length === ins[j].length ? 0 : 1;
        ins[j].forEach((v, i) => {
          if (got[i] !== Math.fround(Math.fround(2 * v) + 1)) wrong++;
        });
        return wrong;
      }),
    );
  const before = await Promise.all(inputs.map(async (t) => Float32Array.from(await t.data())));
  const outs = k.makeOutputs(shapes).map((t) => tf.engine().makeTensorFromTensorInfo(t));
  k.run(attrsFor(program, [], inputs.length), { sizes, inputs: [inputs.map(data)], outputs: [outs.map(data)] });
  const draws = k.lastDraws;
  const wrongFresh = await check(outs, before);
  // In place (not the slice: its texture belongs to another tensor, so the runner refuses).
  const own = inputs.slice(0, -1);
  k.run(attrsFor(program, [], own.length), { sizes: sizes.slice(0, -1), inputs: [own.map(data)], outputs: [own.map(data)] });
  // A tensor being read back cannot take a new texture (tfjs caches the values it reads when the
  // read ends): in place is refused.
  const reading = own[1].data();
  const refusedReading = k.run(attrsFor(program, [], 1), { sizes: [own[1].size], inputs: [[data(own[1])]], outputs: [[data(own[1])]] });
  await reading;
  const wrongInPlace = await check(own, before);
  const refused = k.run(attrsFor(program, [], 1), { sizes: [13], inputs: [[data(inputs[inputs.length - 1])]], outputs: [[data(inputs[inputs.length - 1])]] });
  const after = [refused ? 1 : 0, refusedReading ? 1 : 0];
  tf.dispose([...inputs, ...outs, whole]);
  return { shapes, wrongFresh, wrongInPlace, draws, after };
}

/**
 * Leaves of one shape share draws while their outputs fit in the draw buffers: three outputs
 * (2x + 1, x * x, x - 1) over seven leaves of [5, 3] and one of [4] (another layout), into new
 * tensors; how many elements differ from float32 math per leaf, and the draw count.
 */
async function glGrouped(): Promise<{ wrong: number[]; draws: number; maxDrawBuffers: number }> {
  await setWebGl();
  const b = new ProgramBuilder();
  const x = b.input();
  const program = b.build([b.add(b.mul(x, b.constant(2)), b.constant(1)), b.mul(x, x), b.sub(x, b.constant(1))]);
  const expected = (v: number) => [Math.fround(Math.fround(2 * v) + 1), Math.fround(v * v), Math.fround(v - 1)];
  const k = glKernels();
  const shapes = [[5, 3], [5, 3], [5, 3], [5, 3], [5, 3], [4], [5, 3], [5, 3]];
  const inputs = shapes.map((shape, j) => packed(tf.tensor(Float32Array.from({ length: shape.reduce((q, d) => q * d, 1) }, (_, i) => i * 0.75 - j), shape)));
  const outs = program.outputs.map(() => k.makeOutputs(shapes).map((t) => tf.engine().makeTensorFromTensorInfo(t)));
  k.run(attrsFor(program, [], shapes.length), { sizes: inputs.map((t) => t.size), inputs: [inputs.map(data)], outputs: outs.map((list) => list.map(data)) });
  const draws = k.lastDraws;
  const wrong = await Promise.all(
    inputs.map(async (t, j) => {
      const xs = await t.data();
      let bad = 0;
      for (let o = 0; o < 3; o++) {
        const ys = await outs[o][j].data();
        xs.forEach((v, i) => {
          if (ys[i] !== expected(v)[o]) bad++;
        });
      }
      return bad;
    }),
  );
  const gl = (tf.backend() as unknown as { gpgpu: { gl: WebGL2RenderingContext } }).gpgpu.gl;
  tf.dispose([...inputs, ...outs.flat()]);
  return { wrong, draws, maxDrawBuffers: gl.getParameter(gl.MAX_DRAW_BUFFERS) as number };
}

const page = {
  glGrouped,
  specialValues,
  split,
  layouts,
  grouped,
  glSpecialValues,
  glSplit,
  glShapes,
  numTensors: () => tf.memory().numTensors,
};

export type ProgramsPage = typeof page;
(globalThis as unknown as { programsPage: ProgramsPage }).programsPage = page;
