import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from '../backend.js';
import { clipScale, inputList, mapTable, outputDtypes, outputShapes, sizeOf, tableOf, type FusedAttrs, type KernelData, type KernelTable } from '../layout.js';
import { CodecMemory } from '../wasm/codec-memory.js';
import { ProgramTiles } from '../wasm/tiles.js';
import { runProgramLoops } from './compile.js';
import { claim, cpuValues, watchCpuBackend, writeOnCpu, type CpuBackendLike } from './ownership.js';
import { cpuHost } from './packed-host.js';
import { runPackedOnCpu } from './packed-chunks.js';

let cpuTiles = true;

/**
 * Whether the cpu backend's kernels stream the buffers through the SIMD modules in tiles (the
 * default, where WebAssembly SIMD is available) or run the plain typed-array loops. For tests,
 * which check both.
 * @internal
 */
export function setCpuTiles(enabled: boolean): void {
  cpuTiles = enabled;
}

/** The active backend, as the cpu backend (the dispatcher knows it is). */
function active(): CpuBackendLike {
  return tf.backend() as unknown as CpuBackendLike;
}

/** A leaf's data as the cpu backend holds it: its array, or the segment of one (not handed out). */
function cpuView(b: CpuBackendLike, t: KernelData): Float32Array {
  const values = cpuValues(b, t.dataId);
  return t.elementOffset === undefined ? values : values.subarray(t.elementOffset, t.elementOffset + t.size);
}

/** The sum of squares of `arrays`' elements, in float64. */
function sumOfSquaresOf(arrays: readonly Float32Array[]): number {
  let sum = 0;
  for (const g of arrays) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return sum;
}

/**
 * The step over the cpu backend's arrays: through the SIMD tiles where WebAssembly SIMD is
 * available, each leaf through its variant's JavaScript loop otherwise (the same numbers).
 */
function runOnCpu(attrs: FusedAttrs, table: KernelTable<Float32Array>): void {
  const clip = attrs.clipNorm > 0 ? [clipScale(attrs.sumOfSquares ?? sumOfSquaresOf(table.inputs[0]!), attrs.clipNorm)] : [];
  const scalars = clip.length > 0 ? [...attrs.scalars, ...clip] : attrs.scalars;
  const tiles = cpuTiles ? ProgramTiles.get() : null;
  if (tiles === null || !tiles.run(attrs, table, scalars)) runProgramLoops(attrs, table, scalars);
}

/** Whether a call reads packed slots: cpu/packed-chunks.ts runs it. */
function packedCall(attrs: FusedAttrs): boolean {
  return attrs.slotFormats !== undefined && attrs.slotFormats.some((f) => f !== 'float32');
}

/** A call over the cpu backend's arrays, its packed slots' leaves int32 arrays (see packedCall). */
function runCall(attrs: FusedAttrs, table: KernelTable<Float32Array | Int32Array>): void {
  if (!packedCall(attrs)) runOnCpu(attrs, table as KernelTable<Float32Array>);
  else runPackedOnCpu(CodecMemory.get()!, attrs, table, runOnCpu, () => sumOfSquaresOf(table.inputs[0] as Float32Array[]));
}

/**
 * tfjs-backend-cpu: the generated programs over the backend's Float32Arrays. The backend hands
 * arrays out without counting (`dataSync`, `tf.tensor(array)`, slices), so every write goes
 * through `writeOnCpu`, which writes into an array only where ownership.ts proves it private
 * and installs a new one otherwise: no tensor is refused, and no caller's array is changed.
 */
export const cpuBackend: KernelBackend = {
  name: 'cpu',
  path: 'cpu',
  ready: () => true,
  leafNorms: true,
  packedHost: (backend) => cpuHost(backend as unknown as CpuBackendLike),
  // Packed slots go through the SIMD codec in batches around the float32 step (cpu/packed-chunks.ts).
  runsPackedSlots: (attrs) => attrs.flatSlots !== true && CodecMemory.get() !== null,
  deviceClip: false,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as FusedAttrs;
    const b = backend as unknown as CpuBackendLike & {
      makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
    };
    const ins = inputList(inputs);
    // The backend keeps the given arrays as the outputs' data, so the kernel writes them there;
    // they are the library's own (ownership.ts) until handed out.
    watchCpuBackend(b);
    const dtypes = a.slotFormats === undefined ? undefined : outputDtypes(a);
    const outs = outputShapes(ins, a).map((shape, i) => {
      // A packed slot's new leaf: int32 words (never written in place, so not claimed).
      if (dtypes?.[i] === 'int32') return b.makeTensorInfo(shape, 'int32', new Int32Array(sizeOf(shape)));
      const values = new Float32Array(sizeOf(shape));
      const out = b.makeTensorInfo(shape, 'float32', values);
      claim(values);
      return out;
    });
    runCall(a, mapTable(tableOf(a, ins, outs), (t) => cpuView(b, t)));
    return outs;
  },
  mayWriteInPlace: () => true,
  runInPlace: (attrs, table, written) => {
    const b = active();
    const inputs = mapTable(table, (t) => cpuView(b, t)).inputs;
    // A packed slot's new words go into a new int32 array, installed once the step has run.
    const fresh = new Map<object, Int32Array>();
    const packed = (pos: number) => packedCall(attrs) && pos >= 1 && (attrs.slotFormats![pos - 1] ?? 'float32') !== 'float32';
    if (packedCall(attrs)) {
      table.outputs.forEach((list, pos) => {
        if (list !== null && packed(pos)) for (const t of list) fresh.set(t.dataId, new Int32Array(t.size));
      });
    }
    writeOnCpu(
      b,
      written.filter((t) => !fresh.has(t.dataId)),
      (target) =>
        runCall(attrs, {
          sizes: table.sizes,
          inputs,
          outputs: table.outputs.map((list, pos) => (list === null ? null : list.map((t) => (packed(pos) ? fresh.get(t.dataId)! : target(t))))),
        }),
    );
    for (const [dataId, values] of fresh) (b.data.get(dataId) as unknown as { values: Int32Array }).values = values;
    return true;
  },
  sumOfSquares: (leaves) => sumOfSquaresOf(leaves.map((t) => cpuValues(active(), t.dataId))),
  readScalar: (t) => cpuValues(active(), t.dataId)[0],
  fill: (tensors, value) => {
    writeOnCpu(active(), tensors, (target) => {
      for (const t of tensors) target(t).fill(value);
    });
    return true;
  },
};
