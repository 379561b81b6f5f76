import type { FusedAttrs, KernelTable } from '../layout.js';
import { cachedProgramKey, isMask, type Program, type ProgramNode } from '../program.js';

/**
 * A program compiled for plain typed arrays: `run(n, inputs, outputs, scalars)` computes
 * elements `[0, n)` of every output from the same elements of the inputs. Every element is read
 * before it is written, so an output may be one of the inputs (an in-place step).
 */
export type ArrayKernel = (n: number, inputs: readonly Float32Array[], outputs: readonly Float32Array[], scalars: readonly number[]) => void;

const cache = /* @__PURE__ */ new Map<string, ArrayKernel>();

/**
 * Compiles `program` to a JavaScript loop (each operation rounded with `Math.fround`, as the cpu
 * backend's ops round). Where the page forbids generating code (a Content-Security-Policy
 * without 'unsafe-eval'), the program is interpreted instead: the same numbers, more slowly.
 */
export function arrayKernel(program: Program, key: string): ArrayKernel {
  let kernel = cache.get(key);
  if (kernel === undefined) {
    try {
      kernel = new Function('f', `return ${source(program)};`)(Math.fround) as ArrayKernel;
    } catch {
      kernel = interpreter(program);
    }
    cache.set(key, kernel);
  }
  return kernel;
}

/**
 * Generated programs over the cpu backend's arrays where WebAssembly SIMD is missing (elsewhere
 * they run through the tiles, wasm/tiles.ts): each leaf through its variant's loop, with
 * `scalars` (the per-step scalars, then the clip scale if any) followed by the leaf's own
 * `attrs.leafScalars`.
 */
export function runProgramLoops(attrs: FusedAttrs, table: KernelTable<Float32Array>, scalars: readonly number[]): void {
  const kernels = attrs.programs.map((p) => arrayKernel(p, cachedProgramKey(p)));
  const ins = table.inputs.filter((x): x is NonNullable<typeof x> => x !== null);
  const outs = table.outputs.filter((x): x is NonNullable<typeof x> => x !== null);
  const count = table.sizes.length;
  const own = attrs.leafScalars === undefined || count === 0 ? 0 : attrs.leafScalars.length / count;
  for (let j = 0; j < count; j++) {
    kernels[attrs.variants[j] ?? 0](
      table.sizes[j],
      ins.map((list) => list[j]),
      outs.map((list) => list[j]),
      own > 0 ? [...scalars, ...attrs.leafScalars!.slice(j * own, (j + 1) * own)] : scalars,
    );
  }
}

/** Runs `program` node by node (for pages that cannot compile code); same rounding as the loops. */
export function interpreter(p: Program): ArrayKernel {
  const f = Math.fround;
  return (n, ins, outs, sc) => {
    const v: Array<number | boolean> = new Array(p.nodes.length);
    for (let i = 0; i < n; i++) {
      p.nodes.forEach((node, k) => {
        if (node.op === 'input') v[k] = ins[node.index][i];
        else if (node.op === 'scalar') v[k] = f(sc[node.index]);
        else if (node.op === 'const') v[k] = node.value;
        else {
          const [a, b, c] = node.args.map((x) => v[x]) as number[];
          v[k] = evaluate(node.op, a, b, c);
        }
      });
      p.outputs.forEach((o, k) => (outs[k][i] = v[o] as number));
    }
  };
}

function evaluate(op: Exclude<ProgramNode['op'], 'input' | 'scalar' | 'const'>, a: number, b: number, c: number): number | boolean {
  const f = Math.fround;
  switch (op) {
    case 'add':
      return f(a + b);
    case 'sub':
      return f(a - b);
    case 'mul':
      return f(a * b);
    case 'div':
      return f(a / b);
    case 'sqrt':
      return f(Math.sqrt(a));
    case 'rsqrt':
      return f(1 / Math.sqrt(a));
    case 'abs':
      return Math.abs(a);
    case 'neg':
      return -a;
    case 'max':
      return Math.max(a, b);
    case 'min':
      return Math.min(a, b);
    case 'lt':
      return a < b;
    case 'gt':
      return a > b;
    case 'le':
      return a <= b;
    case 'ge':
      return a >= b;
    case 'eq':
      return a === b;
    case 'where':
      return (a as unknown as boolean) ? b : c;
  }
}

/** The loop's source: one `const` per node, outputs stored at the end of each iteration. */
function source(p: Program): string {
  const head: string[] = [];
  const body: string[] = [];
  for (let k = 0; k < p.inputs; k++) head.push(`const i${k} = ins[${k}];`);
  p.outputs.forEach((_, k) => head.push(`const o${k} = outs[${k}];`));
  p.nodes.forEach((node, i) => {
    if (node.op === 'scalar') head.push(`const v${i} = f(sc[${node.index}]);`);
    else if (node.op === 'const') head.push(`const v${i} = ${literal(node.value)};`);
    else body.push(`const v${i} = ${expression(node, p.nodes)};`);
  });
  p.outputs.forEach((node, k) => body.push(`o${k}[i] = v${node};`));
  return `function (n, ins, outs, sc) {\n${head.join('\n')}\nfor (let i = 0; i < n; i++) {\n${body.join('\n')}\n}\n}`;
}

function literal(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

/** One node's value; `nodes` tells masks from values. */
function expression(node: ProgramNode, nodes: readonly ProgramNode[]): string {
  if (node.op === 'input') return `i${node.index}[i]`;
  if (!('args' in node)) throw new Error(`tfjs-optax: unexpected program node ${node.op}`);
  const [a, b, c] = node.args.map((x) => `v${x}`);
  switch (node.op) {
    case 'add':
      return `f(${a} + ${b})`;
    case 'sub':
      return `f(${a} - ${b})`;
    case 'mul':
      return `f(${a} * ${b})`;
    case 'div':
      return `f(${a} / ${b})`;
    case 'sqrt':
      return `f(Math.sqrt(${a}))`;
    // As the cpu backend's tf.rsqrt: the float64 quotient, rounded once.
    case 'rsqrt':
      return `f(1 / Math.sqrt(${a}))`;
    case 'abs':
      return `Math.abs(${a})`;
    case 'neg':
      return `-${a}`;
    // NaN if either is NaN, and -0 below 0: what tf.maximum and tf.minimum give on cpu.
    case 'max':
      return `Math.max(${a}, ${b})`;
    case 'min':
      return `Math.min(${a}, ${b})`;
    case 'lt':
      return `${a} < ${b}`;
    case 'gt':
      return `${a} > ${b}`;
    case 'le':
      return `${a} <= ${b}`;
    case 'ge':
      return `${a} >= ${b}`;
    case 'eq':
      return `${a} === ${b}`;
    case 'where':
      if (!isMask(nodes[node.args[0]])) throw new Error('tfjs-optax: where() needs a mask');
      return `${a} ? ${b} : ${c}`;
  }
}
