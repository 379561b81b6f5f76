import { isMask, valueLayout, type Program, type ProgramNode } from '../program.js';

/**
 * Compiles an element-wise {@link Program} to GLSL ES 3.00 fragment shaders for tfjs's webgl
 * backend: one draw computes several of the program's outputs at once (multiple render targets,
 * one `out vec4` per output), for one leaf or several leaves of one shape (each its own inputs
 * and outputs), each fragment one texel of every output.
 *
 * Every operation is written as tfjs-backend-webgl 4.22 writes the op it stands for, in the form
 * the composite path runs (packed, four elements per texel, where tfjs runs it packed), so a
 * kernel computes, bit for bit, what the tf ops compute on that backend:
 * - `+ - *`, `sqrt`, `inversesqrt` (rsqrt, unpacked in tfjs: the same per-lane builtin) and `abs`
 *   are the GLSL operators and builtins;
 * - `div` is `a / b`, except 1 where `a == b` (tfjs's RealDiv, packed: lane by lane);
 * - `neg` keeps a NaN as it is, negates the rest;
 * - `max` and `min` are GLSL's, NaN (tfjs's uniform NaN) where either operand is NaN;
 * - a comparison is GLSL's (`lessThan`, ...; tfjs stores it as 0 or 1 in a bool tensor) and
 *   `where` takes the first branch where it holds (tfjs's Select tests `c >= 1.0`);
 * - `isnan` is the builtin, or tfjs's bit test when its flag WEBGL2_ISNAN_CUSTOM says so;
 * - scalars and constants are uniforms, as tfjs's scalar tensors are inputs, never literals.
 *
 * Two kinds of draw:
 * - `'packed'`: the outputs are packed textures of the leaf's shape (tfjs's 2x2-block layout,
 *   RGBA), the math runs on vec4s. An input whose texture has exactly that layout is read by
 *   one `texelFetch` at the fragment's texel ("same"); any other input (unpacked, another
 *   shape or texture shape, a segment of a flat tensor, a shallow slice) is read lane by lane at
 *   the elements' flat indices, computed from the output layout.
 * - `'flat'`: the outputs are unpacked textures (one element per texel) holding every leaf's
 *   segment of a flat state slot; one draw covers one leaf's segment (fragments outside it are
 *   discarded), and the math runs on floats.
 *
 * Layouts are uniforms (`lay[0]` the output's, then one per input read lane by lane), so one
 * shader serves every leaf of a program with the same kinds of inputs.
 */

/** The kind of a draw's outputs (see the header). */
export type DrawKind = 'packed' | 'flat';

/**
 * How a shader reads one input: at the fragment's own texel (`'same'`), or lane by lane from a
 * packed or an unpacked texture.
 */
export type InputRead = 'same' | 'packed' | 'unpacked';

/**
 * What a shader is made for: which outputs, and how each input it reads is laid out, for one
 * leaf or (packed draws) several leaves of one layout at once, each into its own outputs.
 */
export interface DrawLayout {
  kind: DrawKind;
  /**
   * The program's outputs this draw writes per leaf (indices into `outputs`); the draw's render
   * targets are leaf 0's, then leaf 1's, ...: at most the draw-buffer limit in all.
   */
  outputs: readonly number[];
  /** Per leaf, per input of the program (index = input number): how it is read (ignored if unused). */
  reads: ReadonlyArray<readonly InputRead[]>;
  /** The scalar read from a one-element tensor (the clip factor), if any, and how. */
  deviceScalar?: { index: number; read: Exclude<InputRead, 'same'> };
  /** tfjs's WEBGL2_ISNAN_CUSTOM flag. */
  isnanCustom: boolean;
}

/** A texture a shader reads: input `input` (-1: the device scalar) of the draw's leaf `leaf`. */
export interface ShaderRef {
  leaf: number;
  input: number;
}

/** One compiled draw: its source and what to bind. */
export interface GlslShader {
  code: string;
  /** Identifies the shader (for caching programs). */
  key: string;
  /**
   * The samplers `s0, s1, ...` in order: a leaf (of the draw) and an input number, or -1 for the
   * device scalar's tensor. Sampler k reads texture unit k.
   */
  samplers: ShaderRef[];
  /**
   * The layout uniforms `lay[1], lay[2], ...` in order (`lay[0]` is the output's, the same for
   * every leaf of a draw): a leaf and an input number, or -1 for the device scalar. Each is
   * `(width, cols, rows, offset)` for a packed texture, `(width, offset, 0, 0)` for an unpacked one.
   */
  layouts: ShaderRef[];
  /** Whether `lay[0]` (the output layout) is read. */
  usesOutputLayout: boolean;
  /** How many floats `v[]` holds: the scalars, the constants, then NaN. */
  valueCount: number;
}

/** Which nodes computing `roots` needs. */
function neededNodes(p: Program, roots: readonly number[]): boolean[] {
  const needed = p.nodes.map(() => false);
  for (const r of roots) needed[r] = true;
  for (let k = p.nodes.length - 1; k >= 0; k--) {
    const node = p.nodes[k];
    if (needed[k] && 'args' in node) for (const a of node.args) needed[a] = true;
  }
  return needed;
}

/** The inputs (by number) that computing `outputs` of `p` reads, and whether it reads the device scalar. */
export function inputsRead(p: Program, outputs: readonly number[], deviceScalar?: number): { inputs: number[]; device: boolean } {
  const needed = neededNodes(p, outputs.map((o) => p.outputs[o]));
  const inputs: number[] = [];
  let device = false;
  p.nodes.forEach((node, k) => {
    if (!needed[k]) return;
    if (node.op === 'input') inputs.push(node.index);
    if (node.op === 'scalar' && node.index === deviceScalar) device = true;
  });
  return { inputs, device };
}

/** The fragment shader computing `layout.outputs` of `p`. */
export function shaderOf(p: Program, layout: DrawLayout): GlslShader {
  const packed = layout.kind === 'packed';
  const T = packed ? 'vec4' : 'float';
  const roots = layout.outputs.map((o) => p.outputs[o]);
  const needed = neededNodes(p, roots);
  const { constAt, count: valueCount } = valueLayout(p);
  const nan = `v[${valueCount - 1}]`;
  const device = layout.deviceScalar;

  const samplers: ShaderRef[] = [];
  const layouts: ShaderRef[] = [];
  const indexIn = (list: ShaderRef[], leaf: number, input: number) => {
    const k = list.findIndex((r) => r.leaf === leaf && r.input === input);
    return k >= 0 ? k : list.push({ leaf, input }) - 1;
  };
  const samplerOf = (leaf: number, input: number) => `s${indexIn(samplers, leaf, input)}`;
  const layoutOf = (leaf: number, input: number) => `lay[${indexIn(layouts, leaf, input) + 1}]`;
  /** Element `index` (an int expression) of a texture read lane by lane. */
  const fetch = (leaf: number, input: number, read: Exclude<InputRead, 'same'>, index: string) =>
    `${read === 'packed' ? 'fetchPacked' : 'fetchUnpacked'}(${samplerOf(leaf, input)}, ${layoutOf(leaf, input)}, ${index})`;

  let usesOutputLayout = false;
  const body: string[] = [];
  const math: string[] = [];
  const stores: string[] = [];
  layout.reads.forEach((reads, leaf) => {
    const x = (n: number) => `x${leaf}_${n}`;
    p.nodes.forEach((node, n) => {
      if (!needed[n]) return;
      if (node.op === 'input') {
        const read = reads[node.index];
        if (read === undefined) throw new Error(`tfjs-optax: no layout for input ${node.index} of a webgl draw`);
        if (read === 'same') {
          body.push(`${T} ${x(n)} = texelFetch(${samplerOf(leaf, node.index)}, xy, 0)${packed ? '' : '.r'};`);
        } else {
          usesOutputLayout = true;
          const lanes = packed ? ['idx.x', 'idx.y', 'idx.z', 'idx.w'].map((i) => fetch(leaf, node.index, read, i)) : [fetch(leaf, node.index, read, 'i')];
          body.push(`${T} ${x(n)} = ${packed ? `vec4(${lanes.join(', ')})` : lanes[0]};`);
        }
      } else if (node.op === 'scalar') {
        if (device !== undefined && node.index === device.index) math.push(`${T} ${x(n)} = ${T}(${fetch(leaf, -1, device.read, '0')});`);
        else math.push(`${T} ${x(n)} = ${T}(v[${node.index}]);`);
      } else if (node.op === 'const') {
        math.push(`${T} ${x(n)} = ${T}(v[${constAt[n]}]);`);
      } else {
        const args = node.args.map(x);
        math.push(`${isMask(node) ? (packed ? 'bvec4' : 'bool') : T} ${x(n)} = ${expression(node, args, packed, nan)};`);
      }
    });
    roots.forEach((node, m) => stores.push(`o${leaf * roots.length + m} = ${packed ? x(node) : `vec4(${x(node)}, 0.0, 0.0, 0.0)`};`));
  });

  const outputs = stores.map((_, k) => `layout(location = ${k}) out vec4 o${k};`);
  // The flat indices of the fragment's elements: four lanes of a packed texel (clamped into the
  // leaf: padding lanes read a real element and are never read back), or one element.
  const indices = packed
    ? [
        'ivec4 L = lay[0];',
        'int tpr = (L.y + 1) / 2;',
        'int tib = tpr * ((L.z + 1) / 2);',
        'int t = xy.y * L.x + xy.x;',
        'int b = t / tib;',
        'int rem = t - b * tib;',
        'int base = (b * L.z + 2 * (rem / tpr)) * L.y + 2 * (rem - (rem / tpr) * tpr);',
        'ivec4 idx = min(ivec4(base, base + 1, base + L.y, base + L.y + 1), ivec4(L.w - 1));',
      ]
    : ['ivec4 L = lay[0];', 'int i = xy.y * L.x + xy.x - L.y;', 'if (i < 0 || i >= L.z) discard;'];
  if (!packed) usesOutputLayout = true;
  const layoutCount = 1 + layouts.length;
  const code = [
    '#version 300 es',
    'precision highp float;',
    'precision highp int;',
    'precision highp sampler2D;',
    ...samplers.map((_, k) => `uniform sampler2D s${k};`),
    `uniform float v[${valueCount}];`,
    ...(usesOutputLayout || layouts.length > 0 ? [`uniform ivec4 lay[${layoutCount}];`] : []),
    ...outputs,
    helpers(layout.isnanCustom),
    'void main() {',
    '  ivec2 xy = ivec2(gl_FragCoord.xy);',
    ...(usesOutputLayout ? indices : []).map((l) => `  ${l}`),
    ...[...body, ...math, ...stores].map((l) => `  ${l}`),
    '}',
  ].join('\n');
  return { code, key: code, samplers, layouts, usesOutputLayout, valueCount };
}

/**
 * tfjs's isnan (builtin, or its bit test), its packed and unpacked max, min, neg and div
 * snippets as functions, where's select, and the two ways of reading an element by flat index.
 */
function helpers(isnanCustom: boolean): string {
  const custom = `
bool isnan_custom(float val) {
  uint floatToUint = floatBitsToUint(val);
  return (floatToUint & 0x7fffffffu) > 0x7f800000u;
}
bvec4 isnan_custom(vec4 val) {
  return bvec4(isnan_custom(val.x), isnan_custom(val.y), isnan_custom(val.z), isnan_custom(val.w));
}
#define isnan(value) isnan_custom(value)`;
  const extreme = (fn: 'max' | 'min') => `
vec4 ${fn}_(vec4 a, vec4 b, float nan) {
  vec4 result = vec4(${fn}(a, b));
  bvec4 isNaNA = isnan(a);
  bvec4 isNaNB = isnan(b);
  bvec4 isNaN = bvec4(isNaNA.x || isNaNB.x, isNaNA.y || isNaNB.y, isNaNA.z || isNaNB.z, isNaNA.w || isNaNB.w);
  result.r = isNaN.r ? nan : result.r;
  result.g = isNaN.g ? nan : result.g;
  result.b = isNaN.b ? nan : result.b;
  result.a = isNaN.a ? nan : result.a;
  return result;
}
float ${fn}_(float a, float b, float nan) {
  return isnan(a) || isnan(b) ? nan : ${fn}(a, b);
}`;
  return `${isnanCustom ? custom : ''}${extreme('max')}${extreme('min')}
vec4 div_(vec4 a, vec4 b) {
  vec4 result = a / b;
  if (a.x == b.x) result.x = 1.;
  if (a.y == b.y) result.y = 1.;
  if (a.z == b.z) result.z = 1.;
  if (a.w == b.w) result.w = 1.;
  return result;
}
float div_(float a, float b) {
  if (a == b) return 1.0;
  return a / b;
}
vec4 neg_(vec4 x) {
  vec4 result = -x;
  bvec4 isNaN = isnan(x);
  result.r = isNaN.r ? x.r : result.r;
  result.g = isNaN.g ? x.g : result.g;
  result.b = isNaN.b ? x.b : result.b;
  result.a = isNaN.a ? x.a : result.a;
  return result;
}
float neg_(float x) {
  if (isnan(x)) return x;
  return -x;
}
vec4 where_(bvec4 c, vec4 a, vec4 b) {
  return vec4(c.x ? a.x : b.x, c.y ? a.y : b.y, c.z ? a.z : b.z, c.w ? a.w : b.w);
}
float where_(bool c, float a, float b) {
  return c ? a : b;
}
float fetchPacked(sampler2D s, ivec4 l, int index) {
  int f = index + l.w;
  int q = f / l.y;
  int col = f - q * l.y;
  int batch = q / l.z;
  int row = q - batch * l.z;
  int tpr = (l.y + 1) / 2;
  int t = batch * tpr * ((l.z + 1) / 2) + (row / 2) * tpr + col / 2;
  vec4 texel = texelFetch(s, ivec2(t - (t / l.x) * l.x, t / l.x), 0);
  int channel = 2 * (row - (row / 2) * 2) + (col - (col / 2) * 2);
  return channel == 0 ? texel.r : channel == 1 ? texel.g : channel == 2 ? texel.b : texel.a;
}
float fetchUnpacked(sampler2D s, ivec4 l, int index) {
  int f = index + l.y;
  return texelFetch(s, ivec2(f - (f / l.x) * l.x, f / l.x), 0).r;
}
`;
}

const COMPARISONS: Record<string, [string, string]> = {
  lt: ['lessThan', '<'],
  gt: ['greaterThan', '>'],
  le: ['lessThanEqual', '<='],
  ge: ['greaterThanEqual', '>='],
  eq: ['equal', '=='],
};
const ARITHMETIC: Record<string, string> = { add: '+', sub: '-', mul: '*' };

function expression(node: Exclude<ProgramNode, { op: 'input' | 'scalar' | 'const' }>, args: readonly string[], packed: boolean, nan: string): string {
  const [a, b, c] = args;
  if (node.op in ARITHMETIC) return `${a} ${ARITHMETIC[node.op]} ${b}`;
  if (isMask(node)) {
    const [fn, op] = COMPARISONS[node.op];
    return packed ? `${fn}(${a}, ${b})` : `${a} ${op} ${b}`;
  }
  switch (node.op) {
    case 'div':
      return `div_(${a}, ${b})`;
    case 'sqrt':
      return `sqrt(${a})`;
    case 'rsqrt':
      return `inversesqrt(${a})`;
    case 'abs':
      return `abs(${a})`;
    case 'neg':
      return `neg_(${a})`;
    case 'max':
      return `max_(${a}, ${b}, ${nan})`;
    case 'min':
      return `min_(${a}, ${b}, ${nan})`;
    case 'where':
      return `where_(${a}, ${b}, ${c})`;
    default:
      throw new Error(`tfjs-optax: no GLSL for program operation ${node.op}`);
  }
}
