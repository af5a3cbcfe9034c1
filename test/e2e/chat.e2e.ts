/**
 * Chatting in real Chromium: an answer streams in, Stop cuts it short, threads open and close,
 * and all of it works from the keyboard. Each test ends with a clean console.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.ts';
import { dispose, startServer } from '../support/harness.ts';
import { type Browser, launchBrowser, openApp, unexpectedErrors } from './browser.ts';
import { localAnswer } from './expected.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function startApp(overrides: Record<string, unknown> = {}) {
  const server = await startServer({ ui: 'static', ...overrides });
  return { server, httpUrl: `http://127.0.0.1:${server.port}/` };
}

async function open(httpUrl: string) {
  const app = await openApp(browser.context, httpUrl);
  dispose(() => app.page.close(), `page ${app.page.url()}`);
  return app;
}

const answers = (page: Page) => page.getByTestId('answer');
const connection = (page: Page) => page.getByTestId('connection');
const messageBox = (page: Page) => page.getByRole('textbox', { name: 'Message' });

async function wordsShown(page: Page, index = -1): Promise<number> {
  const answer = index < 0 ? answers(page).last() : answers(page).nth(index);
  if ((await answer.count()) === 0) return 0;
  return ((await answer.textContent()) ?? '').split(' ').length;
}

describe('chatting', () => {
  it('streams an answer in as it arrives', async () => {
    const { httpUrl } = await startApp({ localWordDelayMs: 30 });
    const { page, errors, screenshot } = await open(httpUrl);
    await expect.poll(() => connection(page).textContent()).toContain('Connected');

    await messageBox(page).fill('What is Threadline?');
    await page.getByRole('button', { name: 'Send' }).click();
    // Part of the answer is on screen while the rest is still coming.
    await expect.poll(() => wordsShown(page)).toBeGreaterThan(3);
    const early = await wordsShown(page);
    await expect(page.getByRole('button', { name: 'Send' }).isDisabled()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Stop' }).isVisible()).resolves.toBe(true);
    await expect.poll(() => wordsShown(page)).toBeGreaterThan(early + 3);
    await screenshot('streaming');

    const expected = await localAnswer('What is Threadline?');
    await expect.poll(() => answers(page).last().textContent(), { timeout: 10_000 }).toBe(expected);
    await expect.poll(() => page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    await messageBox(page).fill('x');
    await expect(page.getByRole('button', { name: 'Send' }).isEnabled()).resolves.toBe(true);
    await messageBox(page).fill('');
    await screenshot('answered');
    expect(unexpectedErrors(errors)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('stops an answer mid-stream: "Stopping…" until the server confirms, then marked stopped', async () => {
    const { server } = await startApp({ localWordDelayMs: 60 });
    // The page comes through a proxy that can hold the server's confirmation back for a moment.
    const proxy = await new FaultProxy({ targetPort: server.port }).start();
    dispose(() => proxy.stop());
    const { page, errors, screenshot } = await open(`http://127.0.0.1:${proxy.port}/`);
    await expect.poll(() => connection(page).textContent()).toContain('Connected');

    await messageBox(page).fill('Tell me a long story');
    await messageBox(page).press('Enter');
    await expect.poll(() => wordsShown(page)).toBeGreaterThanOrEqual(5);
    // Watch for a disabled "Stopping…" button from inside the page, so a slow machine cannot
    // miss it (the client gives up waiting for the confirmation after 500 ms).
    await page.evaluate(() => {
      const seen = { stopping: false };
      (globalThis as { seen?: typeof seen }).seen = seen;
      new MutationObserver(() => {
        for (const button of document.querySelectorAll('button')) {
          if (button.textContent === 'Stopping…' && button.disabled) seen.stopping = true;
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    proxy.holdDownstream();
    await page.getByRole('button', { name: 'Stop' }).click();
    await screenshot('stopping');
    proxy.releaseDownstream();
    const seen = await page.evaluate(() => (globalThis as { seen?: unknown }).seen);
    expect(seen).toEqual({ stopping: true });

    await expect.poll(() => page.locator('.badge').last().textContent()).toBe('Stopped');
    const stoppedAt = await answers(page).last().textContent();
    const expected = await localAnswer('Tell me a long story');
    expect(expected.startsWith(stoppedAt ?? '')).toBe(true);
    expect(stoppedAt?.length).toBeLessThan(expected.length);
    // Nothing more arrives after the stop, and the thread takes the next message.
    await page.waitForTimeout(300);
    expect(await answers(page).last().textContent()).toBe(stoppedAt);
    await expect.poll(() => page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    await screenshot('stopped');
    expect(errors).toEqual([]);
  });

  it('works from the keyboard alone: send, new line, threads opened, switched and closed', async () => {
    const { httpUrl } = await startApp({ localWordDelayMs: 2 });
    const { page, errors, screenshot } = await open(httpUrl);
    await expect.poll(() => connection(page).textContent()).toContain('Connected');

    // The message box has the focus from the start; Shift+Enter is a new line, Enter sends.
    await page.keyboard.type('First line');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line');
    expect(await messageBox(page).inputValue()).toBe('First line\nsecond line');
    expect(await page.locator('.turn').count()).toBe(0);
    await page.keyboard.press('Enter');
    const first = await localAnswer('First line\nsecond line');
    await expect.poll(() => answers(page).last().textContent()).toBe(first);
    expect(await messageBox(page).inputValue()).toBe('');

    // Tab to "New thread" and open one: its message box takes the focus.
    await tabTo(page, 'New thread');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.tab').count()).toBe(2);
    await expect.poll(() => focusedLabel(page)).toBe('Message');
    await page.keyboard.type('Hello from thread two');
    await page.keyboard.press('Enter');
    const second = await localAnswer('Hello from thread two');
    await expect.poll(() => answers(page).last().textContent()).toBe(second);

    // Back to the first thread, from the keyboard: its conversation is all there.
    await tabTo(page, 'First line second line');
    await page.keyboard.press('Enter');
    await expect.poll(() => answers(page).last().textContent()).toBe(first);
    expect(await page.locator('.turn').count()).toBe(1);

    // Up to five threads: then "New thread" is disabled.
    for (let count = 3; count <= 5; count++) {
      await page.getByRole('button', { name: 'New thread' }).click();
      await expect.poll(() => page.locator('.tab').count()).toBe(count);
    }
    expect(await page.getByRole('button', { name: 'New thread' }).isDisabled()).toBe(true);
    await expect.poll(() => page.locator('.tab .dot.tone-ok').count(), { timeout: 10_000 }).toBe(5);
    await screenshot('five-threads');

    // Close the second thread from the keyboard; a new one can be opened again.
    await tabTo(page, 'Close thread Hello from thread two');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.tab').count()).toBe(4);
    expect(await page.getByRole('button', { name: 'New thread' }).isEnabled()).toBe(true);
    expect(errors).toEqual([]);
  });
});

/** The accessible name of the focused element (its label, aria-label or text). */
function focusedLabel(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element) return '';
    const labelled = element.id ? document.querySelector(`label[for="${element.id}"]`) : null;
    return (
      labelled?.textContent ??
      element.getAttribute('aria-label') ??
      element.textContent ??
      ''
    ).trim();
  });
}

/** Presses Tab until the focused element is named `name` (or fails after 40 presses). */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press('Tab');
    const label = await focusedLabel(page);
    if (label === name || label.replace(/\s+/g, ' ').startsWith(name.slice(0, 20))) return;
  }
  throw new Error(`no element named "${name}" could be reached with Tab`);
}
