/**
 * Real Chromium for the end-to-end tests: Debian's `chromium` driven by playwright-core, one
 * browser per test file in a fresh profile directory, one page per test, every console error and
 * page error recorded so a test can require a clean console.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { BackoffPolicy } from '../../machines/backoff-schedule.ts';

/** Where the browser is; `THREADLINE_CHROMIUM` overrides it. */
export const chromiumPath = process.env.THREADLINE_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumInstalled(): boolean {
  return existsSync(chromiumPath);
}

export const resultsDir = fileURLToPath(new URL('../../test-results/', import.meta.url));

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches headless Chromium in a new, empty profile; `close` removes the profile too. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'threadline-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1000, height: 720 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface AppPage {
  page: Page;
  /** Console errors and uncaught page errors so far. */
  errors: string[];
  /** Saves `test-results/e2e-<name>.png`. */
  screenshot(name: string): Promise<string>;
}

export interface OpenOptions {
  /** `window.threadline.url`: the WebSocket to use instead of the page's own server. */
  socketUrl?: string;
  backoff?: Partial<BackoffPolicy>;
}

/** Opens the app at `httpUrl` in a new tab (so with an empty sessionStorage). */
export async function openApp(
  context: BrowserContext,
  httpUrl: string,
  options: OpenOptions = {},
): Promise<AppPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  const boot = {
    ...(options.socketUrl ? { url: options.socketUrl } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  };
  await page.addInitScript((config) => {
    (globalThis as { threadline?: unknown }).threadline = config;
  }, boot);
  await page.goto(httpUrl);
  return {
    page,
    errors,
    screenshot: async (name) => {
      await mkdir(resultsDir, { recursive: true });
      const path = join(resultsDir, `e2e-${name}.png`);
      await page.screenshot({ path, animations: 'disabled', caret: 'hide' });
      return path;
    },
  };
}

/**
 * The console errors that are not the browser's own report of a WebSocket that could not
 * connect, which Chromium logs by itself whenever a test takes the server away on purpose.
 */
export function unexpectedErrors(errors: string[]): string[] {
  return errors.filter((text) => !/^WebSocket connection to '.*' failed/.test(text));
}
