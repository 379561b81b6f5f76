// The README and the guides (docs/guides/*.md, rendered into the reference site by `npm run
// docs`) stay true: every code block runs in CI, every relative link and #anchor resolves, and
// the README stays a front page. A TypeScript block is either a whole example (examples/*.ts,
// which test/examples.test.ts runs) or starts with `// from examples/<file>` and is an excerpt of
// that example, line for line; a shell block runs only commands that exist (npm scripts, files).
// An anchor must name a heading of its page under both GitHub's and TypeDoc's rules for heading
// ids, so it works on GitHub and in the site.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { decodeMlpState } from '../examples/playground/src/mlp-state.js';
import { decodeState } from '../examples/playground/src/race-state.js';

vi.mock('tfjs-optax', () => import('../src/index.js'));

const ROOT = resolve(__dirname, '..');
const GUIDES = join(ROOT, 'docs', 'guides');
const README_MAX_LINES = 250;

const guides = readdirSync(GUIDES).filter((f) => f.endsWith('.md')).map((f) => join(GUIDES, f));
/** Every Markdown page of the repository that the site renders or GitHub shows as documentation. */
const pages = [join(ROOT, 'README.md'), join(ROOT, 'CONTRIBUTING.md'), join(ROOT, 'ARCHITECTURE.md'), ...guides];
const rel = (file: string) => relative(ROOT, file);
const read = (file: string) => readFileSync(file, 'utf8');

/** Fenced code blocks: language and body. */
function codeBlocks(text: string): { lang: string; body: string }[] {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2] }));
}

/** The text outside code blocks and inline code, where links are. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Heading texts of a Markdown page, as rendered (no code fences, no inline-code backticks, link text only). */
function headings(text: string): string[] {
  return [...text.replace(/^```[\s\S]*?^```$/gm, '').matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, ''));
}

/** GitHub's heading id. */
function githubSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** TypeDoc's heading id (its Slugger, lowercased). */
function typedocSlug(heading: string): string {
  const slug = heading.trim().replace(/[\u2000-\u206F\u2E00-\u2E7F\\'!"#$%&()*+,./:;<=>?@[\]^`{|}~]/g, '').replace(/\s/g, '-').replace(/--+/, '-');
  return (slug || '_').toLowerCase();
}

/** Relative links of a page: [text](target) and <a href>, images included. */
function links(text: string): string[] {
  const body = prose(text);
  const md = [...body.matchAll(/\]\(((?:[^()\s]|\([^()\s]*\))+)\)/g)].map((m) => m[1]);
  const html = [...body.matchAll(/<a [^>]*href="([^"]+)"/g)].map((m) => m[1]);
  return [...md, ...html].filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('/'));
}

describe('the README', () => {
  const readme = read(join(ROOT, 'README.md'));

  it(`is a front page of at most ${README_MAX_LINES} lines`, () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('links to every guide and to the architecture page', () => {
    for (const guide of guides) expect(readme, rel(guide)).toContain(`](${rel(guide)})`);
    expect(readme).toContain('](ARCHITECTURE.md)');
  });

  it('every guide is a page of the site (typedoc.json projectDocuments)', () => {
    const config = read(join(ROOT, 'typedoc.json'));
    for (const guide of guides) expect(config, rel(guide)).toContain(`"${rel(guide)}"`);
    for (const doc of ['ARCHITECTURE.md', 'CONTRIBUTING.md']) expect(config).toContain(`"${doc}"`);
    for (const guide of guides) expect(read(guide), rel(guide)).toMatch(/^---\ntitle: .+\ngroup: Guides\n---\n/);
  });
});

describe.each(pages.map((p) => [rel(p), p] as const))('%s', (_, page) => {
  const text = read(page);

  it('has only code blocks that run in CI', () => {
    const scripts = Object.keys(JSON.parse(read(join(ROOT, 'package.json'))).scripts as Record<string, string>);
    for (const { lang, body } of codeBlocks(text)) {
      if (lang === 'ts') {
        const from = /^\/\/ from examples\/([\w-]+\.ts)\n/.exec(body);
        if (!from) {
          const whole = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts')).some((f) => read(join(ROOT, 'examples', f)).trim() === body.trim());
          expect(whole, `a ts block that is neither a whole example nor marked '// from examples/<file>':\n${body}`).toBe(true);
          continue;
        }
        const source = read(join(ROOT, 'examples', from[1])).split('\n').map((l) => l.trim());
        for (const line of body.split('\n').slice(1).map((l) => l.trim())) {
          if (line === '' || line.startsWith('// ...')) continue;
          expect(source, `a line not in examples/${from[1]}: ${line}`).toContain(line);
        }
      } else if (lang === 'sh') {
        for (const line of body.split('\n')) {
          const command = line.replace(/#.*$/, '').trim();
          if (command === '') continue;
          for (const part of command.split('&&').map((c) => c.trim())) {
            const run = /^npm run ([\w:-]+)/.exec(part);
            if (run) expect(scripts, `npm run ${run[1]}`).toContain(run[1]);
            else if (/^npx tsx /.test(part)) expect(existsSync(join(ROOT, part.split(/\s+/)[2])), part).toBe(true);
            else expect(part, 'a shell command other than npm ci, npm test, npm install, npm pack, npm run <script> or npx tsx <file>').toMatch(/^(npm (ci|test|install|pack)\b|git clone )/);
          }
        }
      } else {
        throw new Error(`a \`\`\`${lang} block: only ts and sh blocks are checked, so only those may be used`);
      }
    }
  });

  it('has no broken relative link or #anchor', () => {
    const broken: string[] = [];
    for (const link of links(text)) {
      const [pathAndQuery, anchor] = link.split('#');
      const [path, query] = pathAndQuery.split('?');
      const target = path === '' ? page : resolve(dirname(page), path);
      if (!existsSync(target)) {
        broken.push(`${link}: no file ${rel(target)}`);
        continue;
      }
      if (query !== undefined) {
        // Only the playground's pages take a query: it must read back without a message.
        const decoded = rel(target) === 'examples/playground/index.html' ? decodeState(`?${query}`) : rel(target) === 'examples/playground/mlp.html' ? decodeMlpState(`?${query}`) : undefined;
        if (!decoded) broken.push(`${link}: a query on a page that takes none`);
        else if (decoded.errors.length > 0) broken.push(`${link}: ${decoded.errors.join('; ')}`);
      }
      if (anchor !== undefined && target.endsWith('.md')) {
        const heads = headings(read(target));
        const byGithub = heads.map(githubSlug);
        const byTypedoc = heads.map(typedocSlug);
        const i = byGithub.indexOf(anchor);
        if (i < 0) broken.push(`${link}: no heading with the id '${anchor}' in ${rel(target)}`);
        else if (byTypedoc[i] !== anchor) broken.push(`${link}: the site names that heading '${byTypedoc[i]}' (simplify the heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
