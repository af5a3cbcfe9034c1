/**
 * The browser end-to-end suite: `npm run test:e2e` (scripts/e2e.ts checks for Chromium first).
 * The app is built once before the files run; the files run one at a time, each with its own
 * Chromium and a server per test on port 0.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    setupFiles: ['test/support/leak-check.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    // A page's answer to a click or a frame can take more than vitest's default second on a
    // loaded 2-core CI machine; a poll that would fail still fails, only later.
    expect: { poll: { timeout: 5000 } },
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
