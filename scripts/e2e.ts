/**
 * `npm run test:e2e`: the browser end-to-end suite (test/e2e, vitest), which builds the app and
 * drives Debian's Chromium. Without a Chromium it says so plainly and how to get one, and exits
 * 0 — or 1 when `CI` is set or `--require-browser` is given, so a CI run cannot pass without
 * the browser tests having run.
 */
import { spawnSync } from 'node:child_process';
import { chromiumInstalled, chromiumPath } from '../test/e2e/browser.ts';

const required = Boolean(process.env.CI) || process.argv.includes('--require-browser');
const vitestArgs = process.argv.slice(2).filter((arg) => arg !== '--require-browser');

if (!chromiumInstalled()) {
  process.stdout.write(
    [
      '',
      `Browser end-to-end tests DID NOT RUN: no Chromium at ${chromiumPath}.`,
      'Install it with:  sudo apt-get install chromium   (Debian/Ubuntu)',
      'or point THREADLINE_CHROMIUM at a Chromium binary, then run `npm run test:e2e`.',
      '',
    ].join('\n'),
  );
  process.exit(required ? 1 : 0);
}

const result = spawnSync(
  'npx',
  ['vitest', 'run', '--config', 'test/e2e/vitest.config.ts', ...vitestArgs],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
