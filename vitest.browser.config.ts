import { defineConfig } from 'vitest/config';

// The browser suite (npm run test:browser): Node-side tests that drive headless Chromium
// through playwright-core. One file at a time: each starts its own browser.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
