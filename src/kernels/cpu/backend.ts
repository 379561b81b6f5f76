import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from '../backend.js';
import { clipScale, inputList, mapTable, outputShapes, sizeOf, tableOf, type FusedAttrs, type KernelData, type KernelTable } from '../layout.js';
import { ProgramTiles } from '../wasm/tiles.js';
import { runProgramLoops } from './compile.js';
import { claim, cpuValues, watchCpuBackend, writeOnCpu, type CpuBackendLike } from './ownership.js';
import { cpuHost } from './packed-host.js';

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
  deviceClip: false,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as FusedAttrs;
    const b = backend as unknown as CpuBackendLike & {
      makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
    };
    const ins = inputList(inputs);
    // The backend keeps the given arrays as the outputs' data, so the kernel writes them there;
    // they are the library's own (ownership.ts) until handed out.
    watchCpuBackend(b);
    const outs = outputShapes(ins, a).map((shape) => {
      const values = new Float32Array(sizeOf(shape));
      const out = b.makeTensorInfo(shape, 'float32', values);
      claim(values);
      return out;
    });
    runOnCpu(a, mapTable(tableOf(a, ins, outs), (t) => cpuView(b, t)));
    return outs;
  },
  mayWriteInPlace: () => true,
  runInPlace: (attrs, table, written) => {
    const b = active();
    const inputs = mapTable(table, (t) => cpuView(b, t)).inputs;
    writeOnCpu(b, written, (target) =>
      runOnCpu(attrs, { sizes: table.sizes, inputs, outputs: table.outputs.map((list) => (list === null ? null : list.map(target))) }),
    );
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
