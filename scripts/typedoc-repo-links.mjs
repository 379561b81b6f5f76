// TypeDoc plugin for `npm run docs`: relative links in the README (the landing page), the project
// documents and the doc comments that point at repository files which are not pages of the site
// (examples/*.ts, src/kernels/wasm/optimizers.wat, folders, Markdown files that are not project
// documents) are rewritten to the file in the repository, using `sourceLinkTemplate` and
// `gitRevision` from typedoc.json, like the "Defined in" links. TypeDoc would otherwise copy such
// files into media/, where a browser downloads a .ts file instead of showing it. Links to project
// documents (CHANGELOG.md, bench/results/*.md) stay links to their pages, and images stay copied
// into the site so the README's pictures show.
import { relative, resolve, sep } from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

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
