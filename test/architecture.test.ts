// The shape of src/ (issue 18): its folders form layers, each importing only from its own layer
// or a lower one, and no source file grows past MAX_LINES. Reads the sources as text, so it
// takes milliseconds and runs with the unit tests.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * The layers, lowest first. A folder ends with '/'; a name without one is a file directly in
 * src/. Folders in one entry are one layer and may import each other. A new folder or top-level
 * file must be placed here (the test names any that is not).
 *
 * schedules/ (pure `(count) => number` functions) sits just above internal/, whose option checks
 * it uses, so that every layer from kernels/ up may use a schedule.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['types.ts', 'version.ts'],
  ['tree/'],
  ['internal/'],
  ['schedules/'],
  ['kernels/'],
  ['transforms/'],
  ['combine/'],
  ['optimizers/'],
  ['interop/'],
  ['index.ts'],
];

const MAX_LINES = 600;

/** Every .ts file under src/, as a posix path relative to src/ (`kernels/wasm/runner.ts`). */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path).split(sep).join('/')] : [];
  });
}

/** The index in LAYERS of a file (relative to src/), or -1 if no layer holds it. */
function layerOf(file: string): number {
  const slash = file.indexOf('/');
  const key = slash < 0 ? file : file.slice(0, slash + 1);
  return LAYERS.findIndex((layer) => layer.includes(key));
}

/** A layer's name for messages: its folders and files joined. */
function layerName(index: number): string {
  return LAYERS[index].join(' + ');
}

interface Import {
  /** The importing file, relative to src/. */
  from: string;
  /** The imported file, relative to src/ (`.js` read as `.ts`). */
  to: string;
  /** The line of the import in `from`. */
  line: number;
}

/**
 * A relative module specifier after `from`, `import` or `import(`: static imports (type-only
 * ones too), re-exports, side-effect imports and dynamic imports of a literal, allowing
 * comments between `import(` and the string.
 */
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*(?:\/\*[\s\S]*?\*\/\s*)*(['"])(\.\.?\/[^'"\n]+)\1/g;

/** The relative imports of one file. */
function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  for (const match of text.matchAll(RELATIVE_IMPORT)) {
    const target = posix.normalize(posix.join(posix.dirname(file), match[2])).replace(/\.js$/, '.ts');
    out.push({ from: file, to: target, line: text.slice(0, match.index).split('\n').length });
  }
  return out;
}

/** Lines as `wc -l` counts them, and a last line without a newline. */
function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

// Read once: the tests below only look at these.
const files = sourceFiles().sort();
const texts = new Map(files.map((f) => [f, readFileSync(join(SRC, f), 'utf8')]));
const imports = files.flatMap((f) => importsOf(f, texts.get(f)!));
// Files in no layer are reported by their own test, not as importing upward.
const upward = imports.filter((i) => layerOf(i.from) >= 0 && layerOf(i.to) > layerOf(i.from));
const long = files.filter((f) => lineCount(texts.get(f)!) > MAX_LINES);

describe('the layers of src/', () => {
  it('finds the sources and their imports', () => {
    // Guards the checks below against passing because they read nothing.
    expect(files).toContain('index.ts');
    expect(imports.filter((i) => i.from === 'index.ts').length).toBeGreaterThan(50);
  });

  it('reads static, type-only, re-exporting, side-effect and dynamic imports', () => {
    const text = [
      "import * as tf from '@tensorflow/tfjs-core';",
      "import { a } from './a.js';",
      'import type { B } from "../tree/b.js";',
      'export {',
      '  c,',
      "} from './c.js';",
      "import './d.js';",
      "const e = await import('./e.js');",
      "const f = await import(/* @vite-ignore */ '../f.js');",
    ].join('\n');
    expect(importsOf('internal/x.ts', text).map((i) => `${i.line}: ${i.to}`)).toEqual([
      '2: internal/a.ts',
      '3: tree/b.ts',
      '6: internal/c.ts',
      '7: internal/d.ts',
      '8: internal/e.ts',
      '9: f.ts',
    ]);
  });

  it('places every source file, and every file imported, in a layer', () => {
    const unplaced = [...new Set([...files, ...imports.map((i) => i.to)])].filter((f) => layerOf(f) < 0);
    // A new folder or top-level file: add it to LAYERS in test/architecture.test.ts.
    expect(unplaced).toEqual([]);
  });

  it('imports only from its own layer or a lower one', () => {
    const offending = upward.map((i) => `src/${i.from}:${i.line} imports src/${i.to} (${layerName(layerOf(i.to))} is above ${layerName(layerOf(i.from))})`);
    expect(offending).toEqual([]);
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const offending = long.map((f) => `src/${f}: ${lineCount(texts.get(f)!)} lines`);
    expect(offending).toEqual([]);
  });
});
