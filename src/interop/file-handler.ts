import type * as tf from '@tensorflow/tfjs-core';
import { concatBytes } from './state-codec.js';

/** What the file handler needs of Node's `fs/promises` and `path`. */
interface NodeFs {
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  stat(path: string): Promise<{ isDirectory(): boolean }>;
}
interface NodePath {
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string, suffix?: string): string;
}

// Loaded on first use through a specifier bundlers leave alone, so browser bundles of the
// library never pull in Node's modules.
async function nodeModules(): Promise<{ fs: NodeFs; path: NodePath }> {
  const load = (name: string) => import(/* @vite-ignore */ /* webpackIgnore: true */ name);
  try {
    const [fs, path] = await Promise.all([load('node:fs/promises'), load('node:path')]);
    return { fs: fs as NodeFs, path: (path.default ?? path) as NodePath };
  } catch {
    throw new Error('fileHandler: file:// needs Node.js (in a browser, save to indexeddb://, localstorage:// or downloads://)');
  }
}

const JSON_NAME = 'state.json';

/**
 * A `tf.io.IOHandler` that saves to and loads from the local file system, in Node (tfjs-core
 * alone has no `file://`; tfjs-node's handler also works). `path` is a directory, which
 * receives `state.json` (the manifest, in tfjs's model.json layout with a `weightsManifest`)
 * and `state.weights.bin`, or a `.json` file path, whose weights go beside it as
 * `<name>.weights.bin`. It saves whatever tfjs gives it, so layers models work too:
 * `model.save(fileHandler('./ckpt/model.json'), { includeOptimizer: true })` and
 * `tf.loadLayersModel(fileHandler('./ckpt/model.json'))`. Each file is written to a temporary name and renamed, so an
 * interrupted save never leaves a half-written checkpoint under the final name. `saveState` and
 * `loadState` use it for `file://` URLs when tfjs has no handler of its own for them.
 * @group Checkpoints
 */
export function fileHandler(path: string): tf.io.IOHandler {
  if (typeof path !== 'string' || path === '') throw new TypeError(`fileHandler: expected a path, got ${JSON.stringify(path)}`);
  const isJson = path.endsWith('.json');
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { fs, path: p } = await nodeModules();
      const dir = isJson ? p.dirname(path) : path;
      const jsonPath = isJson ? path : p.join(dir, JSON_NAME);
      const weightsName = `${p.basename(jsonPath, '.json')}.weights.bin`;
      await fs.mkdir(dir, { recursive: true });
      const weightData = artifacts.weightData ?? [];
      const data = concatBytes(weightData instanceof ArrayBuffer ? [weightData] : (weightData as ArrayBuffer[]));
      // Everything but the weights goes into the JSON (model.json's layout), so layers models
      // saved through this handler keep their training config and metadata too.
      const { weightData: _data, weightSpecs, ...rest } = artifacts;
      const json = { ...rest, weightsManifest: [{ paths: [weightsName], weights: weightSpecs ?? [] }] };
      const text = JSON.stringify(json);
      await writeAtomically(fs, p.join(dir, weightsName), data);
      await writeAtomically(fs, jsonPath, text);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: text.length,
          weightSpecsBytes: JSON.stringify(json.weightsManifest).length,
          weightDataBytes: data.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const { fs, path: p } = await nodeModules();
      let jsonPath = path;
      if (!isJson) {
        const stat = await fs.stat(path).catch(() => null);
        if (stat === null) throw new Error(`fileHandler: no checkpoint at ${path}`);
        jsonPath = stat.isDirectory() ? p.join(path, JSON_NAME) : path;
      }
      const text = new TextDecoder().decode(await fs.readFile(jsonPath).catch(() => {
        throw new Error(`fileHandler: cannot read ${jsonPath}`);
      }));
      let json: Record<string, unknown> & { weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new Error(`fileHandler: ${jsonPath} is not valid JSON (${(e as Error).message})`);
      }
      const groups = Array.isArray(json.weightsManifest) ? json.weightsManifest : [];
      const parts: Uint8Array[] = [];
      const specs: tf.io.WeightsManifestEntry[] = [];
      for (const group of groups) {
        for (const file of group.paths) parts.push(await fs.readFile(p.join(p.dirname(jsonPath), file)));
        specs.push(...group.weights);
      }
      const { weightsManifest: _manifest, ...rest } = json;
      return { ...(rest as tf.io.ModelArtifacts), weightSpecs: specs, weightData: concatBytes(parts).buffer };
    },
  };
}

async function writeAtomically(fs: NodeFs, target: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${target}.tmp-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, target);
}
