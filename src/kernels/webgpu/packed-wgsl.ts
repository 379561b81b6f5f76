import { int8CodecTables } from '../../internal/packed-codec.js';
import { INT8_BLOCK, packedHeader, type SlotFormat } from '../../internal/state-dtype.js';
import { valueLayout, type Program } from '../program.js';
import { expression, helpers, lane, neededNodes, WORKGROUP_SIZE, type WgslShader } from './wgsl.js';

/**
 * WGSL for a generated program whose state slots are packed (`stateDtype` bfloat16 or int8,
 * internal/state-dtype.ts has the layout): the shader reads the packed words, decodes them,
 * computes the step in float32 exactly as wgsl.ts's vector form does, and encodes the new
 * moments into packed words, in one dispatch; no float32 copy of a moment exists.
 *
 * Work split, so that no two invocations write one word:
 * - bfloat16 (no int8 ref): a workgroup of 64 invocations takes 256 consecutive values of a
 *   leaf, each invocation four (one vec4 of the float32 math, two bfloat16 words). A leaf takes
 *   `ceil(n / 256)` workgroups; values past `n` in its last one are computed from clamped loads
 *   and never stored (a missing value's code is 0, as the layout says).
 * - int8: an invocation takes one block of 256 values: it computes the block's 64 vec4s,
 *   storing the float32 outputs and keeping the new moments (function memory) while taking their
 *   absmax, then writes the scale and the code words. An int8 block's scale is its absmax, taken
 *   on the bits of `|x|` (for non-negative floats the bits order as the values; NaN and the
 *   infinities have the largest bits, so `>= 0x7f800000` is the block's non-finite flag and makes
 *   the NaN scale). No workgroup memory and no barrier: SwiftShader runs a shader with a barrier
 *   as coroutines, and a workgroup-wide reduction (atomics, or a barrier and shared reads) made
 *   the step several times slower than this loop (see the notes of issue 20).
 * Decoding multiplies `map[code] * scale` in float32; encoding divides `x / scale` and takes the
 * code as packed-codec.ts's wasm codec does (the smallest code of the quotient's sign, exponent
 * and upper mantissa bits, one more when the quotient exceeds that code's midpoint), which is the
 * count of midpoints below the quotient, as the tf-op reference has it; so the words equal the
 * reference's bit for bit wherever the GPU's float32 division is IEEE's (bfloat16 is bit work only).
 *
 * Leaf records (uniform, like wgsl.ts's): the length `n`, the leaf's first workgroup in the
 * dispatch, then one element offset per ref (float32 refs; packed leaves start at 0).
 */

/** Invocations (int8 blocks) per workgroup of an int8 program: few, so that a leaf's blocks spread over workgroups (SwiftShader's unit of parallel work). */
export const BLOCKS_PER_GROUP = 8;

/** Values a workgroup of a packed program computes: four per invocation, one int8 block. */
export const PACKED_GROUP_VALUES = 4 * WORKGROUP_SIZE;
if (PACKED_GROUP_VALUES !== INT8_BLOCK) throw new Error('tfjs-optax: a packed workgroup must be one int8 block');

/**
 * The workgroups a leaf of `n` values takes in a packed dispatch whose refs are stored as
 * `formats`: one per 256 values; with an int8 ref, one per 64 blocks of 256 (an invocation per block).
 */
export function packedGroups(n: number, formats: readonly SlotFormat[]): number {
  return Math.ceil(n / (formats.some(isInt8) ? PACKED_GROUP_VALUES * BLOCKS_PER_GROUP : PACKED_GROUP_VALUES));
}

/** How the refs of the leaves of one packed dispatch map to buffers and formats. */
export interface PackedLayout {
  /** Per ref of one leaf (inputs, outputs, then the device scalar if any): how it is stored. */
  formats: readonly SlotFormat[];
  /** For each ref of each leaf (leaf k's ref r at `k * R + r`), the first ref of the same buffer. */
  same: readonly number[];
  /** The scalar read from the device-scalar buffer (the ref after the outputs), if any. */
  deviceScalar?: number;
  /** The device's maxStorageBuffersPerShaderStage. */
  maxStorageBuffers: number;
  /** float32 buffers as vec4s (every leaf's length and element offsets multiples of 4), else element by element. */
  vector: boolean;
  /** Leaves in the dispatch (default 1), their records `recordStride` words apart. */
  leaves?: number;
  recordStride?: number;
}

const isInt8 = (f: SlotFormat) => f === 'int8-signed' || f === 'int8-unsigned';

/**
 * Rows of the int8 code table, per sign: the float32 exponents 101..127, and row 0 for every
 * normalised value below 2^-26 (no midpoint lies there: they all get the code of 0).
 */
const CODE_ROWS = 28;
const LOWEST_ROW_EXPONENT = 100;
const CODE_ENTRIES = 2 * CODE_ROWS * 128;

/**
 * The tables of the int8 codecs, as the uniform buffer `tables` holds them: `t`, float32, the
 * signed map's 256 values then the unsigned one's; `c`, per map, one word per sign, exponent row
 * and upper 7 mantissa bits of a normalised value (a range of float32 values sharing their upper
 * 16 bits): its low byte the smallest code in that range (packed-codec.ts's table, which checks
 * that no range spans more than two codes), bits 8..23 the low 16 bits of the midpoint inside the
 * range (whose upper 16 bits are the range's own), or, with no midpoint there, of the range's end
 * past which nothing lies; bit 24 set, for row 0, where the threshold is 0 itself (the unsigned
 * map's first midpoint is 0: a positive value never takes code 0). The code of `x` is the byte,
 * plus one when `x` exceeds that threshold: one lookup, the count of midpoints below `x`.
 */
export function int8Tables(): { floats: Float32Array; codes: Uint32Array } {
  const floats = new Float32Array(2 * 256);
  const words = new Uint32Array(2 * CODE_ENTRIES);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  [true, false].forEach((signed, k) => {
    const { mid, table, map } = int8CodecTables(signed);
    floats.set(map, 256 * k);
    const inside = new Map<number, number>();
    // A midpoint of exactly 0 (the unsigned map's first) is row 0's threshold; no other lies there.
    const zeroMidpoint = mid[0] === 0 && !Object.is(mid[0], -0);
    for (const m of mid.subarray(zeroMidpoint ? 1 : 0, 255)) {
      f[0] = m;
      if ((bits[0] & 0x7fffffff) < (LOWEST_ROW_EXPONENT + 1) << 23) throw new Error('tfjs-optax: internal error: an int8 midpoint below 2^-26');
      if (inside.has(bits[0] >>> 16)) throw new Error('tfjs-optax: internal error: two int8 midpoints share their upper 16 bits');
      inside.set(bits[0] >>> 16, bits[0] & 0xffff);
    }
    for (let sign = 0; sign < 2; sign++) {
      for (let row = 0; row < CODE_ROWS; row++) {
        for (let m = 0; m < 128; m++) {
          const prefix = row === 0 ? sign << 15 : (sign << 15) | ((LOWEST_ROW_EXPONENT + row) << 7) | m;
          const low = row === 0 ? undefined : inside.get(prefix);
          const entry = CODE_ENTRIES * k + (sign * CODE_ROWS + row) * 128 + m;
          if (row === 0 && sign === 0 && zeroMidpoint) words[entry] = table[0] | (1 << 24);
          else words[entry] = table[prefix] | ((low ?? (sign === 0 ? 0xffff : 0)) << 8);
        }
      }
    }
  });
  return { floats, codes: words };
}

/** Where a format's map and code words start in {@link int8Tables}. */
const TABLE_AT = { 'int8-signed': [0, 0], 'int8-unsigned': [256, CODE_ENTRIES] } as const;

/** The struct of the int8 tables' uniform. */
const TABLES_STRUCT = `struct Tables { t: array<vec4<f32>, 128>, c: array<vec4<u32>, ${CODE_ENTRIES / 2}> };`;

/** How many storage buffers one leaf of `p` binds (every input and output apart, and the device scalar). */
export function packedBuffers(p: Program, deviceScalar: boolean): number {
  return p.inputs + p.outputs.length + (deviceScalar ? 1 : 0);
}

/**
 * The shader computing every output of `p` for the layout's leaves, or `null` when their
 * buffers exceed the device's limit (a packed program is never split: the caller then takes
 * the float32 copies' way).
 */
export function packedShaderFor(p: Program, layout: PackedLayout): WgslShader | null {
  const I = p.inputs;
  const O = p.outputs.length;
  const K = layout.leaves ?? 1;
  const R = layout.same.length / K;
  const stride = K > 1 ? layout.recordStride! : 0;
  const vector = layout.vector;
  const values = valueLayout(p);
  const needed = neededNodes(p, p.outputs);
  const reads: number[] = [];
  p.nodes.forEach((node, n) => {
    if (!needed[n]) return;
    if (node.op === 'input') reads.push(node.index);
    if (node.op === 'scalar' && node.index === layout.deviceScalar) reads.push(I + O);
  });
  const leafRefs = [...reads, ...p.outputs.map((_, o) => I + o)];
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
  if (bindings.length > layout.maxStorageBuffers) return null;
  const written = new Set<number>();
  for (let k = 0; k < K; k++) for (let o = 0; o < O; o++) written.add(layout.same[k * R + I + o]);
  const format = (ref: number) => layout.formats[ref % R] ?? 'float32';
  const elementType = (ref: number) => (ref % R === I + O ? 'f32' : format(ref) !== 'float32' ? 'u32' : vector ? 'vec4<f32>' : 'f32');
  const int8Outputs = p.outputs.map((_, o) => o).filter((o) => isInt8(format(I + o)));
  const usesTables = leafRefs.some((r) => isInt8(format(r)));
  const blockwise = usesTables;

  let usesValues = false;
  const value = (i: number) => {
    usesValues = true;
    return lane('values.v', i);
  };
  const nan = () => value(values.count - 1);
  const word = (k: number, w: number) => lane('leaf.r', k * stride + w);
  const body: string[] = [];
  for (let k = 0; k < K; k++) {
    const buffer = (ref: number) => `b${bindingOf.get(layout.same[k * R + ref])}`;
    const offset = (ref: number) => word(k, 2 + ref);
    /** The decoded values of input ref `r` for this invocation, as a vec4. */
    const load = (r: number): string => {
      const b = buffer(r);
      const f = format(r);
      if (f === 'bfloat16') return `bf16_values(${b}[min(1u + 2u * i, (n + 1u) / 2u)], ${b}[min(2u + 2u * i, (n + 1u) / 2u)])`;
      if (f !== 'float32') {
        return `int8_values(${b}[1u + blocks + i], bitcast<f32>(${b}[1u + block]), ${TABLE_AT[f][0]}u)`;
      }
      if (vector) return `${b}[(${offset(r)} >> 2u) + min(i, (n >> 2u) - 1u)]`;
      const at = (j: number) => `${b}[${offset(r)} + min(v + ${j}u, n - 1u)]`;
      return `vec4<f32>(${at(0)}, ${at(1)}, ${at(2)}, ${at(3)})`;
    };
    const lines: string[] = [];
    p.nodes.forEach((node, n) => {
      if (!needed[n]) return;
      const x = `x${n}`;
      if (node.op === 'input') lines.push(`let ${x} = ${load(node.index)};`);
      else if (node.op === 'scalar') {
        const device = node.index === layout.deviceScalar;
        lines.push(`let ${x} = vec4<f32>(${device ? `${buffer(I + O)}[${offset(I + O)}]` : value(node.index)});`);
      } else if (node.op === 'const') lines.push(`let ${x} = vec4<f32>(${value(values.constAt[n])});`);
      else lines.push(`let ${x} = ${expression(node, nan)};`);
    });
    // Every load comes before any store (an output may be written over its input, in place).
    p.outputs.forEach((node, o) => {
      const b = buffer(I + o);
      const f = format(I + o);
      const x = `x${node}`;
      if (f === 'float32') {
        if (vector) lines.push(`if (v < n) { ${b}[(${offset(I + o)} >> 2u) + i] = ${x}; }`);
        else for (let j = 0; j < 4; j++) lines.push(`if (v + ${j}u < n) { ${b}[${offset(I + o)} + v + ${j}u] = ${x}.${'xyzw'[j]}; }`);
      } else if (f === 'bfloat16') {
        lines.push(
          `let c${o} = bf16_codes(${x}, v, n);`,
          `if (v < n) { ${b}[1u + 2u * i] = c${o}.x | (c${o}.y << 16u); }`,
          `if (v + 2u < n) { ${b}[2u + 2u * i] = c${o}.z | (c${o}.w << 16u); }`,
        );
      } else lines.push(`keep${o}[j] = ${x};`, `absmax${o} = max(absmax${o}, abs_bits(${x}, v, n));`);
    });
    // Element 0: the header, 4n plus the format's code (internal/state-dtype.ts).
    const counts = p.outputs.flatMap((_, o) => {
      const f = format(I + o);
      return f === 'float32' ? [] : [`if (head) { ${buffer(I + o)}[0] = n * 4u + ${packedHeader(f, 0)}u; }`];
    });
    const head = [
      `    let n = ${word(k, 0)};`,
      `    let blocks = (n + ${PACKED_GROUP_VALUES - 1}u) / ${PACKED_GROUP_VALUES}u;`,
    ];
    if (!blockwise) {
      body.push(
        `  // leaf ${k}`,
        `  if (g >= ${word(k, 1)} && g < ${word(k, 1)} + (${word(k, 0)} + ${PACKED_GROUP_VALUES - 1}u) / ${PACKED_GROUP_VALUES}u) {`,
        ...head,
        `    let block = g - ${word(k, 1)};`,
        '    let head = block == 0u && lid == 0u;',
        `    let v = block * ${PACKED_GROUP_VALUES}u + 4u * lid;`,
        '    let i = v >> 2u;',
        ...[...lines, ...counts].map((line) => `    ${line}`),
        '    return;',
        '  }',
      );
      continue;
    }
    // One invocation per int8 block: the block's new moments are kept (function memory) while
    // its absmax is taken, then encoded; no workgroup memory, no barrier.
    const encode = int8Outputs.flatMap((o) => {
      const b = buffer(I + o);
      const codes = TABLE_AT[format(I + o) as 'int8-signed'][1];
      return [
        // The NaN scale (0x7FC00000) for a block holding NaN or an infinity.
        `let s${o} = select(absmax${o}, 0x7fc00000u, absmax${o} >= 0x7f800000u);`,
        `for (var j = 0u; j < end; j++) {`,
        `  let v = first + 4u * j;`,
        `  let c = int8_codes(keep${o}[j], bitcast<f32>(s${o}), ${codes}u, v, n);`,
        `  ${b}[1u + blocks + (v >> 2u)] = c.x | (c.y << 8u) | (c.z << 16u) | (c.w << 24u);`,
        '}',
        `${b}[1u + block] = s${o};`,
      ];
    });
    body.push(
      `  // leaf ${k}`,
      `  if (g >= ${word(k, 1)} && g < ${word(k, 1)} + (${word(k, 0)} + ${PACKED_GROUP_VALUES * BLOCKS_PER_GROUP - 1}u) / ${PACKED_GROUP_VALUES * BLOCKS_PER_GROUP}u) {`,
      ...head,
      `    let block = (g - ${word(k, 1)}) * ${BLOCKS_PER_GROUP}u + lid;`,
      '    if (block < blocks) {',
      '      let head = block == 0u;',
      `      let first = block * ${PACKED_GROUP_VALUES}u;`,
      // The vec4s of this block (the last one's lanes past n are masked).
      `      let end = min(${PACKED_GROUP_VALUES / 4}u, (n - first + 3u) / 4u);`,
      ...int8Outputs.flatMap((o) => [`      var absmax${o} = 0u;`, `      var keep${o}: array<vec4<f32>, ${PACKED_GROUP_VALUES / 4}>;`]),
      '      for (var j = 0u; j < end; j++) {',
      '        let v = first + 4u * j;',
      '        let i = v >> 2u;',
      ...lines.map((line) => `        ${line}`),
      '      }',
      ...[...encode, ...counts].map((line) => `      ${line}`),
      '    }',
      '    return;',
      '  }',
    );
  }

  const recordVectors = ((K - 1) * stride) / 4 + Math.ceil((2 + I + O + 1) / 4);
  const code = [
    ...(usesValues ? [`struct Values { v: array<vec4<f32>, ${Math.ceil(values.count / 4)}> };`, '@group(0) @binding(0) var<uniform> values: Values;'] : []),
    `struct Leaf { r: array<vec4<u32>, ${recordVectors}> };`,
    '@group(0) @binding(1) var<uniform> leaf: Leaf;',
    ...(usesTables ? [TABLES_STRUCT, `@group(0) @binding(${TABLES_BINDING}) var<uniform> tables: Tables;`] : []),
    ...bindings.map((ref, b) => {
      const access = written.has(layout.same[ref]) ? 'read_write' : 'read';
      return `@group(0) @binding(${FIRST_STORAGE_BINDING + b}) var<storage, ${access}> b${b}: array<${elementType(ref)}>;`;
    }),
    helpers(true),
    CODEC,
    ...(usesTables ? [INT8_CODEC] : []),
    `@compute @workgroup_size(${blockwise ? BLOCKS_PER_GROUP : WORKGROUP_SIZE})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    '  let g = wid.y * groups.x + wid.x;',
    ...body,
    '}',
  ].join('\n');
  return { code, key: code, usesValues, bindings, packed: { usesTables } };
}

/** The binding of the int8 tables (a uniform buffer made once per device). */
export const TABLES_BINDING = 2;
/** The first storage binding of a packed shader. */
export const FIRST_STORAGE_BINDING = 3;

/** bfloat16: decode two words into four values, encode four values (round to nearest even, NaN 0x7FC0, values past `n` 0). */
const CODEC = `
fn live(v: u32, n: u32) -> vec4<bool> { return vec4<u32>(v) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n); }
fn bf16_values(a: u32, b: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));
}
fn bf16_codes(x: vec4<f32>, v: u32, n: u32) -> vec4<u32> {
  let u = bitcast<vec4<u32>>(x);
  let rne = (u + vec4<u32>(0x7fffu) + ((u >> vec4<u32>(16u)) & vec4<u32>(1u))) >> vec4<u32>(16u);
  let c = select(rne, vec4<u32>(0x7fc0u), (u & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u));
  return select(vec4<u32>(0u), c, live(v, n));
}`;

/** int8: table lookups, the absmax key of four values, and the codes of four values. */
const INT8_CODEC = `
fn tab(k: u32) -> f32 { return tables.t[k >> 2u][k & 3u]; }
fn int8_values(w: u32, s: f32, map: u32) -> vec4<f32> {
  let c = (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
  return vec4<f32>(tab(map + c.x), tab(map + c.y), tab(map + c.z), tab(map + c.w)) * s;
}
fn abs_bits(x: vec4<f32>, v: u32, n: u32) -> u32 {
  let b = select(vec4<u32>(0u), bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu), live(v, n));
  return max(max(b.x, b.y), max(b.z, b.w));
}
fn int8_code(x: f32, s: f32, codes: u32) -> u32 {
  let normed = select(0.0, x / s, s > 0.0);
  let u = bitcast<u32>(normed);
  let k = codes + ((u >> 31u) * ${CODE_ROWS}u + clamp((u >> 23u) & 0xffu, ${LOWEST_ROW_EXPONENT}u, ${LOWEST_ROW_EXPONENT + CODE_ROWS - 1}u) - ${LOWEST_ROW_EXPONENT}u) * 128u + ((u >> 16u) & 0x7fu);
  let t = tables.c[k >> 2u][k & 3u];
  let threshold = select(bitcast<f32>((u & 0xffff0000u) | ((t >> 8u) & 0xffffu)), 0.0, (t >> 24u) == 1u);
  return (t & 0xffu) + select(0u, 1u, normed > threshold);
}
fn int8_codes(x: vec4<f32>, s: f32, codes: u32, v: u32, n: u32) -> vec4<u32> {
  let c = vec4<u32>(int8_code(x.x, s, codes), int8_code(x.y, s, codes), int8_code(x.z, s, codes), int8_code(x.w, s, codes));
  return select(vec4<u32>(0u), c, live(v, n));
}`;
