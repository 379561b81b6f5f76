import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { setKernelMode, type KernelMode, type Params } from '../../src/index.js';
import { type Ctx, type Entry, labelOf, Recipe, recipeArb, REGISTRY } from './registry.js';
import { type Spec, Tree, treeArb } from './trees.js';

// What the property suites share: fast-check's settings, a case (a recipe, a tree and the seed
// of its values), and ways to read, snapshot and compare trees and states.

/** FNV-1a: a 32-bit hash of a property's name, its default seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * fast-check's parameters for the property named `name`, run `numRuns` times by default.
 * - The seed is fixed per property (a hash of its name), so CI sees the same cases on every run
 *   and a failure is never a flake; FC_SEED=random draws fresh cases (deeper local runs), and
 *   FC_SEED=<n> with FC_PATH=<path> replays the counterexample a failure printed (the seed and
 *   path are printed with it).
 * - FC_NUM_RUNS overrides the number of runs of every property.
 * - Shrinking stops after FC_TIME_LIMIT ms (5 s by default) per property, so that a failure
 *   cannot blow the suite's time budget; the smallest counterexample found by then is reported.
 */
export function fcParams<T>(numRuns: number, name: string, examples: T[] = []): fc.Parameters<T> {
  const env = process.env;
  const entry = REGISTRY.find((e) => name.endsWith(`/${labelOf(e)}`));
  if (entry?.runs !== undefined) numRuns = Math.max(1, Math.round(numRuns * entry.runs));
  const seed = env.FC_SEED === 'random' ? undefined : env.FC_SEED ? Number(env.FC_SEED) : hash(name);
  return {
    numRuns: env.FC_NUM_RUNS ? Number(env.FC_NUM_RUNS) : numRuns,
    ...(seed !== undefined ? { seed } : {}),
    ...(env.FC_PATH ? { path: env.FC_PATH } : {}),
    plugins: [fc.interruptAfterTimeLimit(Number(env.FC_TIME_LIMIT ?? 5_000))],
    // Regression examples (the minimal counterexamples of bugs found) run first, unless replaying.
    ...(examples.length > 0 && !env.FC_PATH ? { examples } : {}),
  };
}

/** The property running now, and the one that crashed the wasm backend, if one did. */
let running = '';
let crashedBy: string | undefined;

const isWasmCrash = (e: unknown) =>
  e instanceof WebAssembly.RuntimeError || /memory access out of bounds|Aborted\(/.test(String((e as Error)?.message));

/**
 * `fc.assert` for the property suites, guarded against a crash of the wasm backend (a
 * RuntimeError such as "memory access out of bounds" from inside tfjs-backend-wasm, whose heap is
 * then corrupt, so that any later tensor operation may fail or hang): the crashing run is
 * reported as it is, without shrinking on a corrupt heap (see {@link guarded}), and the backend
 * is started afresh before the next test (see {@link suiteHooks}), so that one crash does not
 * hide the results of the properties after it.
 */
export function assertProperty<T extends unknown[]>(label: string, property: fc.IProperty<T>, params: fc.Parameters<T>): void {
  if (crashedBy !== undefined) {
    throw new Error(`not run: the wasm backend crashed in ${crashedBy} and could not be restarted`);
  }
  running = label;
  fc.assert(property, params);
}

/** Wraps a property's predicate: after a wasm crash it passes without running (see {@link assertProperty}). */
export function guarded<A extends unknown[]>(predicate: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    if (crashedBy !== undefined) return;
    try {
      predicate(...args);
    } catch (error) {
      if (!isWasmCrash(error)) throw error;
      crashedBy = running;
      throw new Error(`the wasm backend crashed (${(error as Error).message}); the heap may have been corrupted by this run or an earlier one of this property`, { cause: error });
    }
  };
}

/** A new wasm backend (a new module instance and heap), replacing one that crashed. */
async function restartWasm(): Promise<void> {
  const factory = tf.findBackendFactory('wasm');
  if (!factory) return;
  // Freeing the crashed module's memory would trap again: it is dropped as it is.
  const registry = (tf.engine() as unknown as { registry: Record<string, { dispose: () => void }> }).registry;
  if (registry.wasm) registry.wasm.dispose = () => {};
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, 2);
  if (await tf.setBackend('wasm')) crashedBy = undefined;
}

/**
 * Hooks every property file installs: the suite's kernel mode around the file (a failing property
 * must not leave another mode behind), and a fresh wasm backend before a test when the one before
 * crashed it.
 */
export function suiteHooks(): void {
  beforeAll(() => setKernelMode(suiteMode()));
  afterAll(() => setKernelMode(suiteMode()));
  beforeEach(async () => {
    if (crashedBy !== undefined && tf.getBackend() === 'wasm') await restartWasm();
  });
  // A corrupt heap does not always fail at once: a few allocations of assorted sizes after each
  // test pin a crash on the test that caused it rather than on the next one.
  afterEach(() => {
    if (crashedBy !== undefined || tf.getBackend() !== 'wasm') return;
    try {
      tf.tidy(() => [1, 7, 64, 1000, 20_000].forEach((n) => tf.add(tf.ones([n]), tf.scalar(1)).dataSync()));
    } catch (error) {
      if (!isWasmCrash(error)) throw error;
      crashedBy = running;
      throw new Error(`the wasm backend's heap is corrupt after this test (${(error as Error).message}): one of its runs corrupted it`);
    }
  });
}

/** One generated case: a transformation, the tree it sees and the seed of the values. */
export interface Case {
  recipe: Recipe;
  tree: Tree;
  seed: number;
}

/** A case by hand, for regression examples: the recipe, the tree's spec and the seed of its values. */
export function caseOf(recipe: Recipe, spec: Spec, seed = 0): Case {
  return { recipe, tree: new Tree(spec), seed };
}

export function caseArb(entry: Entry): fc.Arbitrary<Case> {
  return fc.record({ recipe: recipeArb(entry), tree: treeArb, seed: fc.nat({ max: 999_999 }) });
}

export const ctxOf = (tree: Tree): Ctx => ({ leafCount: tree.shapes.length });

export { inMode } from '../helpers.js';

/** The kernel mode the run was started in (TFJS_KERNELS=composite sets 'composite' in setup.ts). */
export function suiteMode(): KernelMode {
  return process.env.TFJS_KERNELS === 'composite' ? 'composite' : 'auto';
}

// ---------------------------------------------------------------------------------------------
// Reading trees and states

/** Every tensor in a tree, a state, or any nesting of arrays and plain objects (sorted keys). */
export function tensorsIn(value: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (value instanceof tf.Tensor) out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => tensorsIn(v, out));
  else if (value !== null && typeof value === 'object') for (const k of Object.keys(value).sort()) tensorsIn((value as Record<string, unknown>)[k], out);
  return out;
}

/**
 * A copy of a tree or state: tensors become `{ shape, dtype, values }` (values copied out, as
 * float64 numbers; integer-packed states are compared as their integers), JS numbers, booleans and
 * strings stay, functions become `'fn'`. Two snapshots are compared by {@link compareSnapshots}.
 */
export type Snap = { tensor: true; shape: number[]; dtype: string; values: number[] } | number | string | boolean | null | undefined | Snap[] | { [k: string]: Snap };

export function snapshot(value: unknown): Snap {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) return { tensor: true, shape: value.shape, dtype: value.dtype, values: [NaN], disposed: true } as never;
    return { tensor: true, shape: value.shape.slice(), dtype: value.dtype, values: Array.from(value.dataSync() as ArrayLike<number>) };
  }
  if (Array.isArray(value)) return value.map(snapshot);
  if (typeof value === 'function') return 'fn';
  if (value !== null && typeof value === 'object') {
    const out: Record<string, Snap> = {};
    for (const k of Object.keys(value).sort()) out[k] = snapshot((value as Record<string, unknown>)[k]);
    return out;
  }
  return value as Snap;
}

const isTensorSnap = (s: Snap): s is { tensor: true; shape: number[]; dtype: string; values: number[] } =>
  s !== null && typeof s === 'object' && !Array.isArray(s) && (s as { tensor?: unknown }).tensor === true;

/**
 * How far apart two numbers at the same place may be: `(a, b, leafScale) => ok`. `exact` wants
 * the same float32 (NaN equal to NaN, 0 equal to -0).
 */
export type Closeness = (a: number, b: number, scale: number) => boolean;

export const exact: Closeness = (a, b) => (Number.isNaN(a) && Number.isNaN(b)) || a === b;

/**
 * Compares two snapshots: the same structure, shapes and dtypes, and every number close by
 * `close`, given the largest magnitude in the leaf as its scale. Returns the first difference
 * found, described with its path, or `undefined`.
 */
export function compareSnapshots(a: Snap, b: Snap, close: Closeness = exact, path = '(root)'): string | undefined {
  if (isTensorSnap(a) || isTensorSnap(b)) {
    if (!isTensorSnap(a) || !isTensorSnap(b)) return `${path}: a tensor on one side only`;
    if ((a as { disposed?: boolean }).disposed || (b as { disposed?: boolean }).disposed) return `${path}: a disposed tensor`;
    if (a.shape.join() !== b.shape.join() || a.dtype !== b.dtype) return `${path}: ${a.dtype}[${a.shape}] vs ${b.dtype}[${b.shape}]`;
    let scale = 0;
    for (const v of [...a.values, ...b.values]) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < a.values.length; i++) {
      if (!close(a.values[i], b.values[i], scale)) return `${path}[${i}]: ${a.values[i]} vs ${b.values[i]} (leaf scale ${scale.toPrecision(3)})`;
    }
    return undefined;
  }
  if (typeof a === 'number' || typeof b === 'number') {
    if (typeof a !== 'number' || typeof b !== 'number') return `${path}: ${String(a)} vs ${String(b)}`;
    return close(a, b, Math.max(Math.abs(a), Math.abs(b))) ? undefined : `${path}: ${a} vs ${b}`;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return `${path}: array lengths differ`;
    for (let i = 0; i < a.length; i++) {
      const d = compareSnapshots(a[i], b[i], close, `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.join() !== kb.join()) return `${path}: keys {${ka}} vs {${kb}}`;
    for (const k of ka) {
      const d = compareSnapshots((a as Record<string, Snap>)[k], (b as Record<string, Snap>)[k], close, `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: ${String(a)} vs ${String(b)}`;
}

/** Throws with `what` and the difference, if there is one. */
export function expectSame(what: string, a: Snap, b: Snap, close: Closeness = exact): void {
  const d = compareSnapshots(a, b, close);
  if (d !== undefined) throw new Error(`${what}: ${d}`);
}

/** Disposes every tensor of `values` not in `keep` (each once). */
export function disposeAllBut(values: unknown, keep: unknown = []): void {
  const kept = new Set(tensorsIn(keep));
  for (const t of new Set(tensorsIn(values))) if (!kept.has(t) && !t.isDisposed) t.dispose();
}

/** Builds the tree's params (step 0) and gradients (steps 1, 2, ...). */
export const paramsOf = (c: Case): Params => c.tree.build(c.seed, 0);
export const gradsOf = (c: Case, step: number): Params => c.tree.build(c.seed, step + 1);
