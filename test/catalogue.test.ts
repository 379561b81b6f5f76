// The optimizer catalogue, docs/guides/optimizers.md, is written from data: docs/optimizers.ts
// (chain, update, defaults, paper), the playground's registry (family, one line on the method,
// the suggested learning rate of the link) and the library itself (which backends run a fused
// kernel: kernelPath on wasm and cpu; on webgpu and webgl, which Node lacks, whether it runs a
// fused kernel without the per-leaf norm pass, which is what kernelPath asks there). The page
// must match what this writes and list every optimizer the library exports, so it cannot go
// stale. After a change, `npm run docs:catalogue` rewrites it.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CATALOGUE, type CatalogueEntry } from '../docs/optimizers.js';
import { functionById } from '../examples/playground/src/functions.js';
import { decodeState, encodeState } from '../examples/playground/src/race-state.js';
import { defaultRacer } from '../examples/playground/src/racer.js';
import { OPTIMIZERS as PLAYGROUND, type OptimizerName } from '../examples/playground/src/registry.js';
import * as lib from '../src/index.js';
import { runsFused } from '../src/kernels/fused.js';
import { factoryOf, OPTIMIZERS } from './properties/registry.js';

vi.mock('tfjs-optax', () => import('../src/index.js'));

const PAGE = new URL('../docs/guides/optimizers.md', import.meta.url);
const BACKENDS = ['wasm', 'cpu', 'webgpu', 'webgl'] as const;

const previous = tf.getBackend();
const previousMode = lib.getKernelMode();
afterAll(async () => {
  await tf.setBackend(previous);
  lib.setKernelMode(previousMode);
});

/** For each optimizer the library exports (made with a learning rate and default options), the backends with a fused kernel. */
async function fusedBackends(): Promise<Map<string, string[]>> {
  const made = OPTIMIZERS.map((entry): [string, lib.GradientTransformation<any>] => [entry.name, factoryOf(entry)(0.01)]);
  const paths = new Map<string, Record<string, string>>();
  lib.setKernelMode('auto'); // the catalogue is about what runs by default
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    for (const [name, tx] of made) paths.set(name, { ...paths.get(name), [backend]: lib.kernelPath(tx) });
  }
  const fused = new Map<string, string[]>();
  for (const [name, tx] of made) {
    const p = paths.get(name)!;
    const gpu = p.wasm !== 'composite' && runsFused(tx, true); // webgpu and webgl have no per-leaf norm pass
    fused.set(name, BACKENDS.filter((b) => (b === 'wasm' || b === 'cpu' ? p[b] !== 'composite' : gpu)));
  }
  return fused;
}

/** The playground's race on Rosenbrock's function with this optimizer alone, at its defaults and suggested rate. */
export function playgroundLink(name: string): string {
  const fn = functionById('rosenbrock')!;
  const query = encodeState({ fn: fn.id, start: [...fn.start], steps: 500, racers: [defaultRacer(name as OptimizerName, fn.learningRates)] });
  return `../../examples/playground/index.html${query}`;
}

const cell = (ok: boolean) => (ok ? '✓' : '—');

function section(entry: CatalogueEntry, fused: string[]): string {
  const about = PLAYGROUND.find((p) => p.name === entry.name)?.about ?? '(not in the playground registry)';
  return [
    `### ${entry.name}`,
    '',
    about,
    '',
    `- **Chain**: ${entry.chain}`,
    `- **Update**: ${entry.update}`,
    `- **Options (defaults)**: ${entry.defaults}`,
    `- **Paper**: [${entry.paper.cite}](${entry.paper.url})`,
    `- **Fused kernel**: ${fused.length === 0 ? 'none, composite tf ops on every backend' : fused.join(', ')}`,
    `- [Race it in the playground](${playgroundLink(entry.name)}); reference: {@link ${entry.name}}`,
    '',
  ].join('\n');
}

async function page(): Promise<string> {
  const fused = await fusedBackends();
  const byName = new Map(CATALOGUE.map((e) => [e.name, e]));
  const families = [...new Set(PLAYGROUND.map((p) => p.family))];
  const rows = [...CATALOGUE]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => {
      const f = fused.get(e.name) ?? [];
      return `| [${e.name}](#${e.name.toLowerCase()}) | ${PLAYGROUND.find((p) => p.name === e.name)?.family ?? '?'} | ${BACKENDS.map((b) => cell(f.includes(b))).join(' | ')} |`;
    });
  const out = [
    '---',
    'title: Optimizer catalogue',
    'group: Guides',
    '---',
    '',
    '# Optimizer catalogue',
    '',
    '<!-- Written by test/catalogue.test.ts from docs/optimizers.ts: edit that file, then run `npm run docs:catalogue`. -->',
    '',
    'Every optimizer is a function `name(learningRate, options?)` returning a `GradientTransformation`; `learningRate` is a',
    'number or a schedule. Each is a `chain` of the transformations listed, so the same parts can be',
    'recombined by hand ([wrappers cookbook](wrappers.md)). In the formulas `g` is the gradient, `p` the',
    'parameters, `u` the update (`p + u` is the new `p`), `lr` the learning rate, `t = count + 1`, `m` and',
    '`v` the moments and `^` a bias-corrected value.',
    '',
    'A fused kernel runs the whole step as one generated kernel call on that backend',
    '([performance](performance.md)); elsewhere the same chain runs as tf ops, with the same numbers',
    '([why some optimizers run composite](performance.md#why-some-optimizers-run-composite)).',
    'The playground links race the optimizer alone on Rosenbrock\'s valley, at its defaults and a suggested',
    'learning rate; add racers or change anything there.',
    '',
    '## At a glance',
    '',
    '| optimizer | family | wasm | cpu | webgpu | webgl |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ];
  for (const family of families) {
    const members = PLAYGROUND.filter((p) => p.family === family && byName.has(p.name));
    if (members.length === 0) continue;
    out.push(`## ${family}`, '');
    for (const m of members) out.push(section(byName.get(m.name)!, fused.get(m.name) ?? []));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

describe('the optimizer catalogue (docs/guides/optimizers.md)', () => {
  it('has one entry per exported optimizer, and the playground knows each', () => {
    const exported = OPTIMIZERS.map((o) => o.name).sort();
    const listed = CATALOGUE.map((e) => e.name).sort();
    expect(listed, 'docs/optimizers.ts must have exactly one entry per optimizer the library exports').toEqual(exported);
    for (const name of listed) expect(PLAYGROUND.some((p) => p.name === name), `${name} in the playground registry`).toBe(true);
  });

  it("each playground link opens the race with that optimizer and no error", () => {
    for (const { name } of CATALOGUE) {
      const { state, errors } = decodeState(playgroundLink(name).slice(playgroundLink(name).indexOf('?')));
      expect(errors, name).toEqual([]);
      expect(state.racers.map((r) => r.optimizer), name).toEqual([name]);
    }
  });

  it('the page is what the data and the library give', async () => {
    const wanted = await page();
    const current = readFileSync(PAGE, 'utf8');
    if (process.env.UPDATE_CATALOGUE === '1' && current !== wanted) {
      writeFileSync(PAGE, wanted);
      return;
    }
    expect(current, 'docs/guides/optimizers.md is stale: run `npm run docs:catalogue`').toBe(wanted);
  });
});
