import { isMask, valueLayout, type Program, type ProgramNode } from '../program.js';

/**
 * Compiles an element-wise {@link Program} to WGSL compute shaders for tfjs's webgpu backend:
 * one invocation per element, reading the program's inputs from storage buffers and writing its
 * outputs to storage buffers, each at its own element offset (a leaf's segment of a flat state
 * slot), with the per-step scalars, the program's constants and the length in uniforms.
 *
 * Every operation is written as tfjs-backend-webgpu writes the op it stands for
 * (binary_op_util.js, unary_op_util.js, select_webgpu.js in tfjs 4.22), so a kernel computes,
 * bit for bit, what the composite path's tf ops compute on that backend:
 * - `+ - * /`, `sqrt`, `inverseSqrt` (rsqrt), `abs` and negation are the WGSL operators and
 *   builtins;
 * - `max` and `min` give NaN (tfjs's uniform NaN, the float32 JS NaN) when either operand is
 *   NaN, and WGSL's `max` / `min` of the operands otherwise;
 * - a comparison makes tfjs's bool tensor value, `select(sign(a) * 0 + 0, sign(b) * 0 + 1, a < b)`
 *   converted to i32, and `where` takes the branch `a` when that value, as f32, is at least 1
 *   (so a comparison with a NaN operand is whatever tfjs makes of it, not IEEE's `false`);
 * - constants live in the uniform buffer, as tfjs's scalar tensors live in buffers: a literal
 *   NaN or infinity is not valid WGSL, and a literal could be folded where a tensor is not.
 *
 * Two forms of each shader: the vector form computes four consecutive elements per invocation in
 * vec4 lanes, loading and storing vec4s (SwiftShader, and GPUs, pay per access and per
 * invocation: this is 4-5x faster than one element per invocation); it needs every buffer's
 * element offset to be a multiple of 4 and covers `4 * floor(n / 4)` elements. The scalar form
 * computes the rest (the last `n % 4` elements, or a whole leaf at an unaligned offset), one
 * element per invocation. The lanes compute exactly what the scalar form computes, as tfjs's
 * own vec4 and scalar kernels do.
 *
 * Buffers. The program's inputs and outputs are "refs" `0 .. I+O-1` (inputs, then outputs), and
 * `I+O` for a device scalar (a scalar read from a one-element buffer: the clip factor, which
 * stays on the GPU). Refs that are the same GPU buffer (an output written over its input in the
 * in-place step; or two inputs of one tensor) share one binding, read_write if any of them is
 * written: WebGPU forbids binding a buffer twice in one dispatch when one binding is writable.
 * Each ref has its own element offset in the leaf record, so two segments of one buffer work.
 */

/** Threads per workgroup (one element, or one vec4 of elements, each). */
export const WORKGROUP_SIZE = 64;

/** The vector form (4 elements per invocation, vec4 buffers) or the scalar form of a shader. */
export type ShaderForm = 'vector' | 'scalar';

/** How the refs of one leaf map to buffers, and what the device allows. */
export interface BufferLayout {
  /**
   * For each ref (inputs, outputs, then the device scalar if any), the first ref that is the
   * same buffer (itself when none before it is). Refs of one buffer share a binding.
   */
  same: readonly number[];
  /** The scalar read from the device-scalar buffer (ref `I+O`), if any. */
  deviceScalar?: number;
  /** The most storage buffers one shader may bind (the device's maxStorageBuffersPerShaderStage). */
  maxStorageBuffers: number;
  /** The vector form (every ref's element offset a multiple of 4) or the scalar one. Default scalar. */
  form?: ShaderForm;
  /**
   * How many leaves one dispatch computes (default 1): `same` then lists every leaf's refs in
   * turn (leaf k's ref r at `k * R + r`), and their records follow each other in the uniform
   * buffer `recordStride` words apart.
   */
  leaves?: number;
  recordStride?: number;
}

/** One dispatch of a program: its shader and what to bind. */
export interface WgslShader {
  code: string;
  /** Identifies the shader (for caching pipelines). */
  key: string;
  /** Whether binding 0 (the values uniform) is used. */
  usesValues: boolean;
  /** Per storage binding (2, 3, ...): the ref (of the layout's `same`) whose buffer is bound there. */
  bindings: number[];
  /**
   * A packed program's shader (packed-wgsl.ts): its storage bindings start at 3, binding 2 is the
   * int8 tables' uniform when `usesTables`.
   */
  packed?: { usesTables: boolean };
}

/**
 * Words in a leaf record: the length, the first element of the scalar form, then one element
 * offset per ref (rounded up to vec4s).
 */
export function recordWords(p: Program): number {
  return 4 * Math.ceil((2 + p.inputs + p.outputs.length + 1) / 4);
}

/**
 * The shaders that run `p` over the leaves laid out as `layout`. One leaf: one shader, unless
 * its buffers exceed the device's storage-buffer limit; then the outputs are split among
 * several shaders, each recomputing what it needs. Several leaves (one dispatch for all): one
 * shader. `null` when no plan works: one output alone (or the leaves together) needs too many
 * buffers, or (in place) a later shader would read a buffer an earlier one has written.
 */
export function shadersFor(p: Program, layout: BufferLayout): WgslShader[] | null {
  const O = p.outputs.length;
  const K = layout.leaves ?? 1;
  const R = layout.same.length / K;
  const reads = p.outputs.map((node) => readsOf(p, [node], layout));
  /** How many buffers computing `outputs` in every slot binds. */
  const buffers = (outputs: readonly number[]) => {
    const set = new Set<number>();
    for (let k = 0; k < K; k++) {
      for (const o of outputs) {
        for (const r of reads[o]) set.add(layout.same[k * R + r]);
        set.add(layout.same[k * R + p.inputs + o]);
      }
    }
    return set.size;
  };
  const all = p.outputs.map((_, o) => o);
  if (K > 1) return buffers(all) <= layout.maxStorageBuffers ? [shaderOf(p, layout, all)] : null;
  const groups: number[][] = [];
  for (let o = 0; o < O; o++) {
    const current = groups[groups.length - 1];
    if (current !== undefined && buffers([...current, o]) <= layout.maxStorageBuffers) current.push(o);
    else if (buffers([o]) <= layout.maxStorageBuffers) groups.push([o]);
    else return null;
  }
  // In place, a shader must not read a buffer an earlier shader has written.
  const written = new Set<number>();
  for (const group of groups) {
    for (const o of group) for (const r of reads[o]) if (written.has(layout.same[r])) return null;
    for (const o of group) written.add(layout.same[p.inputs + o]);
  }
  return groups.map((group) => shaderOf(p, layout, group));
}

/** The refs of one leaf (inputs, and the device scalar) that computing the nodes `roots` reads. */
function readsOf(p: Program, roots: readonly number[], layout: BufferLayout): number[] {
  const needed = neededNodes(p, roots);
  const refs: number[] = [];
  p.nodes.forEach((node, k) => {
    if (!needed[k]) return;
    if (node.op === 'input') refs.push(node.index);
    if (node.op === 'scalar' && node.index === layout.deviceScalar) refs.push(p.inputs + p.outputs.length);
  });
  return refs;
}

export function neededNodes(p: Program, roots: readonly number[]): boolean[] {
  const needed = p.nodes.map(() => false);
  for (const r of roots) needed[r] = true;
  for (let k = p.nodes.length - 1; k >= 0; k--) {
    const node = p.nodes[k];
    if (needed[k] && 'args' in node) for (const a of node.args) needed[a] = true;
  }
  return needed;
}

const LANES = ['x', 'y', 'z', 'w'];

/** `name[i / 4].xyzw[i % 4]`: element i of an array of vec4s. */
export function lane(name: string, i: number): string {
  return `${name}[${i >> 2}].${LANES[i & 3]}`;
}

/**
 * The shader computing outputs `outputs` of `p` for each of the layout's leaves: the dispatch's
 * invocations are dealt out to the leaves in order, each leaf's count read from its record.
 */
function shaderOf(p: Program, layout: BufferLayout, outputs: readonly number[]): WgslShader {
  const I = p.inputs;
  const O = p.outputs.length;
  const K = layout.leaves ?? 1;
  const R = layout.same.length / K;
  const stride = K > 1 ? layout.recordStride! : 0;
  const vector = layout.form === 'vector';
  const T = vector ? 'vec4<f32>' : 'f32';
  const values = valueLayout(p);
  const roots = outputs.map((o) => p.outputs[o]);
  const needed = neededNodes(p, roots);
  const leafRefs = [...readsOf(p, roots, layout), ...outputs.map((o) => I + o)];
  // One binding per buffer, in the order the refs (leaf by leaf) first name it.
  const bindings: number[] = [];
  const bindingOf = new Map<number, number>();
  for (let k = 0; k < K; k++) {
    for (const r of leafRefs) {
      const buffer = layout.same[k * R + r];
      if (!bindingOf.has(buffer)) {
        bindingOf.set(buffer, bindings.length);
        bindings.push(k * R + r);
      }
    }
  }
  const written = new Set<number>();
  for (let k = 0; k < K; k++) for (const o of outputs) written.add(layout.same[k * R + I + o]);
  const writable = bindings.map((ref) => written.has(layout.same[ref]));
  // The device scalar's buffer holds one float whatever the form.
  const elementType = (ref: number) => (vector && ref % R !== I + O ? 'vec4<f32>' : 'f32');

  let usesValues = false;
  const value = (i: number) => {
    usesValues = true;
    return lane('values.v', i);
  };
  const nan = () => value(values.count - 1);
  /** Word `w` of leaf `k`'s record. */
  const word = (k: number, w: number) => lane('leaf.r', k * stride + w);
  const body: string[] = [];
  for (let k = 0; k < K; k++) {
    const buffer = (ref: number) => `b${bindingOf.get(layout.same[k * R + ref])}`;
    const offset = (ref: number) => word(k, 2 + ref);
    // Element i of a buffer, or (vector form) its vec4 i.
    const at = (ref: number) => (vector ? `${buffer(ref)}[(${offset(ref)} >> 2u) + i]` : `${buffer(ref)}[${offset(ref)} + i]`);
    const loads: string[] = [];
    const math: string[] = [];
    p.nodes.forEach((node, n) => {
      if (!needed[n]) return;
      const x = `x${n}`;
      if (node.op === 'input') loads.push(`let ${x} = ${at(node.index)};`);
      else if (node.op === 'scalar') {
        const device = node.index === layout.deviceScalar;
        math.push(`let ${x} = ${T}(${device ? `${buffer(I + O)}[${offset(I + O)}]` : value(node.index)});`);
      } else if (node.op === 'const') math.push(`let ${x} = ${T}(${value(values.constAt[n])});`);
      else math.push(`let ${x} = ${expression(node, nan)};`);
    });
    const stores = outputs.map((o) => `${at(I + o)} = x${p.outputs[o]};`);
    body.push(
      `  // leaf ${k}`,
      `  count = ${vector ? `${word(k, 0)} >> 2u` : `${word(k, 0)} - ${word(k, 1)}`};`,
      '  if (index < first + count) {',
      `    let i = ${vector ? '' : `${word(k, 1)} + `}index - first;`,
      // Every load before any store: an output may be written over an input.
      ...[...loads, ...math, ...stores].map((line) => `    ${line}`),
      '    return;',
      '  }',
      '  first = first + count;',
    );
  }

  const recordVectors = (K - 1) * (stride / 4) + recordWords(p) / 4;
  const declarations = [
    ...(usesValues ? [`struct Values { v: array<vec4<f32>, ${Math.ceil(values.count / 4)}> };`, '@group(0) @binding(0) var<uniform> values: Values;'] : []),
    `struct Leaf { r: array<vec4<u32>, ${recordVectors}> };`,
    '@group(0) @binding(1) var<uniform> leaf: Leaf;',
    ...bindings.map((ref, b) => `@group(0) @binding(${2 + b}) var<storage, ${writable[b] ? 'read_write' : 'read'}> b${b}: array<${elementType(ref)}>;`),
  ];
  const code = [
    ...declarations,
    helpers(vector),
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    `  let index = (wid.y * groups.x + wid.x) * ${WORKGROUP_SIZE}u + lid;`,
    '  var first = 0u;',
    '  var count = 0u;',
    ...body,
    '}',
  ].join('\n');
  return { code, key: code, usesValues, bindings };
}

/**
 * What tfjs-backend-webgpu's ops compute (see the header), on f32 or (vector form) on vec4<f32>
 * lane by lane: NaN as tfjs tests it (by its bits), its max and min with their NaN rule, and its
 * comparison value read as where's condition.
 */
export function helpers(vector: boolean): string {
  const [T, U, I, B] = vector ? ['vec4<f32>', 'vec4<u32>', 'vec4<i32>', 'vec4<bool>'] : ['f32', 'u32', 'i32', 'bool'];
  const extreme = (fn: 'max' | 'min') => `
fn ${fn}_nan(a: ${T}, b: ${T}, nan: f32) -> ${T} {
  let an = is_nan(a);
  let bn = is_nan(b);
  return select(${fn}(select(a, ${T}(42.0), an), select(b, ${T}(42.0), bn)), ${T}(nan), an | bn);
}`;
  return `
fn is_nan(x: ${T}) -> ${B} { return (bitcast<${U}>(x) & ${U}(0x7fffffffu)) > ${U}(0x7f800000u); }${extreme('max')}${extreme('min')}
fn condition(a: ${T}, b: ${T}, holds: ${B}) -> ${B} {
  return ${T}(${I}(select(sign(a) * 0.0 + 0.0, sign(b) * 0.0 + 1.0, holds))) >= ${T}(1.0);
}`;
}

const COMPARISONS: Record<string, string> = { lt: '<', gt: '>', le: '<=', ge: '>=', eq: '==' };
const ARITHMETIC: Record<string, string> = { add: '+', sub: '-', mul: '*', div: '/' };

export function expression(node: Exclude<ProgramNode, { op: 'input' | 'scalar' | 'const' }>, nan: () => string): string {
  const [a, b, c] = node.args.map((x) => `x${x}`);
  if (node.op in ARITHMETIC) return `${a} ${ARITHMETIC[node.op]} ${b}`;
  if (isMask(node)) return `condition(${a}, ${b}, ${a} ${COMPARISONS[node.op]} ${b})`;
  switch (node.op) {
    case 'sqrt':
      return `sqrt(${a})`;
    // tfjs-backend-webgpu's RSQRT: the builtin, whatever its rounding on the device.
    case 'rsqrt':
      return `inverseSqrt(${a})`;
    case 'abs':
      return `abs(${a})`;
    case 'neg':
      return `-${a}`;
    case 'max':
      return `max_nan(${a}, ${b}, ${nan()})`;
    case 'min':
      return `min_nan(${a}, ${b}, ${nan()})`;
    case 'where':
      return `select(${c}, ${b}, ${a})`;
    default:
      throw new Error(`tfjs-optax: no WGSL for program operation ${node.op}`);
  }
}
