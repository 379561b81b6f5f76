import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/browser/ drives Chromium: npm run test:browser (vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file gets its own tfjs engine; files run in parallel on both cores.
    pool: 'forks',
  },
});
