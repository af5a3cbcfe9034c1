import { defineConfig } from 'vitest/config';

/** The model-based suite: every path of each chart replayed against the real server and client. */
export default defineConfig({
  test: {
    include: ['model-tests/**/*.model.test.ts'],
    setupFiles: ['test/support/leak-check.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
