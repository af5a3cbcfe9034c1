/**
 * The connection in real Chromium: a link severed mid-answer heals (Reconnecting → Connected) with
 * the whole answer and no word twice; a reload mid-answer resumes the thread; a message typed
 * offline waits, survives a reload, and goes out when the server is back; a server restart that
 * loses the session says what was lost.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.ts';
import { dispose, startServer } from '../support/harness.ts';
import {
  type Browser,
  launchBrowser,
  type OpenOptions,
  openApp,
  unexpectedErrors,
} from './browser.ts';
import { localAnswer } from './expected.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function open(httpUrl: string, options: OpenOptions = {}) {
  const app = await openApp(browser.context, httpUrl, options);
  dispose(() => app.page.close(), `page ${app.page.url()}`);
  return app;
}

async function proxyTo(port: number) {
  const proxy = await new FaultProxy({ targetPort: port }).start();
  dispose(() => proxy.stop());
  return proxy;
}

const answers = (page: Page) => page.getByTestId('answer');
const connectionText = async (page: Page) =>
  ((await page.getByTestId('connection').textContent()) ?? '').replace(/\s+/g, ' ');
const messageBox = (page: Page) => page.getByRole('textbox', { name: 'Message' });

async function wordsShown(page: Page): Promise<number> {
  if ((await answers(page).count()) === 0) return 0;
  return ((await answers(page).last().textContent()) ?? '').split(' ').length;
}

async function send(page: Page, text: string) {
  await messageBox(page).fill(text);
  await messageBox(page).press('Enter');
}

/**
 * Presses "Retry now" until the page is connected. The client may reconnect by itself before the
 * button is reached (its first retry waits 0–300 ms): the button only skips a wait.
 */
async function retryUntilConnected(page: Page) {
  await expect
    .poll(
      async () => {
        const retry = page.getByRole('button', { name: /Retry/ });
        if (await retry.isVisible()) await retry.click({ timeout: 1000 }).catch(() => {});
        return connectionText(page);
      },
      { timeout: 15_000 },
    )
    .toContain('Connected');
}

describe('connection trouble', () => {
  it('heals a link severed mid-answer: Reconnecting, then Connected, the whole answer once', async () => {
    const server = await startServer({ ui: 'static', localWordDelayMs: 40 });
    const proxy = await proxyTo(server.port);
    const { page, errors, screenshot } = await open(`http://127.0.0.1:${proxy.port}/`);
    await expect.poll(() => connectionText(page)).toContain('Connected');

    await send(page, 'Survive a dropped link');
    await expect.poll(() => wordsShown(page)).toBeGreaterThanOrEqual(5);
    proxy.setMode('refuse');
    proxy.sever();
    await expect
      .poll(() => connectionText(page), { timeout: 10_000 })
      .toMatch(/Reconnecting \(attempt \d+\/10\) in \d+ s…/);
    await screenshot('reconnecting');

    // The server goes on answering meanwhile; it all arrives after the resume, exactly once.
    await page.waitForTimeout(500);
    proxy.setMode('pass');
    await page.getByRole('button', { name: 'Retry now' }).click();
    await expect.poll(() => connectionText(page)).toContain('Connected');
    const expected = await localAnswer('Survive a dropped link');
    await expect.poll(() => answers(page).last().textContent(), { timeout: 10_000 }).toBe(expected);
    expect(await connectionText(page)).toContain('Session resumed');
    await screenshot('reconnected');
    expect(unexpectedErrors(errors)).toEqual([]);
  });

  it('says "Connection lost" when the attempts run out, and Retry brings it back', async () => {
    const server = await startServer({ ui: 'static', localWordDelayMs: 5, allowedOrigins: '*' });
    const proxy = await proxyTo(server.port);
    const { page, errors, screenshot } = await open(`http://127.0.0.1:${server.port}/`, {
      socketUrl: proxy.url,
      backoff: { maxAttempts: 2, firstDelayMaxMs: 0, baseDelayMs: 200, jitter: 0 },
    });
    await expect.poll(() => connectionText(page)).toContain('Connected');
    proxy.setMode('refuse');
    proxy.sever();
    await expect
      .poll(() => connectionText(page), { timeout: 10_000 })
      .toBe('Connection lost Gave up after 2 attempts.Retry');
    await screenshot('connection-lost');

    proxy.setMode('pass');
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await expect.poll(() => connectionText(page)).toContain('Connected');
    await send(page, 'Back again');
    await expect
      .poll(() => answers(page).last().textContent(), { timeout: 10_000 })
      .toBe(await localAnswer('Back again'));
    expect(unexpectedErrors(errors)).toEqual([]);
  });

  it('resumes a thread after a reload mid-answer, with its history and draft', async () => {
    const server = await startServer({ ui: 'static', localWordDelayMs: 40 });
    const httpUrl = `http://127.0.0.1:${server.port}/`;
    const { page, errors, screenshot } = await open(httpUrl);
    await expect.poll(() => connectionText(page)).toContain('Connected');
    await send(page, 'First question');
    const first = await localAnswer('First question');
    await expect.poll(() => answers(page).last().textContent(), { timeout: 10_000 }).toBe(first);

    await send(page, 'Second question');
    await expect.poll(() => wordsShown(page)).toBeGreaterThanOrEqual(5);
    await messageBox(page).fill('a draft I have not sent');
    await page.reload();

    await expect.poll(() => page.locator('.turn').count()).toBe(2);
    expect(await messageBox(page).inputValue()).toBe('a draft I have not sent');
    await expect.poll(() => connectionText(page)).toContain('Session resumed');
    const second = await localAnswer('Second question', [
      { request: 'First question', answer: first },
    ]);
    await expect.poll(() => answers(page).last().textContent(), { timeout: 10_000 }).toBe(second);
    expect(await answers(page).first().textContent()).toBe(first);
    await screenshot('reloaded');
    expect(errors).toEqual([]);
  });

  it('keeps a message typed offline as pending, across a reload, and sends it when back', async () => {
    // The socket's Origin (the server's port) differs from its Host (the proxy's port).
    const server = await startServer({ ui: 'static', localWordDelayMs: 5, allowedOrigins: '*' });
    const proxy = await proxyTo(server.port);
    // The page comes from the server itself, its socket through the proxy: the page can reload
    // while the socket cannot connect.
    const { page, errors, screenshot } = await open(`http://127.0.0.1:${server.port}/`, {
      socketUrl: proxy.url,
    });
    await expect.poll(() => connectionText(page)).toContain('Connected');

    await browser.context.setOffline(true);
    proxy.setMode('refuse');
    proxy.sever();
    await expect.poll(() => connectionText(page), { timeout: 10_000 }).toContain('Reconnecting');
    await send(page, 'Written while offline');
    await expect
      .poll(() => page.locator('.badge').last().textContent())
      .toBe('Pending: sends when reconnected');
    await screenshot('offline-pending');

    await browser.context.setOffline(false);
    await page.reload();
    await expect
      .poll(() => page.locator('.badge').last().textContent())
      .toBe('Pending: sends when reconnected');
    proxy.setMode('pass');
    await retryUntilConnected(page);
    const expected = await localAnswer('Written while offline');
    await expect.poll(() => answers(page).last().textContent(), { timeout: 10_000 }).toBe(expected);
    await expect.poll(() => connectionText(page)).toContain('Connected');
    expect(await page.locator('.turn').count()).toBe(1);
    await screenshot('offline-delivered');
    expect(unexpectedErrors(errors)).toEqual([]);
  });

  it('says what was lost when a restarted server could not resume the session', async () => {
    const first = await startServer({ ui: 'static', localWordDelayMs: 40 });
    const port = first.port;
    const { page, errors, screenshot } = await open(`http://127.0.0.1:${port}/`);
    await expect.poll(() => connectionText(page)).toContain('Connected');
    await send(page, 'Cut short by a restart');
    await expect.poll(() => wordsShown(page)).toBeGreaterThanOrEqual(5);

    // The server restarts on the same port, with no memory of the session.
    await first.close();
    await startServer({ ui: 'static', localWordDelayMs: 40, port });
    await retryUntilConnected(page);
    const notice = page.getByRole('alert');
    await expect
      .poll(() => notice.textContent())
      .toContain('This thread could not be resumed: the server no longer knows this session');
    expect(await notice.textContent()).toContain(
      'Lost: the rest of the answer to “Cut short by a restart”.',
    );
    expect(await page.locator('.badge').last().textContent()).toBe('Cut off');
    await screenshot('resume-failed');

    // The thread goes on with a new session.
    await send(page, 'After the restart');
    await expect
      .poll(() => answers(page).last().textContent(), { timeout: 10_000 })
      .toBe(await localAnswer('After the restart'));
    expect(await notice.count()).toBe(0);
    expect(unexpectedErrors(errors)).toEqual([]);
  });
});
