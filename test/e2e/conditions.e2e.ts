/**
 * The server's conditions in real Chromium, from the status frames of a real server: a hot
 * server says it is cooling down, an open breaker says when the upstream is tried again.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponderError } from '../../server/responders/responder.ts';
import { dispose, startServer } from '../support/harness.ts';
import { type Browser, launchBrowser, openApp } from './browser.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function open(port: number) {
  const app = await openApp(browser.context, `http://127.0.0.1:${port}/`);
  dispose(() => app.page.close(), `page ${app.page.url()}`);
  await expect.poll(() => app.page.getByTestId('connection').textContent()).toContain('Connected');
  return app;
}

const conditions = (page: Page) => page.locator('.conditions');

async function send(page: Page, text: string) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

describe('server conditions', () => {
  it('shows "Server is cooling down" while the server is throttled', async () => {
    const server = await startServer({
      ui: 'static',
      thermalSimulate: '70,70,70,90',
      thermalPollMs: 100,
    });
    const { page, errors, screenshot } = await open(server.port);
    await expect
      .poll(() => conditions(page).textContent(), { timeout: 10_000 })
      .toContain('Server is cooling down');
    await send(page, 'Are you hot?');
    await expect
      .poll(() => page.locator('.answer-error').last().textContent())
      .toContain('cooling down');
    await screenshot('cooling-down');
    expect(errors).toEqual([]);
  });

  it('shows "Upstream unavailable, retrying in s…" while the breaker is open', async () => {
    const server = await startServer(
      { ui: 'static', breakerFailureThreshold: 1, breakerCooldownMs: 20_000 },
      {
        responder: () => {
          throw new ResponderError('the upstream is down', 'upstream_unavailable');
        },
      },
    );
    const { page, errors, screenshot } = await open(server.port);
    await send(page, 'Anyone there?');
    await expect
      .poll(() => conditions(page).textContent(), { timeout: 10_000 })
      .toMatch(/Upstream unavailable, retrying in (19|20) s…/);
    await expect.poll(() => page.locator('.badge').last().textContent()).toBe('Failed');
    await screenshot('upstream-unavailable');
    expect(errors).toEqual([]);
  });
});
