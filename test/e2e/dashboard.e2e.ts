/**
 * The dashboard in real Chromium, reached from the keyboard: live numbers from a real server's
 * `/health/websocket` while an answer streams, read once a second, with a minute of sparkline;
 * the breaker and thermal indicators coloured green / yellow / red and named in words.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponderError } from '../../server/responders/responder.ts';
import { dispose, openClient, startServer } from '../support/harness.ts';
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

const value = (page: Page, name: string) => page.getByTestId(`value-${name}`).textContent();

async function indicator(page: Page, name: string) {
  const card = page.getByTestId(`indicator-${name}`);
  return {
    tone: await card.getAttribute('data-tone'),
    text: await card.locator('strong').textContent(),
  };
}

/** Presses Tab until the focused element reads `name` (or fails after 30 presses). */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let presses = 0; presses < 30; presses++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    if (focused === name) return;
  }
  throw new Error(`no element named "${name}" could be reached with Tab`);
}

describe('dashboard', () => {
  it('shows live numbers while an answer streams, read once a second', async () => {
    const server = await startServer({
      ui: 'static',
      localWordDelayMs: 170,
      thermalSimulate: '62',
      thermalPollMs: 200,
    });
    const { page, errors, screenshot } = await open(`http://127.0.0.1:${server.port}/`);
    await page.setViewportSize({ width: 1280, height: 860 });
    await expect.poll(() => page.getByTestId('connection').textContent()).toContain('Connected');
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Tell me a long story');
    await box.press('Enter');
    await expect.poll(() => page.getByTestId('answer').count()).toBe(1);

    // From the keyboard to the dashboard; the answer keeps streaming meanwhile.
    const reads: number[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/health/websocket') reads.push(Date.now());
    });
    await tabTo(page, 'Dashboard');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/dashboard');
    await expect
      .poll(() => page.getByRole('link', { name: 'Dashboard' }).getAttribute('aria-current'))
      .toBe('page');

    await expect.poll(() => page.getByTestId('dashboard-state').textContent()).toMatch(/^Live · /);
    await expect.poll(() => value(page, 'connections')).toBe('1');
    await expect.poll(() => value(page, 'requests')).toBe('1');
    await expect.poll(async () => Number(await value(page, 'throughput'))).toBeGreaterThan(0);
    expect(await indicator(page, 'server')).toEqual({ tone: 'ok', text: 'Healthy' });
    expect(await indicator(page, 'circuit-breaker')).toEqual({ tone: 'ok', text: 'Closed' });
    expect(await indicator(page, 'thermal')).toEqual({ tone: 'ok', text: 'Normal' });
    expect(await page.getByTestId('indicator-thermal').textContent()).toContain('62.0 °C');

    // One read a second: the report's time moves on, and the sparklines grow.
    const before = await page.getByTestId('dashboard-state').textContent();
    await expect
      .poll(() => page.getByTestId('dashboard-state').textContent(), { timeout: 2500 })
      .not.toBe(before);
    await expect.poll(() => reads.length, { timeout: 8000 }).toBeGreaterThanOrEqual(6);
    const gaps = reads.slice(1).map((at, index) => at - (reads[index] ?? at));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(500);
      expect(gap).toBeLessThan(1800);
    }
    const points = await page
      .getByTestId('metric-throughput')
      .locator('.spark-line')
      .first()
      .getAttribute('points');
    expect(points?.split(' ').length).toBeGreaterThanOrEqual(2);

    // Still streaming when the picture is taken.
    expect(await value(page, 'requests')).toBe('1');
    await screenshot('dashboard');
    expect(errors).toEqual([]);
  });

  it('colours an open breaker red and a throttled server yellow, and says so in words', async () => {
    const server = await startServer(
      {
        ui: 'static',
        breakerFailureThreshold: 1,
        breakerCooldownMs: 60_000,
        thermalSimulate: '70x8,88',
        thermalPollMs: 100,
      },
      {
        responder: () => {
          throw new ResponderError('the upstream is down', 'upstream_unavailable');
        },
      },
    );
    // One failed request opens the breaker (before the server gets hot and refuses work).
    const client = openClient(server.url);
    expect((await client.request('anyone there?').result).status).toBe('failed');

    const { page, errors, screenshot } = await open(`http://127.0.0.1:${server.port}/#/dashboard`);
    await page.setViewportSize({ width: 1280, height: 860 });
    await expect
      .poll(() => indicator(page, 'circuit-breaker'))
      .toEqual({ tone: 'error', text: 'Open' });
    expect(await page.getByTestId('indicator-circuit-breaker').textContent()).toMatch(
      /next trial in \d+ s/,
    );
    await expect
      .poll(() => indicator(page, 'thermal'), { timeout: 5000 })
      .toEqual({ tone: 'warn', text: 'Throttled' });
    expect(await page.getByTestId('indicator-thermal').textContent()).toContain('88.0 °C');
    expect(await indicator(page, 'server')).toEqual({ tone: 'warn', text: 'Degraded' });
    await screenshot('dashboard-degraded');
    expect(errors).toEqual([]);
  });
});
