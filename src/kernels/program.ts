/**
 * Element-wise programs: the math of one optimizer step for one element, as a list of float32
 * operations, from which each backend's fused kernel is generated (WebAssembly SIMD for the wasm
 * backend, and for the cpu backend's arrays streamed through it in tiles; JavaScript loops where
 * WebAssembly SIMD is missing; WGSL and GLSL on the GPU backends). A transformation describes its step once, as
 * a function of the operations of {@link Ops}; run over tfjs tensors that function is the
 * composite path, run over a {@link ProgramBuilder} it records the program. Each operation
 * rounds to float32, as a tfjs op does, so a kernel computes what the tf ops compute, in the
 * same order.
 */
import { float32Bits, type Ops } from '../internal/ops.js';

/** The operations of a program. Comparisons give masks, which only `where` takes. */
export type OpName =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'neg'
  | 'max'
  | 'min'
  | 'lt'
  | 'gt'
  | 'le'
  | 'ge'
  | 'eq'
  | 'where';

/** One node of a program: an input, a per-step scalar, a constant or an operation. */
export type ProgramNode =
  | { op: 'input'; index: number }
  | { op: 'scalar'; index: number }
  | { op: 'const'; value: number }
  | { op: OpName; args: readonly number[] };

/** A program: nodes in evaluation order (arguments come before their users), and outputs. */
export interface Program {
  readonly nodes: readonly ProgramNode[];
  /** How many per-element inputs (buffers) it reads. */
  readonly inputs: number;
  /** How many per-step scalars it reads. */
  readonly scalars: number;
  /** The nodes written to the output buffers, in order. */
  readonly outputs: readonly number[];
}

/** Which nodes give masks (comparisons) rather than float32 values. */
export function isMask(node: ProgramNode): boolean {
  return node.op === 'lt' || node.op === 'gt' || node.op === 'le' || node.op === 'ge' || node.op === 'eq';
}

/** Records a program through the {@link Ops} interface; values are node indices. */
export class ProgramBuilder implements Ops<number> {
  private readonly nodes: ProgramNode[] = [];
  private readonly consts = new Map<number, number>();
  private inputCount = 0;
  private scalarCount = 0;

  /** A new per-element input; inputs are numbered in the order they are made. */
  input(): number {
    return this.push({ op: 'input', index: this.inputCount++ });
  }

  /** A new per-step scalar; scalars are numbered in the order they are made. */
  scalar(): number {
    return this.push({ op: 'scalar', index: this.scalarCount++ });
  }

  constant(value: number): number {
    // One node per float32 bit pattern (0 and -0 differ).
    const bits = float32Bits(value);
    let node = this.consts.get(bits);
    if (node === undefined) {
      node = this.push({ op: 'const', value: Math.fround(value) });
      this.consts.set(bits, node);
    }
    return node;
  }

  add(a: number, b: number): number {
    return this.op('add', a, b);
  }
  sub(a: number, b: number): number {
    return this.op('sub', a, b);
  }
  mul(a: number, b: number): number {
    return this.op('mul', a, b);
  }
  div(a: number, b: number): number {
    return this.op('div', a, b);
  }
  square(a: number): number {
    return this.op('mul', a, a);
  }
  sqrt(a: number): number {
    return this.op('sqrt', a);
  }
  rsqrt(a: number): number {
    return this.op('rsqrt', a);
  }
  abs(a: number): number {
    return this.op('abs', a);
  }
  neg(a: number): number {
    return this.op('neg', a);
  }
  max(a: number, b: number): number {
    return this.op('max', a, b);
  }
  min(a: number, b: number): number {
    return this.op('min', a, b);
  }
  lt(a: number, b: number): number {
    return this.op('lt', a, b);
  }
  gt(a: number, b: number): number {
    return this.op('gt', a, b);
  }
  le(a: number, b: number): number {
    return this.op('le', a, b);
  }
  ge(a: number, b: number): number {
    return this.op('ge', a, b);
  }
  eq(a: number, b: number): number {
    return this.op('eq', a, b);
  }
  where(mask: number, a: number, b: number): number {
    if (!isMask(this.nodes[mask])) throw new Error('tfjs-optax: where() needs a comparison as its mask');
    return this.op('where', mask, a, b);
  }
  keep(x: number): number {
    return x;
  }
  copy(x: number): number {
    return x;
  }

  /** The program computing `outputs`; nodes no output depends on are dropped. */
  build(outputs: readonly number[]): Program {
    for (const o of outputs) {
      if (isMask(this.nodes[o])) throw new Error('tfjs-optax: a program output must be a value, not a mask');
    }
    const used = new Array<boolean>(this.nodes.length).fill(false);
    for (const o of outputs) used[o] = true;
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      if (used[i] && 'args' in node) for (const a of node.args) used[a] = true;
    }
    // Inputs and scalars keep their numbers even when unused, so callers can pass them all.
    const renumber = new Array<number>(this.nodes.length).fill(-1);
    const nodes: ProgramNode[] = [];
    this.nodes.forEach((node, i) => {
      if (!used[i] && node.op !== 'input' && node.op !== 'scalar') return;
      renumber[i] = nodes.length;
      nodes.push('args' in node ? { op: node.op, args: node.args.map((a) => renumber[a]) } : node);
    });
    return { nodes, inputs: this.inputCount, scalars: this.scalarCount, outputs: outputs.map((o) => renumber[o]) };
  }

  private op(op: OpName, ...args: number[]): number {
    for (const a of args) {
      if (!Number.isInteger(a) || a < 0 || a >= this.nodes.length) throw new Error(`tfjs-optax: ${op}() got an unknown value`);
    }
    const maskArgs = op === 'where' ? [false, true, true] : args.map(() => true);
    args.forEach((a, k) => {
      if (maskArgs[k] && isMask(this.nodes[a])) throw new Error(`tfjs-optax: ${op}() got a mask where a value belongs`);
    });
    return this.push({ op, args });
  }

  private push(node: ProgramNode): number {
    this.nodes.push(node);
    return this.nodes.length - 1;
  }
}

/** A string that identifies a program's structure (for caching compiled kernels). */
export function programKey(p: Program): string {
  const nodes = p.nodes.map((n) => ('args' in n ? `${n.op}(${n.args.join(',')})` : n.op === 'const' ? `c${float32Bits(n.value)}` : `${n.op[0]}${n.index}`));
  return `${p.inputs};${p.scalars};${nodes.join(' ')};${p.outputs.join(',')}`;
}

/** Program keys, computed once per program object (made on first use: no module side effect). */
let keys: WeakMap<Program, string> | undefined;

/** {@link programKey}, computed once per program object (kernel caches look it up every call). */
export function cachedProgramKey(p: Program): string {
  keys ??= new WeakMap();
  let key = keys.get(p);
  if (key === undefined) {
    key = programKey(p);
    keys.set(p, key);
  }
  return key;
}

/**
 * Where one program's uniform values go on the GPU backends (webgpu, webgl), which keep constants
 * in uniforms as tfjs keeps scalar tensors (a literal could be folded where a tensor is not, and
 * NaN or infinity is no literal): scalars, then constants, then NaN, as float32.
 */
export interface ValueLayout {
  /** How many floats (scalars, constants, NaN). */
  count: number;
  /** The values after the scalars: each constant node's value, then NaN. */
  tail: number[];
  /** The index of each const node's value (by node), -1 for other nodes. */
  constAt: number[];
}

/** The uniform values of `p`: its scalars (given per step), its constants and NaN. */
export function valueLayout(p: Program): ValueLayout {
  const constAt = p.nodes.map(() => -1);
  const tail: number[] = [];
  p.nodes.forEach((node, k) => {
    if (node.op === 'const') {
      constAt[k] = p.scalars + tail.length;
      tail.push(node.value);
    }
  });
  tail.push(NaN);
  return { count: p.scalars + tail.length, tail, constAt };
}
