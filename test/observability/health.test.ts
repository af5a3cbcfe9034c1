/**
 * The health routes of a real server: liveness, readiness (503 while draining or critically
 * hot), and the transport's health as JSON after real traffic.
 */
import { describe, expect, it } from 'vitest';
import type { WebsocketHealth } from '../../server/health/websocket-health.ts';
import { type Responder, ResponderError } from '../../server/responders/responder.ts';
import { openClient, startServer, waitFor } from '../support/harness.ts';
import { scrape, value } from './scrape.ts';

async function get(port: number, path: string) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function health(port: number): Promise<WebsocketHealth> {
  return (await get(port, '/health/websocket')).body as unknown as WebsocketHealth;
}

describe('health', () => {
  it('is live and ready while serving, and not ready once the server stops admitting', async () => {
    const server = await startServer();
    expect(await get(server.port, '/health')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get(server.port, '/ready')).toEqual({ status: 200, body: { ready: true } });
    expect(server.app.threadline.draining).toBe(false);

    server.app.threadline.stop();
    expect(server.app.threadline.draining).toBe(true);
    expect(await get(server.port, '/ready')).toEqual({
      status: 503,
      body: { ready: false, reason: 'draining' },
    });
    expect((await health(server.port)).status).toBe('draining');
    // Liveness is about the process, not admission.
    expect((await get(server.port, '/health')).status).toBe(200);
  });

  it('is not ready while critically hot, and says so in health and metrics', async () => {
    const server = await startServer({ thermalSimulate: '95', thermalPollMs: 10 });
    await waitFor(async () => (await get(server.port, '/ready')).status === 503, {
      what: 'the simulated sensor to reach critical',
    });
    expect((await get(server.port, '/ready')).body).toEqual({ ready: false, reason: 'critical' });
    const report = await health(server.port);
    expect(report.status).toBe('critical');
    expect(report.thermal).toEqual({ state: 'critical', celsius: 95 });
    const text = await scrape(server.port);
    expect(value(text, 'threadline_thermal_state', { state: 'critical' })).toBe(1);
    expect(value(text, 'threadline_thermal_state', { state: 'normal' })).toBe(0);
    expect(value(text, 'threadline_thermal_temperature_celsius')).toBe(95);
  });

  it('reports an open circuit breaker as degraded, in health and metrics', async () => {
    // An upstream that fails before its first chunk.
    const failing: Responder = () => ({
      [Symbol.asyncIterator]: () => ({
        next: () =>
          Promise.reject(new ResponderError('the upstream is down', 'upstream_unavailable')),
      }),
    });
    const server = await startServer({ breakerFailureThreshold: 1 }, { responder: failing });
    const client = openClient(server.url);
    const result = await client.request('hello').result;
    expect(result.status).toBe('failed');
    await waitFor(async () => (await health(server.port)).circuit_breaker.state === 'open', {
      what: 'the breaker to open',
    });
    const report = await health(server.port);
    expect(report.status).toBe('degraded');
    expect(report.requests?.failed_by_code).toEqual({ upstream_unavailable: 1 });
    // Degraded is still ready: requests are refused fast, with a retry hint.
    expect((await get(server.port, '/ready')).status).toBe(200);
    const text = await scrape(server.port);
    expect(value(text, 'threadline_circuit_breaker_state', { state: 'open' })).toBe(1);
    expect(value(text, 'threadline_circuit_breaker_state', { state: 'closed' })).toBe(0);
    expect(value(text, 'threadline_requests_failed_total', { code: 'upstream_unavailable' })).toBe(
      1,
    );
  });

  it('reports connections, messages, queue, retry, breaker, latency and thermal after real traffic', async () => {
    const server = await startServer({ responder: 'counter' });
    const empty = await health(server.port);
    expect(empty.latency?.first_chunk).toEqual({
      count: 0,
      avg_ms: null,
      p50_ms: null,
      p90_ms: null,
      p99_ms: null,
      max_ms: null,
    });

    const client = openClient(server.url);
    for (let i = 0; i < 3; i++) expect((await client.request('100').result).status).toBe('done');
    const report = await health(server.port);
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining([
        'connections',
        'messages',
        'queue',
        'retry',
        'circuit_breaker',
        'latency',
        'thermal',
        'uptime_seconds',
        'last_update',
      ]),
    );
    expect(report.status).toBe('ok');
    expect(report.metrics).toBe(true);
    expect(report.connections).toEqual({
      active: 1,
      opened_total: 1,
      closed_total: 0,
      closed_by_code: {},
    });
    // Three answers of accepted + 100 chunks + done, and the status frame after the welcome.
    expect(report.messages?.frames_sent_total).toBe(3 * 102 + 1);
    expect(report.messages?.frames_replayed_total).toBe(0);
    expect(report.requests?.done_total).toBe(3);
    expect(report.requests?.active).toBe(0);
    expect(report.queue.limit_frames_per_session).toBe(server.config.replayBufferFrames);
    expect(report.queue.buffered_frames).toBeGreaterThanOrEqual(0);
    expect(report.retry).toMatchObject({
      sessions_active: 1,
      sessions_detached: 0,
      resumed_total: 0,
    });
    expect(report.circuit_breaker).toEqual({ state: 'closed' });
    expect(report.thermal).toEqual({ state: 'unavailable', celsius: -1 });
    const firstChunk = report.latency?.first_chunk;
    expect(firstChunk?.count).toBe(3);
    expect(firstChunk?.avg_ms).toBeGreaterThan(0);
    expect(firstChunk?.p50_ms).toBeLessThanOrEqual(firstChunk?.p99_ms ?? 0);
    expect(firstChunk?.p99_ms).toBeLessThanOrEqual(firstChunk?.max_ms ?? 0);
    expect(report.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(report.last_update)).toBeGreaterThan(Date.now() - 5000);
    expect(Date.parse(report.last_activity ?? '')).toBeLessThanOrEqual(
      Date.parse(report.last_update),
    );

    await client.close();
    await waitFor(async () => (await health(server.port)).connections.active === 0);
    const closed = await health(server.port);
    expect(closed.connections.closed_by_code).toEqual({ '1000': 1 });
    expect(closed.latency?.connection_duration.count).toBe(1);
  });

  it('reports gauges only when metrics are off', async () => {
    const server = await startServer({ metrics: 'off', responder: 'counter' });
    const client = openClient(server.url);
    expect((await client.request('5').result).status).toBe('done');
    const report = await health(server.port);
    expect(report.metrics).toBe(false);
    expect(report.messages).toBeNull();
    expect(report.latency).toBeNull();
    expect(report.connections).toEqual({
      active: 1,
      opened_total: null,
      closed_total: null,
      closed_by_code: null,
    });
    expect(report.retry.sessions_active).toBe(1);
  });
});
