/**
 * `GET /metrics` against a real server, real clients and a fault proxy: the scrape passes
 * `promtool check metrics` mid-stream, and the counters say exactly what the test did.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../machines/close-codes.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import {
  dispose,
  openClient,
  openRawSocket,
  startServer,
  type TestServer,
  waitFor,
} from '../support/harness.ts';
import { promtoolCheck, sample, scrape, value } from './scrape.ts';

async function startProxy(targetPort: number): Promise<FaultProxy> {
  const proxy = await new FaultProxy({ targetPort }).start();
  dispose(() => proxy.stop());
  return proxy;
}

function telemetryOf(server: TestServer) {
  const telemetry = server.app.observability.telemetry;
  if (!telemetry) throw new Error('metrics are off');
  return telemetry;
}

/** Opens a raw socket and says hello; resolves with the welcome frame. */
async function hello(server: TestServer, frame: Record<string, unknown> = {}) {
  const socket = await openRawSocket(server.url);
  socket.send({ type: 'hello', protocol: 1, threadId: 'thread-1', ...frame });
  const welcome = await socket.next();
  return { socket, welcome };
}

describe('GET /metrics', () => {
  it('passes promtool mid-stream, and 3 severed connections raise the resumed total by exactly 3', async () => {
    const server = await startServer({ responder: 'counter' });
    const proxy = await startProxy(server.port);
    const client = openClient(proxy.url);
    const telemetry = telemetryOf(server);
    const handle = client.request('6000 0.5');

    let chunks = 0;
    let severs = 0;
    let before: string | undefined;
    let during: string | undefined;
    for await (const _chunk of handle) {
      chunks++;
      if (chunks === 200) before = await scrape(server.port);
      // Sever three times, each once the previous resume has gone through.
      if (severs < 3 && chunks >= 400 * (severs + 1) && telemetry.sessionsResumed === severs) {
        proxy.sever();
        severs++;
      }
      if (severs === 3 && during === undefined) {
        await waitFor(() => telemetry.sessionsResumed === 3 && telemetry.connectionsClosed === 3, {
          what: 'the third resume and the three closes',
        });
        during = await scrape(server.port);
      }
    }
    const result = await handle.result;
    expect(result.status).toBe('done');
    expect(chunks).toBe(6000);
    if (!before || !during) throw new Error('the scrapes were not taken');

    const check = promtoolCheck(during);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);

    // Taken while the answer was still streaming.
    expect(value(during, 'threadline_requests_active')).toBe(1);
    expect(value(before, 'threadline_sessions_resumed_total')).toBe(0);
    expect(value(during, 'threadline_sessions_resumed_total')).toBe(3);
    expect(value(during, 'threadline_resume_latency_seconds_count')).toBe(3);
    expect(value(during, 'threadline_connections_opened_total')).toBe(4);
    expect(value(during, 'threadline_connections_active')).toBe(1);
    // A severed link is an abnormal close (1006) on the server's side.
    expect(value(during, 'threadline_connections_closed_total', { code: '1006' })).toBe(3);
    expect(value(during, 'threadline_connection_frames_count')).toBe(3);
    expect(value(during, 'threadline_sessions_created_total')).toBe(1);
    expect(value(during, 'threadline_sessions_active')).toBe(1);
    expect(value(during, 'threadline_session_resume_failures_total', { reason: 'expired' })).toBe(
      0,
    );

    const after = await scrape(server.port);
    expect(promtoolCheck(after).status).toBe(0);
    expect(value(after, 'threadline_requests_started_total')).toBe(1);
    expect(value(after, 'threadline_requests_done_total')).toBe(1);
    expect(value(after, 'threadline_requests_active')).toBe(0);
    expect(value(after, 'threadline_first_chunk_latency_seconds_count')).toBe(1);
    // Every frame went out at least once (accepted, 6000 chunks, done); what was emitted while
    // detached, or lost on a severed link, went out again on the resumed one.
    expect(value(after, 'threadline_frames_sent_total')).toBeGreaterThanOrEqual(6000 + 2);
    expect(value(after, 'threadline_frames_replayed_total')).toBeGreaterThan(0);
    expect(value(after, 'threadline_sessions_resumed_total')).toBe(3);
  });

  it('counts every frame of a clean stream, and the connection when it closes', async () => {
    const server = await startServer({ responder: 'counter' });
    const client = openClient(server.url);
    const result = await client.request('500').result;
    expect(result.status).toBe('done');
    const during = await scrape(server.port);
    // accepted + 500 chunks + done, and the status frame after the welcome.
    expect(value(during, 'threadline_frames_sent_total')).toBe(503);
    expect(value(during, 'threadline_frames_replayed_total')).toBe(0);
    expect(value(during, 'threadline_connection_frames_count')).toBe(0);

    await client.close();
    await waitFor(() => server.app.threadline.connectionCount === 0, { what: 'the close' });
    const after = await scrape(server.port);
    expect(
      value(after, 'threadline_connections_closed_total', { code: String(CloseCode.Normal) }),
    ).toBe(1);
    expect(value(after, 'threadline_connection_frames_count')).toBe(1);
    expect(value(after, 'threadline_connection_frames_sum')).toBe(503);
    expect(value(after, 'threadline_connection_duration_seconds_count')).toBe(1);
    expect(value(after, 'threadline_sessions_closed_total')).toBe(1);
    expect(value(after, 'threadline_sessions_active')).toBe(0);
    expect(value(after, 'threadline_frames_sent_total')).toBe(503);
    expect(promtoolCheck(after).status).toBe(0);
  });

  it('counts a cancel and how long confirming it took', async () => {
    const server = await startServer({ responder: 'counter' });
    const client = openClient(server.url);
    const handle = client.request('100000 1');
    let received = 0;
    for await (const _chunk of handle) {
      if (++received === 5) handle.cancel();
    }
    expect((await handle.result).status).toBe('cancelled');
    const text = await scrape(server.port);
    expect(value(text, 'threadline_requests_cancelled_total', { forced: 'false' })).toBe(1);
    expect(value(text, 'threadline_requests_cancelled_total', { forced: 'true' })).toBe(0);
    expect(value(text, 'threadline_cancel_ack_latency_seconds_count')).toBe(1);
    // Cancel within 200 ms is a requirement; on loopback it is far below.
    expect(value(text, 'threadline_cancel_ack_latency_seconds_sum')).toBeLessThan(0.2);
    expect(value(text, 'threadline_requests_active')).toBe(0);
  });

  it('counts a resent request as deduplicated, a busy refusal as failed, and bad resumes by reason', async () => {
    const server = await startServer({ responder: 'counter' });
    const { socket, welcome } = await hello(server);
    expect(welcome.type).toBe('welcome');
    socket.send({ type: 'request', requestId: 'r-1', text: '100000 1' });
    socket.send({ type: 'request', requestId: 'r-1', text: '100000 1' });
    socket.send({ type: 'request', requestId: 'r-2', text: '1' });
    await waitFor(() => socket.received.some((frame) => frame.requestId === 'r-2'), {
      what: 'the busy refusal',
    });
    socket.send({ type: 'cancel', requestId: 'r-1' });
    await waitFor(() => socket.received.some((frame) => frame.type === 'cancelled'));

    const unknown = await hello(server, {
      threadId: 'thread-2',
      resume: { sessionId: 'no-such-session', token: 'x', lastSeq: 0 },
    });
    expect(unknown.welcome.lost).toEqual({ reason: 'unknown' });
    const refused = await openRawSocket(server.url);
    refused.send({
      type: 'hello',
      protocol: 1,
      threadId: 'thread-1',
      resume: { sessionId: welcome.sessionId, token: 'not-the-token', lastSeq: 0 },
    });
    expect((await refused.closed).code).toBe(CloseCode.Forbidden);

    const text = await scrape(server.port);
    expect(value(text, 'threadline_frames_deduplicated_total')).toBe(1);
    expect(value(text, 'threadline_requests_started_total')).toBe(2);
    expect(value(text, 'threadline_requests_failed_total', { code: 'busy' })).toBe(1);
    expect(value(text, 'threadline_requests_cancelled_total', { forced: 'false' })).toBe(1);
    expect(value(text, 'threadline_requests_active')).toBe(0);
    expect(value(text, 'threadline_session_resume_failures_total', { reason: 'unknown' })).toBe(1);
    expect(value(text, 'threadline_session_resume_failures_total', { reason: 'refused' })).toBe(1);
    expect(value(text, 'threadline_sessions_created_total')).toBe(2);
    expect(promtoolCheck(text).status).toBe(0);
  });

  it('counts an expired session, and the request it abandoned', async () => {
    const server = await startServer({ responder: 'counter', sessionTtlMs: 50 });
    const { socket } = await hello(server);
    socket.send({ type: 'request', requestId: 'r-1', text: '100000 1' });
    await waitFor(() => socket.received.some((frame) => frame.type === 'chunk'));
    socket.ws.terminate();
    await waitFor(() => server.app.threadline.store.size === 0, { what: 'the session to expire' });
    const text = await scrape(server.port);
    expect(value(text, 'threadline_sessions_expired_total')).toBe(1);
    expect(value(text, 'threadline_requests_abandoned_total')).toBe(1);
    expect(value(text, 'threadline_requests_active')).toBe(0);
    expect(value(text, 'threadline_sessions_detached')).toBe(0);
  });

  it('keeps one registry per server: two servers in one process count apart', async () => {
    const first = await startServer({ responder: 'counter' });
    const second = await startServer({ responder: 'counter' });
    const client = openClient(first.url);
    expect((await client.request('10').result).status).toBe('done');
    const one = await scrape(first.port);
    const two = await scrape(second.port);
    expect(value(one, 'threadline_requests_done_total')).toBe(1);
    expect(value(two, 'threadline_requests_done_total')).toBe(0);
    expect(value(two, 'threadline_connections_opened_total')).toBe(0);
    expect(sample(two, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('serves no /metrics when metrics are off', async () => {
    const server = await startServer({ metrics: 'off' });
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(404);
    expect(server.app.observability.telemetry).toBeNull();
  });
});

describe('promtool', () => {
  it('rejects a scrape that breaks the naming rules, so a passing check means something', () => {
    const bad =
      '# HELP threadline_bad_total A gauge named like a counter.\n# TYPE threadline_bad_total gauge\nthreadline_bad_total 1\n';
    const check = promtoolCheck(bad);
    expect(check.status).not.toBe(0);
    expect(check.output).toContain('non-counter metrics should not have "_total" suffix');
  });

  it('says how to install it when it is missing', () => {
    expect(() => promtoolCheck('', 'promtool-is-not-installed-here')).toThrow(
      'apt-get install -y prometheus',
    );
  });
});
