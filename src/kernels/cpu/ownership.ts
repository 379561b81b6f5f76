/**
 * Which of the cpu backend's arrays the library may overwrite.
 *
 * tfjs-backend-cpu keeps each tensor's values as a typed array in a table (`backend.data`) and
 * shares arrays without counting the sharing: `tf.tensor(values)` keeps the caller's array,
 * `dataSync()` and `data()` return the backend's own array, two tensors made from one array
 * share it, and `tf.slice` (so `tf.split`, `tf.unstack`) stores a `subarray` view of its input.
 * The backend's `refCount` counts only tensors sharing one data id. A write into an array can
 * therefore change memory that someone else holds, and the refCount cannot tell.
 *
 * So the library overwrites only arrays it can prove private: arrays it allocated itself (its
 * kernels' outputs and the new arrays of an in-place step) that have not been handed out since.
 * tfjs-backend-cpu 4.x hands an array out in exactly these ways, each watched here on the backend
 * instance: `readSync` (under `dataSync`, `data`, `array`, `buffer`, `print`, moving data to
 * another backend) returns it, and `write` / `move` (under `tf.tensor`, `makeTensorInfo`, and
 * so `tf.slice`'s views) store it, or a view of it, under another data id. Its kernels read their
 * inputs from the table and keep no reference. An array seen leaving is no longer private; the
 * step after that writes the tensor's new values into a new array (which is private again) and
 * installs it in the table, leaving the old one, and whoever holds it, untouched.
 *
 * The watch is bookkeeping only: the wrapped methods return what the backend's own return.
 */

/** The parts of tfjs's cpu backend used here (tfjs-backend-cpu 4.x). */
export interface CpuBackendLike {
  readSync(dataId: object): Float32Array;
  write(values: unknown, shape: number[], dtype: string): object;
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  data: { get(dataId: object): { values: Float32Array } | undefined };
}

/** The buffers of arrays the library allocated and has not seen handed out. */
const privateBuffers = new WeakSet<ArrayBufferLike>();
/** Backends whose hand-outs are watched. */
const watched = new WeakSet<object>();

/** Forgets the privacy of `values`' buffer, if it is a typed array. */
function handedOut(values: unknown): void {
  if (ArrayBuffer.isView(values)) privateBuffers.delete(values.buffer);
}

/**
 * Starts watching `b`'s hand-outs (once per backend). `false` when `b` is not shaped as
 * tfjs-backend-cpu 4.x is: then no array is ever private, and every step writes new arrays.
 */
export function watchCpuBackend(b: CpuBackendLike): boolean {
  if (watched.has(b)) return true;
  if (typeof b.readSync !== 'function' || typeof b.write !== 'function' || typeof b.move !== 'function' || typeof b.data?.get !== 'function') {
    return false;
  }
  const { readSync, write, move } = b;
  b.readSync = function (this: CpuBackendLike, ...args: Parameters<CpuBackendLike['readSync']>) {
    const values = readSync.apply(this, args);
    handedOut(values);
    return values;
  };
  b.write = function (this: CpuBackendLike, ...args: Parameters<CpuBackendLike['write']>) {
    handedOut(args[0]);
    return write.apply(this, args);
  };
  b.move = function (this: CpuBackendLike, ...args: Parameters<CpuBackendLike['move']>) {
    handedOut(args[1]);
    return move.apply(this, args);
  };
  watched.add(b);
  return true;
}

/** A new array of `size` zeros that the library may overwrite until it is handed out. */
export function privateArray(size: number): Float32Array {
  const values = new Float32Array(size);
  privateBuffers.add(values.buffer);
  return values;
}

/** Marks an array the library allocated (a kernel output) as private. */
export function claim(values: Float32Array): void {
  privateBuffers.add(values.buffer);
}

/** The values of `dataId` as the backend holds them, read without handing them out. */
export function cpuValues(b: CpuBackendLike, dataId: object): Float32Array {
  const entry = b.data.get(dataId);
  if (entry === undefined) throw new Error('tfjs-optax: a tensor has no data on the cpu backend (disposed, or on another backend)');
  return entry.values;
}

/**
 * Whether the library may overwrite the values of `dataId` on a watched backend: a whole
 * float32 array it allocated, not handed out since. (The caller checks that no other tensor
 * shares the data id.)
 */
export function isPrivate(b: CpuBackendLike, dataId: object): boolean {
  if (!watched.has(b)) return false;
  const values = b.data.get(dataId)?.values;
  return (
    values instanceof Float32Array && values.byteOffset === 0 && values.byteLength === values.buffer.byteLength && privateBuffers.has(values.buffer)
  );
}

/**
 * An in-place step on the cpu backend: `compute` writes each written tensor's new values into
 * `target(t)` (the tensor's own array where it is private, else a new private array; or the
 * segment of it), and the new arrays are then installed in the backend's table. The tensors keep
 * their identity and data ids; any array that was not private keeps its old values.
 */
export function writeOnCpu<T extends { dataId: object; size: number }>(
  b: CpuBackendLike,
  written: readonly T[],
  compute: (target: (t: { dataId: object; size: number; elementOffset?: number }) => Float32Array) => void,
): void {
  watchCpuBackend(b);
  const targets = new Map<object, Float32Array>();
  const installed: Array<[object, Float32Array]> = [];
  for (const t of written) {
    if (targets.has(t.dataId)) continue;
    if (isPrivate(b, t.dataId)) {
      targets.set(t.dataId, cpuValues(b, t.dataId));
    } else {
      const fresh = privateArray(t.size);
      targets.set(t.dataId, fresh);
      installed.push([t.dataId, fresh]);
    }
  }
  compute((t) => {
    const array = targets.get(t.dataId)!;
    return t.elementOffset === undefined ? array : array.subarray(t.elementOffset, t.elementOffset + t.size);
  });
  for (const [dataId, values] of installed) b.data.get(dataId)!.values = values;
}
