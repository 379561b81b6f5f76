// The page webgpu-programs.test.ts loads: the WGSL kernels (src/, not the bundle: they are
// internal) run directly on tfjs's webgpu backend against the same math as tf ops (TensorOps, the
// composite path), over the special values of program-values.ts, in the layouts the fused step
// uses: fresh outputs, outputs written over their inputs, the clip factor read from a GPU
// buffer, a leaf at an unaligned offset (the scalar form), a program split over several
// dispatches, several leaves in one dispatch, leaves at element offsets of one buffer, and a leaf
// longer than one dispatch dimension. Exposed as `window.programsPage`.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { ProgramBuilder, type Program } from '../../../src/kernels/program.js';
import { TensorOps } from '../../../src/internal/tensor-ops.js';
import { WebGpuKernels } from '../../../src/kernels/webgpu/runner.js';
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
  return { family: 'program', flags: 0, scalars, clipNorm: 0, leaves, hasParams: false, slots: [], decay: [], programs: [program], variants: [], ...extra };
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

const page = { specialValues, split, layouts, grouped, numTensors: () => tf.memory().numTensors };

export type ProgramsPage = typeof page;
(globalThis as unknown as { programsPage: ProgramsPage }).programsPage = page;
