import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { labelOf, OTHER_EXPORTS, Recipe, REGISTRY, recipeArb } from './registry.js';

// The registry the property suites run over is the package's list of transformations: every
// export is in it or is named as something else, and each entry lists the options its factory
// says it knows (the "known options" of the error for an unknown one), so a new export or a new
// option cannot go untested by the properties.

/** The options a factory reports knowing, read from the TypeError an unknown option gets. */
function knownOptions(entry: (typeof REGISTRY)[number]): string[] | undefined {
  const recipe = fc.sample(recipeArb(entry), { numRuns: 1, seed: 1 })[0];
  try {
    new Recipe(entry, recipe.args, { ...recipe.options, zzUnknownOption: 1 }).make({ leafCount: 2 });
  } catch (e) {
    const m = /known options: ([^)]*)\)/.exec((e as Error).message);
    if (m) return m[1] === '' ? [] : m[1].split(', ');
  }
  return undefined;
}

describe('the property registry', () => {
  it('covers every exported transformation, optimizer and wrapper', () => {
    const covered = new Set(REGISTRY.map((entry) => entry.name));
    const missing = Object.keys(api).filter((name) => !covered.has(name) && !OTHER_EXPORTS.has(name));
    expect(missing).toEqual([]);
    // (OTHER_EXPORTS may name an export the API promises before this branch has it.)
    const notExported = [...covered].filter((name) => !(name in api));
    expect(notExported).toEqual([]);
  });

  it.each(REGISTRY.filter((entry) => entry.options !== undefined && entry.name !== 'injectHyperparams').map((entry) => [labelOf(entry), entry] as const))(
    '%s: lists every option its factory knows',
    (_label, entry) => {
      const known = knownOptions(entry);
      expect(known, 'the factory should refuse an unknown option, listing the ones it knows').toBeDefined();
      const listed = [...Object.keys(entry.options ?? {}), ...Object.keys(entry.omitted ?? {})];
      if (entry.rateOption && !listed.includes(entry.rateOption)) listed.push(entry.rateOption);
      expect([...listed].sort()).toEqual([...known!].sort());
    },
  );
});
