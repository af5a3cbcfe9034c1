/**
 * The live statechart inspector in real Chromium, fed by a real server's `/inspect` socket: a
 * thread's server session is selected while a chat in another tab streams, its chart shows
 * `streaming` filled in, and Stop in the chat tab moves it to `idle` while the request's
 * cancellation chart ends in `cancelled`. With inspection off the page says so, and still
 * shows and draws its own actors.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispose, startServer } from '../support/harness.ts';
import { type Browser, launchBrowser, openApp } from './browser.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function open(url: string) {
  const app = await openApp(browser.context, url);
  dispose(() => app.page.close(), `page ${app.page.url()}`);
  return app;
}

/** Whether the drawn chart has state `path` filled in as active. */
function isActive(page: Page, path: string): Promise<string | null> {
  return page.locator(`[data-testid="chart"] [data-state="${path}"]`).getAttribute('data-active');
}

/** The session id a chat tab's thread holds, as its page saved it for a reload. */
function chatSessionId(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    for (let index = 0; index < sessionStorage.length; index++) {
      const key = sessionStorage.key(index);
      if (!key?.startsWith('threadline:thread:')) continue;
      const stored = JSON.parse(sessionStorage.getItem(key) ?? '{}') as {
        resume?: { sessionId?: string } | null;
      };
      if (stored.resume?.sessionId) return stored.resume.sessionId;
    }
    return null;
  });
}

describe('inspector', () => {
  it('follows a thread session live: streaming, then idle after Stop in another tab', async () => {
    const server = await startServer({ ui: 'static', inspect: 'local', localWordDelayMs: 90 });
    const httpUrl = `http://127.0.0.1:${server.port}/`;

    const inspector = await open(`${httpUrl}#/inspector`);
    await inspector.page.setViewportSize({ width: 1360, height: 1180 });
    await expect
      .poll(() => inspector.page.getByTestId('inspector-state').textContent())
      .toMatch(/^Live · \d+ server actors$/);
    // The server's own charts are listed, and so are this page's.
    const serverActors = inspector.page.locator('[aria-labelledby="server-actors"]');
    await expect.poll(() => serverActors.locator('[data-chart="server-root"]').count()).toBe(1);
    expect(await serverActors.locator('[data-chart="thermal-hysteresis"]').count()).toBe(1);
    expect(await serverActors.locator('[data-chart="circuit-breaker"]').count()).toBe(1);
    const pageActors = inspector.page.locator('[aria-labelledby="page-actors"]');
    await expect.poll(() => pageActors.locator('[data-chart="client-thread"]').count()).toBe(1);
    expect(await pageActors.locator('[data-chart="tabs"]').count()).toBe(1);

    // The chat, in a second tab of the same browser.
    const chat = await open(httpUrl);
    await expect
      .poll(() => chat.page.getByTestId('connection').textContent())
      .toContain('Connected');
    await expect.poll(() => chatSessionId(chat.page)).not.toBeNull();
    const sessionId = await chatSessionId(chat.page);

    // Select that thread's session on the server: its chart is drawn, idle.
    const session = serverActors.locator(
      `[data-chart="thread-lifecycle"][data-actor-id="${sessionId}"]`,
    );
    await expect.poll(() => session.count()).toBe(1);
    await session.click();
    expect(await session.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => isActive(inspector.page, 'open.work.idle')).toBe('true');
    expect(await isActive(inspector.page, 'open.work.streaming')).toBe('false');
    // Every state of the chart is drawn, and the transitions carry their events.
    for (const state of ['open.link.attached', 'open.link.detached', 'closing', 'expired']) {
      expect(await inspector.page.locator(`[data-state="${state}"]`).count()).toBe(1);
    }
    const labels = await inspector.page.locator('.chart-label-text').allTextContents();
    expect(labels).toEqual(
      expect.arrayContaining(['request.start', 'done(request)', 'after sessionTtl', 'always']),
    );

    // A message in the chat tab: the session streams, with a request child.
    const box = chat.page.getByRole('textbox', { name: 'Message' });
    await box.fill('Tell me a long story');
    await box.press('Enter');
    await expect.poll(() => isActive(inspector.page, 'open.work.streaming')).toBe('true');
    expect(await isActive(inspector.page, 'open.work.idle')).toBe('false');
    expect(await inspector.page.getByTestId('current-state').textContent()).toBe(
      'open.link.attached, open.work.streaming',
    );
    const request = session.locator('xpath=..').locator('[data-chart="cancellation"]');
    await expect.poll(() => request.textContent()).toContain('streaming');
    const log = inspector.page.getByTestId('event-log');
    await expect.poll(() => log.locator('li').first().textContent()).toContain('request.start');
    await expect
      .poll(() => log.textContent())
      .toContain('→ open.link.attached, open.work.streaming');
    await inspector.screenshot('inspector');

    // Stop, pressed in the chat tab: the highlight moves back to idle.
    await chat.page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => isActive(inspector.page, 'open.work.idle')).toBe('true');
    expect(await isActive(inspector.page, 'open.work.streaming')).toBe('false');
    await expect.poll(() => log.textContent()).toContain('request.cancel');
    // The request child ended in `cancelled`: listed as ended, and drawn so when selected.
    await expect.poll(() => request.textContent()).toContain('ended (done) in cancelled');
    await request.click();
    await expect.poll(() => isActive(inspector.page, 'cancelled')).toBe('true');
    expect(await isActive(inspector.page, 'streaming')).toBe('false');
    await expect.poll(() => chat.page.locator('.badge').last().textContent()).toBe('Stopped');
    await inspector.screenshot('inspector-cancelled');

    // Leaving the inspector lets go of the server: nothing taps its actor system any more.
    const { inspection } = server.app.observability;
    expect(inspection.listenerCount).toBe(1);
    await inspector.page.getByRole('link', { name: 'Chat' }).click();
    await expect.poll(() => inspection.listenerCount).toBe(0);
    expect(inspection.attached).toBe(false);

    expect(inspector.errors).toEqual([]);
    expect(chat.errors).toEqual([]);
  });

  it('says plainly when the server serves no inspection, and still shows the page’s own actors', async () => {
    const server = await startServer({ ui: 'static', inspect: 'off' });
    const { page, errors, screenshot } = await open(`http://127.0.0.1:${server.port}/#/inspector`);
    await page.setViewportSize({ width: 1360, height: 940 });
    await expect
      .poll(() => page.getByTestId('inspector-state').textContent())
      .toBe('Server inspection is off');
    expect(await page.getByTestId('inspection-off').textContent()).toContain(
      'Inspection is off on this server',
    );
    // This page's thread client, selected from the keyboard, is drawn from its own chart.
    const thread = page.locator('[aria-labelledby="page-actors"] [data-chart="client-thread"]');
    await expect.poll(() => thread.count()).toBe(1);
    await thread.focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('chart').getAttribute('data-chart'))
      .toBe('client-thread');
    await expect
      .poll(() => page.locator('[data-testid="chart"] [data-active="true"]').count())
      .toBeGreaterThan(1);
    await screenshot('inspector-off');
    expect(errors).toEqual([]);
  });
});
