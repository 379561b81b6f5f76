import { formatPath } from '../tree/walk.js';
import { bytesOf, crc32Hex, jsonCrc32 } from './crc32.js';
import { byteLengthOf, StateFormatError, type SavedValues, type StateManifest } from './state-manifest.js';

/*
 * Checksums (version 3 of the state format, see state-manifest.ts): every checkpoint
 * `stateToArtifacts` writes carries the CRC-32 (as zlib computes it, see crc32.ts) of each
 * tensor's bytes in its `tensors` entry (`checksum`), and the CRC-32 of the manifest itself, all
 * but its `checksum` field, as canonical JSON (keys sorted, UTF-8) in
 * `checksum: { algorithm: 'crc32', manifest }`. Loading recomputes both before it reads anything
 * else; a manifest without them (versions 1 and 2, the tf.Optimizer adapter's weights) loads
 * without this check.
 */

/**
 * `manifest` with its checksums (version 3): each tensor's CRC-32 over its bytes in `weights`
 * (the buffer {@link joinWeights} made of them), then the manifest's own.
 */
export function sealManifest(manifest: StateManifest, weights: ArrayBuffer): StateManifest {
  let offset = 0;
  const tensors = manifest.tensors.map((t) => {
    const bytes = byteLengthOf(t.dtype, t.shape);
    const checksum = crc32Hex(new Uint8Array(weights, offset, bytes));
    offset += bytes;
    return { ...t, checksum };
  });
  const { checksum: _old, ...body } = { ...manifest, tensors };
  return { ...body, checksum: { algorithm: 'crc32', manifest: jsonCrc32(body) } };
}

/**
 * Verifies the manifest's own checksum, if it has one: a damaged tensor table, structure or
 * count is a `StateFormatError` before anything reads them.
 */
export function checkManifestChecksum(owner: string, manifest: StateManifest): void {
  if (manifest.checksum === undefined) return;
  const { checksum, ...body } = manifest;
  const now = jsonCrc32(body);
  if (now !== checksum.manifest) {
    throw new StateFormatError(
      `${owner}: the checkpoint manifest does not match its checksum (CRC-32 ${checksum.manifest} saved, ${now} now): ` +
        `it was changed or damaged after it was saved`,
    );
  }
}

/** Verifies each tensor's bytes against its checksum, where the manifest has one. */
export function checkTensorChecksums(owner: string, manifest: StateManifest, values: readonly SavedValues[]): void {
  manifest.tensors.forEach((t, i) => {
    if (t.checksum === undefined) return;
    const now = crc32Hex(bytesOf(values[i]));
    if (now !== t.checksum) {
      throw new StateFormatError(
        `${owner}: the values of ${Array.isArray(t.path) ? formatPath(t.path, 'state') : `'${t.name}'`} do not match their checksum (CRC-32 ${t.checksum} saved, ${now} now): ` +
          `the weights were changed or damaged after they were saved`,
      );
    }
  });
}
