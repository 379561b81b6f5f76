// What every browser test needs: Debian's Chromium driven by playwright-core (never a
// downloaded browser build), and a static file server on 127.0.0.1, optionally sending the
// headers that make a page cross-origin isolated. ../shared/BROWSER.md records the flags.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The Chromium binary: Debian's package, or CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * SwiftShader backs WebGL2 and WebGPU on machines without a GPU; without
 * `--enable-unsafe-webgpu`, `navigator.gpu` exists but offers no adapter.
 */
export const CHROMIUM_ARGS = ['--enable-unsafe-swiftshader', '--enable-unsafe-webgpu'];

/** Launches headless Chromium, failing with the install command when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) ` +
        'or set CHROMIUM_PATH; .ci/run installs it when missing',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.bin': 'application/octet-stream',
};

export interface StaticServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`, without a trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /**
   * Send COOP/COEP (and CORP on every file) so the page is cross-origin isolated:
   * `crossOriginIsolated` is true and SharedArrayBuffer exists, which makes tfjs load its
   * threaded wasm build.
   */
  crossOriginIsolated?: boolean;
}

/**
 * Serves the files under `root` on 127.0.0.1 at a free port. `/` serves `index.html`;
 * paths that leave `root` get 403, missing files 404.
 */
export async function serveStatic(root: string, options: ServeOptions = {}): Promise<StaticServer> {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-store',
    };
    if (options.crossOriginIsolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok, fail) => server.close((e) => (e ? fail(e) : ok()))),
  };
}

/**
 * Collects the page's uncaught errors and console errors so a test can fail with them
 * instead of timing out; `check()` throws if any arrived.
 */
export function watchErrors(page: Page): { errors: string[]; check(): void } {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message.slice(0, 2000)}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text().slice(0, 2000)}`);
  });
  return {
    errors,
    check() {
      if (errors.length > 0) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
    },
  };
}
