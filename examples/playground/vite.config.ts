// The playground's Vite config: `npm run playground` serves it, `npm run build:playground`
// writes a static site to examples/playground/dist that works from any path (base './').
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const repo = here('../../');
// node_modules may be a symlink (to a shared checkout): the dev server must be allowed to read
// its real location, and one copy of tfjs-core must serve both the playground and the library.
const modules = realpathSync(here('../../node_modules'));

export default defineConfig({
  root: here('.'),
  base: './',
  // Vite's cache stays inside the playground (not in a node_modules shared with other checkouts).
  cacheDir: here('.vite'),
  resolve: {
    alias: [
      // The library itself, from source: the playground exercises what src/ holds today.
      { find: /^tfjs-optax$/, replacement: here('../../src/index.ts') },
      // Two copies of tfjs-core would mean two engines (tensors of one unknown to the other).
      { find: /^@tensorflow\/tfjs-core$/, replacement: `${modules}/@tensorflow/tfjs-core/dist/index.js` },
    ],
    dedupe: ['@tensorflow/tfjs-core'],
  },
  server: { fs: { allow: [repo, modules] } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // tfjs with four backends is large; the playground is a demo, not a page to keep lean.
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      input: { index: here('index.html'), mlp: here('mlp.html') },
    },
  },
});
