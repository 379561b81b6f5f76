// Refreshes the playground screenshots the README shows (docs/images/playground-race.png and
// playground-mlp.png): builds the playground, opens each page in headless Chromium on the
// page's best backend, waits for the run to finish, and saves a PNG. Run: npm run screenshots
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, serveStatic, watchErrors } from '../test/browser/chromium.js';
import { PLAYGROUND_DIST, RACE_QUERY, ROOT, buildPlayground, finished } from '../test/browser/playground-pages.js';

const OUT = join(ROOT, 'docs', 'images');
const SHOTS = [
  { file: 'playground-race.png', path: `/index.html${RACE_QUERY}` },
  { file: 'playground-mlp.png', path: '/mlp.html' },
];

await buildPlayground();
mkdirSync(OUT, { recursive: true });
const server = await serveStatic(PLAYGROUND_DIST);
const browser = await launchChromium();
try {
  for (const { file, path } of SHOTS) {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = watchErrors(page);
    const started = Date.now();
    await page.goto(`${server.url}${path}`);
    const hook = await finished(page, 300_000);
    errors.check();
    await page.screenshot({ path: join(OUT, file) });
    console.log(`docs/images/${file}: ${path} on ${hook.backend}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
