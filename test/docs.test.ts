// The API reference documents every export: TypeDoc converts src/index.ts with the repository's
// typedoc.json (as `npm run docs` does, without writing HTML) and its validation must find no
// export, and no documented member of one, without a doc comment, and nothing else to warn about.
// A fixture module with undocumented exports checks that the check names exactly those.
import { fileURLToPath } from 'node:url';
import { Application, Logger, LogLevel, type TypeDocOptions } from 'typedoc';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('fixtures/docs/', import.meta.url));

/** Keeps what TypeDoc reports instead of printing it. */
class CollectingLogger extends Logger {
  readonly messages: { level: LogLevel; text: string }[] = [];

  override log(message: string, level: LogLevel): void {
    super.log(message, level); // counts warnings and errors
    this.messages.push({ level, text: message });
  }
}

/** TypeDoc's English notDocumented warning: `name (Kind), defined in path, does not have any documentation`. */
const NOT_DOCUMENTED = /does not have any documentation$/;

interface DocsCheck {
  /** One line per reflection without a doc comment: `name (Kind), defined in file`. */
  undocumented: string[];
  /** Every other warning or error of the conversion and validation. */
  otherProblems: string[];
  /** The options TypeDoc ran with. */
  app: Application;
  /** Each group of the reference's index: its title and the exports in it. */
  groups: { title: string; names: string[] }[];
  /** The text of each project document (the guides, ...), by title, links as the site will write them. */
  documents: Map<string, string>;
}

/**
 * Converts and validates as `npm run docs` does, without rendering. `readConfig` reads the
 * repository's typedoc.json (and package.json); `options` override it. Type errors are
 * `npm run typecheck`'s business, so TypeDoc skips its own type check (3 s instead of 8 s).
 */
async function checkDocs(options: Partial<TypeDocOptions>, readConfig: boolean): Promise<DocsCheck> {
  const overrides: Partial<TypeDocOptions> = {
    lang: 'en',
    logLevel: 'Warn',
    skipErrorChecking: true,
    treatWarningsAsErrors: false,
    ...options,
  };
  const app = readConfig
    ? await Application.bootstrapWithPlugins({ options: `${ROOT}typedoc.json`, ...overrides })
    : await Application.bootstrapWithPlugins(overrides, []);
  const logger = new CollectingLogger();
  app.logger = logger;
  const project = await app.convert();
  if (project === undefined) throw new Error(`TypeDoc could not convert:\n${logger.messages.map((m) => m.text).join('\n')}`);
  app.validate(project);
  const problems = logger.messages.filter((m) => m.level >= LogLevel.Warn).map((m) => m.text);
  return {
    undocumented: problems
      .filter((m) => NOT_DOCUMENTED.test(m))
      .map((m) => m.replace(NOT_DOCUMENTED, '').replace(/, $/, '').replace(/defined in [^/\s]+\//, 'defined in ')),
    otherProblems: problems.filter((m) => !NOT_DOCUMENTED.test(m)),
    app,
    groups: (project.groups ?? []).map((g) => ({ title: g.title, names: g.children.map((c) => c.name) })),
    documents: new Map(
      (project.documents ?? []).map((d) => [d.name, d.content.map((part) => ('text' in part ? part.text : '')).join('')]),
    ),
  };
}

describe('API reference (TypeDoc over src/index.ts, with typedoc.json)', () => {
  let check: DocsCheck;
  beforeAll(async () => {
    check = await checkDocs({}, true);
  }, 120_000);

  it('has a doc comment on every export and on every member TypeDoc requires one for', () => {
    // On failure the diff lists each offender as `name (Kind), defined in src/file.ts`.
    expect(check.undocumented).toEqual([]);
  });

  it('checks what npm run docs checks, with nothing excused', () => {
    expect(check.app.options.getValue('entryPoints')).toEqual([`${ROOT}src/index.ts`]);
    expect(check.app.options.getValue('validation').notDocumented).toBe(true);
    expect(check.app.options.getValue('excludeNotDocumented')).toBe(false);
    expect(check.app.options.getValue('intentionallyNotDocumented')).toEqual([]);
    // TypeDoc's default list of kinds that need documentation, not a shorter one.
    expect([...check.app.options.getValue('requiredToBeDocumented')].sort()).toEqual(
      ['Accessor', 'Class', 'Enum', 'EnumMember', 'Function', 'Interface', 'Method', 'Property', 'TypeAlias', 'Variable'],
    );
  });

  it('gives no other warning: no unexported type referenced, no broken link', () => {
    expect(check.otherProblems).toEqual([]);
  });

  it("renders the guides, and the catalogue's playground links point into the site's playground folder", () => {
    expect([...check.documents.keys()]).toEqual(expect.arrayContaining(['Getting started', 'Optimizer catalogue', 'ARCHITECTURE', 'CONTRIBUTING']));
    const catalogue = check.documents.get('Optimizer catalogue')!;
    // scripts/typedoc-repo-links.mjs writes the path to the site's root when it writes each page.
    expect(catalogue).toContain('(tfjs-optax-site-root/playground/index.html?fn=rosenbrock&');
    expect(catalogue).not.toContain('examples/playground');
  });

  it('puts every export in one of the groups of typedoc.json (a @group tag in its doc comment)', () => {
    const known = check.app.options.getValue('groupOrder').filter((title) => title !== '*');
    // An export without a @group tag lands in a group named after its kind ("Functions", ...).
    const strays = check.groups.filter((g) => !known.includes(g.title));
    expect(strays).toEqual([]);
    expect(check.groups.map((g) => g.title)).toEqual(expect.arrayContaining(['Core', 'Optimizers', 'Transforms', 'Schedules']));
  });
});

describe('the documentation check itself', () => {
  it('names each undocumented export and member of a module, and nothing else', async () => {
    const fixture = await checkDocs(
      {
        entryPoints: [`${FIXTURE}exports.ts`],
        tsconfig: `${FIXTURE}tsconfig.json`,
        excludeInternal: true,
        disableSources: true,
        validation: { notExported: true, invalidLink: true, notDocumented: true },
      },
      false,
    );
    expect(fixture.undocumented).toEqual([
      'undocumentedFunction (CallSignature), defined in test/fixtures/docs/exports.ts',
      'PartlyDocumented.undocumentedMember (Property), defined in test/fixtures/docs/exports.ts',
      'UndocumentedAlias (TypeAlias), defined in test/fixtures/docs/exports.ts',
      'undocumentedConstant (Variable), defined in test/fixtures/docs/exports.ts',
    ]);
    expect(fixture.otherProblems).toEqual([]);
  }, 60_000);
});
