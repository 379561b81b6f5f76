// A child process of file-handler.test.ts, bundled by it with esbuild and run with plain node so
// that it starts in tens of milliseconds: saves checkpoints to one path with fileHandler, one
// after the other, until it is killed. Prints 'ready' once the first save is committed.
// Usage: node save-loop.mjs <target> <artifacts.json> <first index>
//   artifacts.json: an array of tf.io.ModelArtifacts, each weightData as base64.
import { readFileSync } from 'node:fs';
import { fileHandler } from '../../src/interop/file-handler.js';

const [target, file, first] = process.argv.slice(2);
const list = (JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, unknown>>).map((a) => ({
  ...a,
  weightData: new Uint8Array(Buffer.from(a.weightData as string, 'base64')).buffer,
}));
const handler = fileHandler(target);
const start = Number(first);
// A safety net: a child the test forgot to kill stops by itself (and the test sees it exit).
const deadline = Date.now() + 20_000;
for (let i = start; Date.now() < deadline; i++) {
  await handler.save!(list[i % list.length]);
  if (i === start) process.stdout.write('ready\n');
}
process.exit(3);
