import type * as tf from '@tensorflow/tfjs-core';
import { crc32Hex, jsonCrc32 } from './crc32.js';
import { STATE_FORMAT, StateFormatError } from './state-manifest.js';
import { concatBytes } from './weights-buffer.js';

/** What the file handler needs of Node's `fs/promises`. */
interface NodeFs {
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  open(path: string, flags: string): Promise<NodeFile>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  stat(path: string): Promise<{ isDirectory(): boolean }>;
}
interface NodeFile {
  writeFile(data: Uint8Array | string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}
interface NodePath {
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string, suffix?: string): string;
  resolve(...parts: string[]): string;
}
interface NodeEnv {
  fs: NodeFs;
  path: NodePath;
  /** This process's id and a tag of its host, written into the names of the files it saves. */
  pid: number;
  host: string;
  /** Whether a process of this host with this id is running. */
  alive(pid: number): boolean;
}

// Loaded on first use through a specifier bundlers leave alone, so browser bundles of the
// library never pull in Node's modules. The modules' functions are looked up at each call.
async function nodeEnv(): Promise<NodeEnv> {
  const load = (name: string) => import(/* @vite-ignore */ /* webpackIgnore: true */ name);
  let modules: [unknown, { default?: NodePath } & NodePath, { hostname(): string }];
  try {
    modules = await Promise.all([load('node:fs/promises'), load('node:path'), load('node:os')]);
  } catch {
    throw new Error('fileHandler: file:// needs Node.js (in a browser, save to indexeddb://, localstorage:// or downloads://)');
  }
  const [fs, path, os] = modules;
  const proc = (globalThis as unknown as { process: { pid: number; kill(pid: number, signal: 0): void } }).process;
  return {
    fs: fs as NodeFs,
    path: path.default ?? path,
    pid: proc.pid,
    host: parseInt(crc32Hex(new TextEncoder().encode(os.hostname())), 16).toString(36),
    alive: (pid) => {
      try {
        proc.kill(pid, 0);
        return true;
      } catch (e) {
        return (e as { code?: string }).code !== 'ESRCH';
      }
    },
  };
}

const JSON_NAME = 'state.json';
/** The name of a weights file this version writes: `<name>.<host>-<pid>-<random>.weights.bin`. */
const UNIQUE_WEIGHTS = /\.[0-9a-z]+-\d+-[0-9a-z]+\.weights\.bin$/;

/** The checksums the handler writes into the JSON file (next to tfjs's `weightsManifest`). */
interface FileChecksum {
  algorithm: 'crc32';
  /** CRC-32 of the JSON file's contents without this field, as canonical JSON (keys sorted). */
  json: string;
  /**
   * CRC-32 of each weights file, in the order the `weightsManifest` lists them. Left out for a
   * tfjs-optax state, whose manifest has a checksum per tensor over the same bytes.
   */
  weights?: string[];
}

type WeightsGroup = { paths: string[]; weights: tf.io.WeightsManifestEntry[] };
type SavedJson = Record<string, unknown> & { weightsManifest?: WeightsGroup[]; checksum?: FileChecksum };

/**
 * A `tf.io.IOHandler` that saves to and loads from the local file system, in Node (tfjs-core
 * alone has no `file://`; tfjs-node's handler also works). `path` is a directory, which
 * receives `state.json` (the manifest, in tfjs's model.json layout with a `weightsManifest`)
 * and the weights as `state.<id>.weights.bin`, or a `.json` file path, whose weights go beside
 * it as `<name>.<id>.weights.bin` (`<id>` is unique to each save). It saves whatever tfjs gives
 * it, so layers models work too:
 * `model.save(fileHandler('./ckpt/model.json'), { includeOptimizer: true })` and
 * `tf.loadLayersModel(fileHandler('./ckpt/model.json'))`. `saveState` and `loadState` use it
 * for `file://` URLs when tfjs has no handler of its own for them.
 *
 * A save is atomic: it writes the weights to a file no manifest names yet and the manifest to a
 * temporary name, flushes both to the disk, and renames the manifest over the old one, which
 * commits it. A crash, a kill or a full disk at any point leaves the old checkpoint or the new
 * one, whole; a failed save throws and changes nothing. After committing, it deletes the
 * weights files no manifest names any more and the leftovers of interrupted saves (its own
 * process's, or those of processes of this host that are no longer running), so none outlive
 * the next successful save. Saves to one path from one process run one after the other, in
 * the order they were called; from several processes, the last to commit wins, and none
 * deletes a file another running process is writing.
 *
 * The JSON file records the CRC-32 of itself and of each weights file (`checksum`; for an
 * optimizer state, whose manifest has a CRC-32 per tensor that `loadState` verifies, of itself
 * only); loading verifies them and throws a `StateFormatError` naming the file that was
 * damaged. Files written before checksums existed (a fixed `<name>.weights.bin`) load as
 * before.
 * @group Checkpoints
 */
export function fileHandler(path: string): tf.io.IOHandler {
  if (typeof path !== 'string' || path === '') throw new TypeError(`fileHandler: expected a path, got ${JSON.stringify(path)}`);
  const isJson = path.endsWith('.json');
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const env = await nodeEnv();
      const p = env.path;
      const jsonPath = p.resolve(isJson ? path : p.join(path, JSON_NAME));
      return oneAtATime(jsonPath, () => saveFiles(env, jsonPath, artifacts));
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const env = await nodeEnv();
      let jsonPath = path;
      if (!isJson) {
        const stat = await env.fs.stat(path).catch(() => null);
        if (stat === null) throw new Error(`fileHandler: no checkpoint at ${path}`);
        jsonPath = stat.isDirectory() ? env.path.join(path, JSON_NAME) : path;
      }
      return loadFiles(env, jsonPath);
    },
  };
}

/** The saves in progress, by manifest path: each waits for the one before it. */
const queues = new Map<string, Promise<void>>();

function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
  const run = (queues.get(key) ?? Promise.resolve()).then(task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

async function saveFiles(env: NodeEnv, jsonPath: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  const { fs, path: p } = env;
  const dir = p.dirname(jsonPath);
  const base = p.basename(jsonPath, '.json');
  const weightData = artifacts.weightData ?? [];
  const data = concatBytes(weightData instanceof ArrayBuffer ? [weightData] : (weightData as ArrayBuffer[]));
  const id = `${env.host}-${env.pid}-${Math.random().toString(36).slice(2, 10).padEnd(8, '0')}`;
  const weightsName = `${base}.${id}.weights.bin`;
  // Everything but the weights goes into the JSON (model.json's layout), so layers models
  // saved through this handler keep their training config and metadata too.
  const { weightData: _data, weightSpecs, ...rest } = artifacts;
  const body: SavedJson = JSON.parse(JSON.stringify({ ...rest, weightsManifest: [{ paths: [weightsName], weights: weightSpecs ?? [] }] }));
  const checksum: FileChecksum = { algorithm: 'crc32', json: jsonCrc32(body) };
  if (!checksumsItsWeights(artifacts)) checksum.weights = [crc32Hex(data)];
  const text = JSON.stringify({ ...body, checksum });
  const weightsPath = p.join(dir, weightsName);
  const tempPath = p.join(dir, `${base}.json.${id}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await writeDurably(fs, weightsPath, data);
    await writeDurably(fs, tempPath, text);
    await fs.rename(tempPath, jsonPath);
  } catch (e) {
    await Promise.all([weightsPath, tempPath].map((f) => fs.unlink(f).catch(() => undefined)));
    const error = new Error(`fileHandler: saving ${jsonPath} failed, the checkpoint there is unchanged: ${(e as Error).message}`, { cause: e });
    (error as Error & { code?: unknown }).code = (e as { code?: unknown }).code;
    throw error;
  }
  // The save is committed. Make the rename durable before deleting what the old manifest named.
  await syncDirectory(fs, dir);
  await cleanUp(env, dir, base, jsonPath).catch(() => undefined);
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: text.length,
      weightSpecsBytes: JSON.stringify(body.weightsManifest).length,
      weightDataBytes: data.byteLength,
    },
  };
}

/**
 * Whether the artifacts are a state `stateToArtifacts` sealed: a CRC-32 per tensor in a manifest
 * the JSON's own checksum covers, which `stateFromArtifacts` verifies. Its weights file is not
 * checksummed a second time.
 */
function checksumsItsWeights(artifacts: tf.io.ModelArtifacts): boolean {
  const manifest = artifacts.modelTopology as { format?: unknown; checksum?: unknown; tensors?: Array<{ checksum?: unknown }> } | undefined;
  return (
    artifacts.format === STATE_FORMAT &&
    manifest?.format === STATE_FORMAT &&
    manifest.checksum !== undefined &&
    Array.isArray(manifest.tensors) &&
    manifest.tensors.every((t) => typeof t.checksum === 'string')
  );
}

/** Writes a new file (never an existing one) and flushes it to the disk. */
async function writeDurably(fs: NodeFs, file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a directory's entries (a rename) to the disk, where the system allows it. */
async function syncDirectory(fs: NodeFs, dir: string): Promise<void> {
  let handle: NodeFile | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open a directory; the rename is still atomic there.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Deletes the files of the checkpoint `<base>` in `dir` that the manifest now in place does not
 * name: weights of earlier saves and leftovers of interrupted ones, of this format and of the
 * one before it (`<base>.weights.bin` and its `.tmp-` files). A file written by another
 * process is deleted only if that process is of this host and no longer running.
 */
async function cleanUp(env: NodeEnv, dir: string, base: string, jsonPath: string): Promise<void> {
  const { fs, path: p } = env;
  const names = await fs.readdir(dir);
  // Read after listing: a file listed that a manifest committed since then names is kept.
  const current = JSON.parse(new TextDecoder().decode(await fs.readFile(jsonPath))) as SavedJson;
  const named = new Set((current.weightsManifest ?? []).flatMap((g) => g.paths));
  const b = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ours = new RegExp(`^${b}\\.(?:json\\.)?([0-9a-z]+)-(\\d+)-[0-9a-z]+(?:\\.weights\\.bin|\\.tmp)$`);
  const legacy = new RegExp(`^${b}\\.(?:weights\\.bin|(?:weights\\.bin|json)\\.tmp-\\d+-[0-9a-z]+)$`);
  const stale = names.filter((name) => {
    if (named.has(name)) return false;
    if (legacy.test(name)) return true;
    const m = ours.exec(name);
    if (m === null || m[1] !== env.host) return false;
    const pid = Number(m[2]);
    return pid === env.pid || !env.alive(pid);
  });
  await Promise.all(stale.map((name) => fs.unlink(p.join(dir, name)).catch(() => undefined)));
}

async function loadFiles(env: NodeEnv, jsonPath: string): Promise<tf.io.ModelArtifacts> {
  const { fs, path: p } = env;
  const readJson = async (): Promise<string> => {
    try {
      return new TextDecoder().decode(await fs.readFile(jsonPath));
    } catch {
      throw new Error(`fileHandler: cannot read ${jsonPath}`);
    }
  };
  let text = await readJson();
  // A save committed while this load reads may delete the weights the manifest it read named:
  // then the manifest has changed, and the load starts again from the new one.
  for (let attempt = 0; ; attempt++) {
    const json = parseJson(jsonPath, text);
    const files = (json.weightsManifest ?? []).flatMap((g) => g.paths);
    const parts: Uint8Array[] = [];
    let missing: string | undefined;
    for (const file of files) {
      const bytes = await fs.readFile(p.join(p.dirname(jsonPath), file)).catch((e: { code?: string }) => {
        if (e.code === 'ENOENT') return null;
        throw new StateFormatError(`fileHandler: cannot read ${file}, which ${jsonPath} names (${(e as Error).message})`);
      });
      if (bytes === null) {
        missing = file;
        break;
      }
      parts.push(bytes);
    }
    if (missing !== undefined) {
      const now = await readJson();
      if (now !== text && attempt < 8) {
        text = now;
        continue;
      }
      throw new StateFormatError(`fileHandler: ${jsonPath} names the weights file ${missing}, which is missing`);
    }
    checkWeightFiles(jsonPath, json, files, parts);
    const { weightsManifest: _manifest, checksum: _checksum, ...rest } = json;
    const specs = (json.weightsManifest ?? []).flatMap((g) => g.weights);
    return { ...(rest as tf.io.ModelArtifacts), weightSpecs: specs, weightData: concatBytes(parts).buffer };
  }
}

/** The JSON file parsed, its own checksum (if any) verified. */
function parseJson(jsonPath: string, text: string): SavedJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new StateFormatError(`fileHandler: ${jsonPath} is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new StateFormatError(`fileHandler: ${jsonPath} does not hold a JSON object`);
  const saved = json as SavedJson;
  const groups = saved.weightsManifest ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => g !== null && typeof g === 'object' && Array.isArray(g.paths) && Array.isArray(g.weights))) {
    throw new StateFormatError(`fileHandler: the weightsManifest of ${jsonPath} is malformed`);
  }
  if (saved.checksum === undefined) {
    // This layout's files always have a checksum: one without it has lost its key.
    const named = groups.flatMap((g) => g.paths).find((f) => typeof f === 'string' && UNIQUE_WEIGHTS.test(f));
    if (named !== undefined) throw new StateFormatError(`fileHandler: ${jsonPath} names ${named} but has no checksum: it was changed or damaged after it was saved`);
    return saved;
  }
  const { checksum, ...body } = saved;
  if (
    checksum === null ||
    typeof checksum !== 'object' ||
    checksum.algorithm !== 'crc32' ||
    typeof checksum.json !== 'string' ||
    (checksum.weights !== undefined && !Array.isArray(checksum.weights))
  ) {
    throw new StateFormatError(`fileHandler: the checksum in ${jsonPath} is ${JSON.stringify(checksum)}, expected { algorithm: 'crc32', json, weights }`);
  }
  const now = jsonCrc32(body);
  if (now !== checksum.json) {
    throw new StateFormatError(`fileHandler: ${jsonPath} does not match its checksum (CRC-32 ${checksum.json} saved, ${now} now): it was changed or damaged after it was saved`);
  }
  return saved;
}

/** Each weights file against its checksum, when the JSON file has them. */
function checkWeightFiles(jsonPath: string, json: SavedJson, files: readonly string[], parts: readonly Uint8Array[]): void {
  const sums = json.checksum?.weights;
  if (sums === undefined) return;
  if (sums.length !== files.length) {
    throw new StateFormatError(`fileHandler: ${jsonPath} has ${sums.length} weights checksums for its ${files.length} weights files`);
  }
  files.forEach((file, i) => {
    const now = crc32Hex(parts[i]);
    if (now !== sums[i]) {
      throw new StateFormatError(
        `fileHandler: the weights file ${file} does not match its checksum in ${jsonPath} (CRC-32 ${sums[i]} saved, ${now} now): it was changed or damaged after it was saved`,
      );
    }
  });
}
