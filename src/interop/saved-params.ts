import { describeNode, formatPath, isPlainObject, isTensor, sortedKeys } from '../tree/walk.js';
import { StateFormatError, type ManifestParam, type StateManifest } from './state-manifest.js';

// The parameters a state was saved for: recorded in the manifest by saveState, compared with
// the ones given when it is loaded.

/** The parameter leaves of a tree as the manifest records them. */
export function describeParams(owner: string, params: unknown): ManifestParam[] {
  const out: ManifestParam[] = [];
  const visit = (node: unknown, path: Array<string | number>): void => {
    if (isTensor(node)) {
      out.push({ name: formatPath(path), path: [...path], dtype: node.dtype, shape: [...node.shape] });
    } else if (Array.isArray(node)) {
      node.forEach((child, k) => visit(child, [...path, k]));
    } else if (isPlainObject(node)) {
      for (const key of sortedKeys(node)) visit(node[key], [...path, key]);
    } else if (node !== null && node !== undefined) {
      throw new StateFormatError(`${owner}: ${formatPath(path, 'params')} is ${describeNode(node)}, not a tensor or a subtree`);
    }
  };
  visit(params, []);
  return out;
}

/**
 * Checks that the params a checkpoint was saved for (if it recorded them) are the params given
 * now: same paths, dtypes and shapes.
 */
export function checkSavedParams(owner: string, manifest: StateManifest, params: unknown): void {
  if (manifest.params === undefined) return;
  const now = describeParams(owner, params);
  const saved = new Map(manifest.params.map((p) => [p.name, p]));
  for (const p of now) {
    const s = saved.get(p.name);
    if (s === undefined) {
      const known = manifest.params.map((q) => q.name);
      throw new StateFormatError(
        `${owner}: the checkpoint was saved for other params: ${formatPath(p.path, 'params')} is not among its ${known.length} leaves (${known.slice(0, 8).join(', ')}${known.length > 8 ? ', ...' : ''})`,
      );
    }
    if (s.dtype !== p.dtype || s.shape.length !== p.shape.length || s.shape.some((d, i) => d !== p.shape[i])) {
      throw new StateFormatError(
        `${owner}: the checkpoint was saved for other params: ${formatPath(p.path, 'params')} is ${p.dtype} [${p.shape.join(', ')}] now, ${s.dtype} [${s.shape.join(', ')}] in the checkpoint`,
      );
    }
    saved.delete(p.name);
  }
  if (saved.size > 0) {
    throw new StateFormatError(
      `${owner}: the checkpoint was saved for other params: it has ${[...saved.values()].slice(0, 8).map((q) => formatPath(q.path, 'params')).join(', ')}, which the params given lack`,
    );
  }
}
