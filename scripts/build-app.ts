/**
 * Builds the browser app into dist/app with Vite: `npm run build`. With `--if-stale` (what
 * `npm start` runs first) it builds only when the build is missing or older than a source file,
 * so a restart does not wait for a build it does not need.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { appDistDir, appViteConfig } from '../server/static.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
/** What the app is built from: its sources, the shared client and charts, the lockfile. */
const sources = ['client', 'machines', 'package-lock.json'];

function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Whether dist/app is missing or older than any source. */
export function appIsStale(): boolean {
  const built = statSync(join(appDistDir, 'index.html'), { throwIfNoEntry: false });
  if (!built) return true;
  return sources.some((source) => newestMtime(join(repo, source)) > built.mtimeMs);
}

/** Builds the app; with `ifStale`, only when needed. Returns whether it built. */
export async function buildApp({ ifStale = false } = {}): Promise<boolean> {
  if (ifStale && !appIsStale()) return false;
  const { build } = await import('vite');
  // Vite builds React's development bundle when NODE_ENV says so (vitest sets it to `test`);
  // what is tested must be what is served.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: appViteConfig, mode: 'production' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ifStale = process.argv.includes('--if-stale');
  const started = Date.now();
  buildApp({ ifStale }).then(
    (built) =>
      process.stdout.write(
        built
          ? `threadline: built the browser app into dist/app in ${Date.now() - started} ms\n`
          : 'threadline: the browser app in dist/app is up to date\n',
      ),
    (error: unknown) => {
      process.stderr.write(`threadline: building the browser app failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
