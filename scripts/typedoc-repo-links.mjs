// TypeDoc plugin for `npm run docs`: relative links in the README (the landing page), the project
// documents and the doc comments that point at repository files which are not pages of the site
// (examples/*.ts, src/kernels/wasm/optimizers.wat, folders, Markdown files that are not project
// documents) are rewritten to the file in the repository, using `sourceLinkTemplate` and
// `gitRevision` from typedoc.json, like the "Defined in" links. TypeDoc would otherwise copy such
// files into media/, where a browser downloads a .ts file instead of showing it. Links to project
// documents (CHANGELOG.md, bench/results/*.md) stay links to their pages, and images stay copied
// into the site so the README's pictures show.
//
// Links to the playground's pages with a query (examples/playground/index.html?o=adam, as the
// optimizer catalogue writes them) become links to the playground that `npm run docs` builds into
// the site's playground/ folder, keeping the query, relative to the page they are on.
import { relative, resolve, sep } from 'node:path';
import { Converter, PageEvent, ReflectionKind } from 'typedoc';

/** Where the playground's pages are in the repository, and where `npm run docs` puts them in the site. */
const PLAYGROUND = /^examples\/playground\/(index|mlp)\.html$/;
const SITE_PLAYGROUND = 'playground';
/** Stands for the path from a page to the site's root until the page is written. */
const SITE_ROOT = 'tfjs-optax-site-root/';

const IMAGE = /\.(png|jpe?g|gif|svg|webp|avif|ico)$/i;

/** The repository URL of `path` (relative to the repository root, with `/`), from the source-link template. */
export function repositoryUrl(template, revision, path) {
  return template
    .replace(/\{gitRevision(:short)?\}/g, revision)
    .replace('{path}', path)
    .replace(/#[^#]*\{line\}[^#]*$/, '');
}

/** Every list of comment parts in the project: the readme, documents, and every comment. */
function* partLists(project) {
  if (project.readme) yield project.readme;
  for (const reflection of Object.values(project.reflections)) {
    if (reflection.kindOf(ReflectionKind.Document)) yield reflection.content;
    const comment = reflection.comment;
    if (comment) {
      yield comment.summary;
      for (const tag of comment.blockTags) yield tag.content;
    }
  }
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  // A relative link with a query: TypeDoc looks for a file named with the query, finds none and
  // warns. Register the file without the query and carry the query in the anchor.
  app.converter.on(Converter.EVENT_BEGIN, (context) => {
    const files = context.project.files;
    const register = files.register.bind(files);
    files.register = (sourcePath, relativePath) => {
      const at = relativePath.indexOf('?');
      if (at < 0) return register(sourcePath, relativePath);
      const found = register(sourcePath, relativePath.slice(0, at));
      return found && { target: found.target, anchor: relativePath.slice(at) };
    };
  });
  app.renderer.on(PageEvent.END, (page) => {
    if (!page.contents?.includes(SITE_ROOT)) return;
    const depth = page.url.split('/').length - 1;
    page.contents = page.contents.replaceAll(SITE_ROOT, '../'.repeat(depth) || './');
  });
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const template = app.options.getValue('sourceLinkTemplate');
    if (!template) return;
    const revision = app.options.getValue('gitRevision') || 'main';
    const root = app.options.getValue('displayBasePath') || process.cwd();
    const { project } = context;
    const rewritten = new Set();
    for (const parts of partLists(project)) {
      parts.forEach((part, i) => {
        if (part.kind !== 'relative-link' || part.target === undefined) return;
        const target = project.files.resolve(part.target, project);
        if (typeof target !== 'string' || IMAGE.test(target)) return; // a page of the site, or an image
        const path = relative(root, resolve(target)).split(sep).join('/');
        if (path.startsWith('..')) return; // outside the repository: leave it to TypeDoc
        const page = PLAYGROUND.exec(path);
        if (page) {
          const query = part.targetAnchor?.startsWith('?') ? part.targetAnchor : '';
          parts[i] = { kind: 'text', text: `${SITE_ROOT}${SITE_PLAYGROUND}/${page[1]}.html${query}` };
          rewritten.add(part.target);
          return;
        }
        const anchor = part.targetAnchor ? `#${part.targetAnchor}` : '';
        parts[i] = { kind: 'text', text: repositoryUrl(template, revision, path) + anchor };
        rewritten.add(part.target);
      });
    }
    // No page links to these files any more: keep TypeDoc from copying them into media/.
    const { mediaToPath, pathToMedia } = project.files;
    if (mediaToPath instanceof Map && pathToMedia instanceof Map) {
      for (const id of rewritten) {
        pathToMedia.delete(mediaToPath.get(id));
        mediaToPath.delete(id);
      }
    }
  });
}
