import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/browser/ drives Chromium: npm run test:browser (vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel on both cores, in worker processes that each run many files, one
    // after the other, with one tfjs engine (isolate: false). Loading tfjs and its wasm backend
    // once per worker rather than once per file saves about a third of the suite's time; in
    // exchange a test file must leave the engine as it found it (backend, kernel mode) and count
    // tensors relative to its own start, never from zero.
    pool: 'forks',
    isolate: false,
  },
});
